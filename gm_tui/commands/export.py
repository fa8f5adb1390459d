"""``gm export``: a run's best proxy (or its top K), simplified, as text, LaTeX, Python or JSON.

A thin command registered on the ``gm`` app by :mod:`greenmachine.tui.cli`: parse the options,
call :func:`greenmachine.export.export_run`, print or write the text. Heavy imports (sympy)
happen inside the body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from greenmachine.tui.commands.common import fail


def export_command(
    source: Annotated[Path, typer.Argument(help="A run directory, or a best_proxy.json file.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, latex, python or json.")] = "text",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    top: Annotated[Optional[int], typer.Option("--top", help="Export the top K of the hall of fame (by validation tau).")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds for sympy simplification (default: the run's export.simplify_timeout, else 5).")] = None,
) -> None:
    """Export the best proxy (or the top K) simplified, as text, LaTeX, a Python module or JSON."""
    from greenmachine.export import export_run
    from greenmachine.export.source import MAX_TIMEOUT
    from greenmachine.rundir.directory import atomic_write_text

    if timeout is not None and not (timeout >= 0 and timeout <= MAX_TIMEOUT):  # also refuses nan
        fail(f"--timeout must be from 0 to {MAX_TIMEOUT:g} seconds (as export.simplify_timeout), got {timeout}")
    text = export_run(source, fmt, top=top, timeout=timeout)
    if out is None:
        typer.echo(text.rstrip("\n"))
        return
    try:
        atomic_write_text(out, text if text.endswith("\n") else text + "\n")
    except OSError as error:
        fail(f"cannot write {out}: {error.strerror or error}")
    typer.echo(f"wrote {out}", err=True)
