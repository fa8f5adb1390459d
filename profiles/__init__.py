"""Shipped experiment profiles (TOML), installed as the package ``greenmachine.profiles``.

Found by ``greenmachine.settings.profile.profile_dir``; this file only makes the folder a package.
"""
