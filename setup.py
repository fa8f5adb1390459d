"""Package list for setuptools (everything else is in pyproject.toml).

The repository keeps its folders ``core/``, ``gm_tui/`` and ``profiles/``; they are installed
under the one public import name ``greenmachine``: ``core/`` is ``greenmachine``, ``gm_tui/`` is
``greenmachine.tui`` and ``profiles/`` is ``greenmachine.profiles`` (the shipped TOML profiles,
found with ``importlib.resources`` by :mod:`greenmachine.settings.profile` outside a checkout).
Installing adds no other top-level module. A ``package_dir`` mapping is not expressible beside
package discovery in pyproject.toml alone, hence this file.
"""

from setuptools import find_namespace_packages, setup

ROOTS = {"greenmachine": "core", "greenmachine.tui": "gm_tui", "greenmachine.profiles": "profiles"}


def packages(name: str, folder: str) -> list[str]:
    """Return ``name`` and every package below ``folder``, named under ``name``."""
    found = find_namespace_packages(where=folder)
    return [name] + [f"{name}.{package}" for package in found if "__pycache__" not in package]


setup(
    packages=[package for name, folder in ROOTS.items() for package in packages(name, folder)],
    package_dir=ROOTS,
)
