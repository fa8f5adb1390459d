"""Shipped experiment profiles (TOML), installed as the package ``gm_profiles``.

Found by ``core.settings.profile_dir``; this file only makes the folder a package.
"""
