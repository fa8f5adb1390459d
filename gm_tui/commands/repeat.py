"""``gm run PROFILE --seeds/--repeat/--probe-seeds`` and ``gm summary DIR``: thin commands over
:mod:`greenmachine.repeats.runner` and :mod:`greenmachine.repeats.summary`.

``run_repeats`` is called by ``gm run`` (:mod:`greenmachine.tui.commands.run`) when a seed option is
given; ``summary`` is registered on the ``gm`` app by :mod:`greenmachine.tui.cli`. Every user error
is a ``greenmachine.errors.GMError`` and becomes one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def run_repeats(profile: Optional[str], overrides: list[str], out: Optional[Path], seeds: Optional[str],
                repeat: Optional[str], probe_seeds: Optional[str], workers, executor, address) -> None:
    """Run every (evolution seed, probe seed) combination into ``out`` and write its summary."""

    from greenmachine.energy import MeterStartup
    from greenmachine.errors import GMError
    from greenmachine.repeats.runner import RepeatRunner, plan_from_options, prepare_folder
    from greenmachine.rundir.directory import new_run_dir
    from greenmachine.tui.commands.options import probe_overrides
    from greenmachine.tui.commands.stop import install_stop_on_interrupt

    if profile is None:
        raise GMError("--seeds, --repeat and --probe-seeds need a PROFILE (rerun the same command to resume)")
    plan = plan_from_options(profile, probe_overrides(overrides, workers, executor, address), seeds, repeat,
                             probe_seeds)
    if out is not None:
        resumes = prepare_folder(out, plan)
    else:
        from greenmachine.run.controller import DEFAULT_RUNS_ROOT

        out, resumes = new_run_dir(DEFAULT_RUNS_ROOT, f"{plan.profile.name}-seeds"), False
    startup = MeterStartup(plan.profile.energy.enabled, plan.profile.energy.country)
    typer.echo(f"gm: {'resuming' if resumes else 'starting'} {plan.describe()} in {out}", err=True)

    from greenmachine.tui.headless import HeadlessReporter

    runner = RepeatRunner(plan, out, HeadlessReporter(), meter=startup)
    import signal

    previous = install_stop_on_interrupt(runner)
    try:
        summary = runner.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    _print_summary(out, summary)
    if not summary["complete"]:
        raise typer.Exit(3)


def _print_summary(folder: Path, summary: dict) -> None:
    from greenmachine.repeats.summary import SUMMARY_MD_FILE

    for dataset, stats in summary["statistics"].items():
        evolved = stats.get("evolved", {})
        test = evolved.get("test", {})
        if test.get("mean") is not None:
            sd = "–" if test["sd"] is None else f"{test['sd']:.4f}"
            typer.echo(f"test {dataset}: evolved tau {test['mean']:.4f} ± {sd} (n={test['n']} runs)", err=True)
    if not summary["complete"]:
        typer.echo(f"gm: partial summary, {summary['finished']} of {summary['planned']} runs finished; missing: "
                   + ", ".join(row["name"] for row in summary["missing"]) + " (rerun the same command to resume)",
                   err=True)
    typer.echo(str(folder / SUMMARY_MD_FILE))


def summary_command(
    folder: Annotated[Path, typer.Argument(help="A folder of seed runs (written by gm run --seeds/--repeat).")],
    write: Annotated[bool, typer.Option("--write/--no-write", help="Rewrite summary.json/summary.md.")] = True,
) -> None:
    """Rebuild the mean ± sd summary of a folder of seed runs from its run directories."""
    from greenmachine.repeats.summary import render_summary, summarize, write_summary

    summary = write_summary(folder) if write else summarize(folder)
    typer.echo(render_summary(summary).rstrip("\n"))
