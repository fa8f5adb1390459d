"""The ``gm`` command line: the typer app and its commands, registered in one place.

Composition only: the commands live in :mod:`greenmachine.tui.commands` (thin layers over core,
one module per topic); here each is named once in :data:`COMMANDS` or :data:`DATA_COMMANDS` and
registered the same way, wrapped by :func:`greenmachine.tui.commands.common.user_errors` (every
user error one line on stderr, exit status 2). The command modules import core, torch and
textual inside their bodies, so ``gm --help`` is instant. The console script ``gm`` is
:data:`app`; ``python -m greenmachine.tui.cli`` runs :func:`main`.
"""

from __future__ import annotations

import sys
from typing import Callable

import typer

from greenmachine.tui.commands import data, evaluate, export, profiles, proxy, repeat, run, search
from greenmachine.tui.commands.common import user_errors

app = typer.Typer(
    name="gm",
    help="GreenMachine: energy-aware automatic design of zero-cost NAS proxies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Check or import the data files (benchmark tables, images).", no_args_is_help=True)

COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("profiles", profiles.profiles_command),
    ("export", export.export_command),
    ("tui", run.tui_command),
    ("run", run.run_command),
    ("report", run.report_command),
    ("plot", run.plot_command),
    ("probe", evaluate.probe_command),
    ("baselines", evaluate.baselines_command),
    ("eval", evaluate.eval_command),
    ("proxies", proxy.proxies_command),
    ("score", proxy.score_command),
    ("search", search.search_command),
    ("summary", repeat.summary_command),
)
"""Every command of ``gm``, in the order ``gm --help`` lists them: (name, function)."""

DATA_COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("check", data.data_check_command),
    ("import-nats", data.data_import_nats_command),
    ("import-benchmark", data.data_import_benchmark_command),
    ("import-cifar", data.data_import_cifar_command),
)
"""Every command of the ``gm data`` group: (name, function)."""



def _register(typer_app: typer.Typer, table: tuple[tuple[str, Callable[..., None]], ...]) -> None:
    """Register each command of ``table`` on ``typer_app`` under its name, wrapped by ``user_errors``."""
    for name, command in table:
        typer_app.command(name)(user_errors(command))


_register(app, COMMANDS)
_register(data_app, DATA_COMMANDS)
app.add_typer(data_app, name="data")


def main() -> None:  # pragma: no cover - console entry point helper
    """Entry point for ``python -m greenmachine.tui.cli``."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
