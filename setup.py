"""Package list for setuptools (everything else is in pyproject.toml).

The experiment profiles stay in the top-level ``profiles/`` folder and are installed as the
package ``gm_profiles`` (found with ``importlib.resources`` by ``core.settings``); a
``package_dir`` entry for that is not expressible beside automatic package discovery in
pyproject.toml alone.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["core*", "gm_tui*"]) + ["gm_profiles"],
    package_dir={"gm_profiles": "profiles"},
)
