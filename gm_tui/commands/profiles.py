"""``gm profiles``: the shipped experiment profiles, one line each.

A thin command registered on the ``gm`` app by :mod:`greenmachine.tui.cli`: list through
:mod:`greenmachine.settings.profile`, print. Heavy imports happen inside the body.
"""

from __future__ import annotations

import typer


def profiles_command() -> None:
    """List the shipped experiment profiles."""
    from greenmachine.settings.profile import available_profiles, load_profile

    for name, path in available_profiles().items():
        profile = load_profile(str(path))
        if profile.benchmark.tasks:
            typer.echo(f"{name:16s} {'tasks'} {','.join(profile.benchmark.tasks):24s} {profile.description}")
        else:
            typer.echo(f"{name:16s} {profile.benchmark.space} {','.join(profile.benchmark.datasets):24s} {profile.description}")
