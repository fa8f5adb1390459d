"""Ctrl-C during a headless run: the first stops after the current step, a second one aborts.

Used by the run commands: :mod:`greenmachine.tui.commands.run` (``gm run``) and
:mod:`greenmachine.tui.commands.repeat` (``gm run --seeds/--repeat``).
"""

from __future__ import annotations

from typing import Any

import typer


def install_stop_on_interrupt(controller: Any) -> Any:
    """First Ctrl-C: stop after the current network or generation; a second one aborts.

    Parameters
    ----------
    controller : RunController or RepeatRunner
        Anything with ``request_stop()``.

    Returns
    -------
    handler
        The previous SIGINT handler (restored by the caller when the run ends).
    """
    from greenmachine.run.interrupt import install_stop_handler

    return install_stop_handler(controller, lambda text: typer.echo(
        "\ngm: stopping after the current step (Ctrl-C again to abort)", err=True))
