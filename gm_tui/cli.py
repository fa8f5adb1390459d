"""The ``gm`` command line.

Thin typer commands over ``core``; heavy imports (torch, textual, sympy) happen inside the
command bodies so ``gm --help`` is instant. Every user error (``core.errors.GMError``) is
printed as one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

app = typer.Typer(
    name="gm",
    help="GreenMachine: energy-aware automatic design of zero-cost NAS proxies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Check or import the data files (benchmark tables, images).", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"gm: error: {message}", err=True)
    raise typer.Exit(code)


def user_errors(command: Callable) -> Callable:
    """Turn ``GMError`` (and a missing optional dependency) into one line and exit 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from core.errors import GMError

        try:
            return command(*args, **kwargs)
        except GMError as error:
            _fail(str(error))
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper


SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a profile value: section.key=value (repeatable)."),
]


@app.command("profiles")
@user_errors
def profiles_command() -> None:
    """List the shipped experiment profiles."""
    from core.settings import available_profiles, load_profile

    for name, path in available_profiles().items():
        profile = load_profile(str(path))
        typer.echo(f"{name:16s} {profile.benchmark.space} {','.join(profile.benchmark.datasets):24s} {profile.description}")


@data_app.command("check")
@user_errors
def data_check_command() -> None:
    """List every expected data file, found or missing, with its row/image counts."""
    from core.datacheck import check_data
    from core.datadir import data_dir

    statuses = check_data()
    typer.echo(f"data directory: {data_dir()}")
    for status in statuses:
        mark = "ok     " if status.valid else ("INVALID" if status.present else "MISSING")
        typer.echo(f"  {mark} {status.name:40s} {status.detail}")
    bad = [s for s in statuses if not s.valid]
    if bad:
        _fail(f"{len(bad)} of {len(statuses)} data files missing or invalid (set GM_DATA_DIR)", 1)
    typer.echo(f"all {len(statuses)} data files present and valid")


def main() -> None:  # pragma: no cover - console entry point helper
    """Entry point for ``python -m gm_tui.cli``."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
