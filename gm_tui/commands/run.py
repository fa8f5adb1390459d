"""``gm run``, ``gm tui``, ``gm report`` and ``gm plot``: design a proxy, watch it, and rebuild what a run wrote.

Thin commands registered on the ``gm`` app by :mod:`greenmachine.tui.cli`: parse the options,
call :mod:`greenmachine.run.factory` (a run), :mod:`greenmachine.tui.app` (the Textual app) or
:mod:`greenmachine.report.build` (report, figures), print. ``gm run`` with a seed option hands over
to :func:`greenmachine.tui.commands.repeat.run_repeats`. Heavy imports (torch, textual) happen
inside the bodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from greenmachine.tui.commands.common import fail, tau_text
from greenmachine.tui.commands.options import AddressOption, ExecutorOption, SetOption, WorkersOption, probe_overrides
from greenmachine.tui.commands.stop import install_stop_on_interrupt


def tui_command(
    profile: Annotated[Optional[str], typer.Argument(help="Profile to run at once (omit for the picker).")] = None,
    overrides: SetOption = None,
    open_run: Annotated[Optional[Path], typer.Option("--open", help="Replay a run directory of gm run or gm search (one still being written is watched).")] = None,
) -> None:
    """Open the Textual app: live tau per generation, energy, the best proxy tree, hall of fame (or a search's scores)."""
    from greenmachine.rundir.directory import EVENTS_FILE
    from greenmachine.settings.profile import load_profile
    from greenmachine.tui.app import create_app

    if profile is not None:
        load_profile(profile, overrides or [])  # bad profile or override: one line, before the screen opens
    if open_run is not None and not (open_run / EVENTS_FILE).is_file():
        fail(f"{open_run} is not a GreenMachine run directory (no {EVENTS_FILE})")
    create_app(profile, overrides or [], open_run).run()


def _top_summary(row: dict) -> str:
    """``, P@10% 0.40, top-1 acc 93.1 (rank 12)`` for a row with top-of-ranking figures (else empty)."""
    from greenmachine.report.build import top_cells

    if row.get("precision_at_10pct") is None:
        return ""
    cells = top_cells(row)
    return f", P@10% {cells[2]}, top-1 acc {cells[3]} (rank {cells[4]})"


def _print_run_summary(run_dir: Path) -> None:
    """The energy report, each dataset's test tau against the best baseline, and the probe costs, on stderr."""
    from greenmachine.evaluation.evaluate import rank_rows
    from greenmachine.report.build import render_energy
    from greenmachine.report.cost_front import summary_lines
    from greenmachine.rundir.directory import RunDirectory

    data = RunDirectory(run_dir).read_report()
    typer.echo("\n".join(render_energy(data["energy"])), err=True)
    for dataset, result in data["test"].items():
        name, best = rank_rows(result["baselines"])[0]
        how = data["sampling"].get("test_sampling") or data["sampling"]["mode"]
        typer.echo(f"test {dataset} (n={result['n']}, {how}): evolved tau "
                   f"{result['evolved']['kendall_tau']:.4f}{_top_summary(result['evolved'])}; "
                   f"best baseline {name} {tau_text(best['kendall_tau'])}{_top_summary(best)}", err=True)
    for line in summary_lines(data):  # the hall of fame's probe costs (none without a cost table)
        typer.echo(line, err=True)


def run_command(
    profile: Annotated[Optional[str], typer.Argument(help="Profile name (see `gm profiles`) or a .toml path.")] = None,
    overrides: SetOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory to write (default runs/<time>-<profile>).")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue a stopped or interrupted run directory.")] = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = None,
    address: AddressOption = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Evolution seeds, e.g. 0,1,2: one run each, then one summary (needs a PROFILE).")] = None,
    repeat: Annotated[Optional[str], typer.Option("--repeat", help="K: evolution seeds 0..K-1 (instead of --seeds).")] = None,
    probe_seeds: Annotated[Optional[str], typer.Option("--probe-seeds", help="Probe seeds (minibatch and weights), e.g. 0,1 (default: the profile's).")] = None,
    labels: Annotated[Optional[int], typer.Option("--labels", help="Design from N labelled networks (sampling.labels = N): two thirds search, a third validation; the test is the rest of the space or a random sampling.test of it.")] = None,
) -> None:
    """Probe, evolve and report headlessly: progress on stderr, energy report at the end."""
    import numpy  # noqa: F401 - imported here, before the meter's start-up thread imports it too

    from greenmachine.energy import MeterStartup
    from greenmachine.settings.profile import load_profile

    if labels is not None:
        if resume is not None:
            fail("--resume takes no --labels: the run directory's profile.toml is used")
        overrides = [*(overrides or []), f"sampling.labels={labels}"]
    if seeds is not None or repeat is not None or probe_seeds is not None:
        if resume is not None:
            fail("--resume is for one run; rerun the same --seeds/--repeat command to resume a folder of seed runs")
        from greenmachine.tui.commands.repeat import run_repeats

        return run_repeats(profile, overrides or [], out, seeds, repeat, probe_seeds, workers, executor, address)
    if resume is None and profile is None:
        fail("give a PROFILE, or --resume RUN_DIR")
    if resume is not None and (profile is not None or overrides or workers is not None or executor or address):
        fail("--resume takes no PROFILE, --set or probe options: the run directory's profile.toml is used")
    settings = None
    if resume is None:
        settings = load_profile(profile, probe_overrides(overrides, workers, executor, address))
        if out is not None and out.exists() and any(out.iterdir()):
            fail(f"--out {out} exists and is not empty (use --resume to continue a run)")
    # Start codecarbon's hardware detection now, so it overlaps importing torch and the engine.
    startup = MeterStartup(settings.energy.enabled, settings.energy.country) if settings is not None else None

    from greenmachine.run.factory import make_controller, resume_controller
    from greenmachine.rundir.directory import REPORT_JSON_FILE
    from greenmachine.tui.headless import HeadlessReporter

    if resume is not None:
        controller = resume_controller(resume, HeadlessReporter())
    else:
        controller = make_controller(settings, HeadlessReporter(), run_dir=out, meter=startup)
    import signal

    previous = install_stop_on_interrupt(controller)
    try:
        run_dir = controller.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if not (run_dir / REPORT_JSON_FILE).exists():
        raise typer.Exit(3)
    _print_run_summary(run_dir)
    typer.echo(str(run_dir))


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    write: Annotated[bool, typer.Option("--write/--no-write", help="Rewrite report.md/report.json.")] = True,
) -> None:
    """Rebuild a run's report (including the energy report) from its run directory."""
    from greenmachine.report.build import rebuild_report
    from greenmachine.rundir.directory import RunDirectory

    report, markdown = rebuild_report(run_dir)
    if write:
        RunDirectory(run_dir).write_report(report, markdown)
    typer.echo(markdown)


def plot_command(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Redraw a run's figures (PNG and SVG in RUN_DIR/figures) and embed them in report.md."""
    from greenmachine.errors import GMError
    from greenmachine.report.build import draw_and_embed

    if not run_dir.is_dir():
        raise GMError(f"{run_dir} is not a directory")
    skipped: list[str] = []
    files = draw_and_embed(run_dir, skipped)
    for path in files:
        typer.echo(str(path))
    for line in skipped:
        typer.echo(f"not drawn: {line}")
