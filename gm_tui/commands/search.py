"""``gm search``: a zero-cost NAS guided by a proxy, headless, into a run directory.

A thin command registered on the ``gm`` app by :mod:`greenmachine.tui.cli`: parse the options, call
:func:`greenmachine.search.run_search`, print progress on stderr and the result on stdout. Heavy
imports happen inside the body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


class SearchReporter:
    """Progress on stderr: probe progress as ``gm run`` shows it, one line per finished search."""

    def __init__(self) -> None:
        from greenmachine.tui.headless import HeadlessReporter

        self.inner = HeadlessReporter()

    def __call__(self, event) -> None:
        from greenmachine.events import NetworkFound, ProbeProgress, RunStarted, SearchProgress

        if isinstance(event, RunStarted):
            sizes = event.sample_sizes
            self.inner._line(f"gm: search -> {event.run_dir}\n    space {event.space}, dataset "
                             f"{', '.join(event.datasets)}, strategy {event.sampling_mode}, budget {sizes['budget']}, "
                             f"seed {event.seed}; comparison: {sizes['compare_seeds']} seeds x budget "
                             f"{sizes['compare_budget']}; device {event.device}")
        elif isinstance(event, SearchProgress):
            if event.evaluated == event.budget:
                self.inner._line(f"    {event.guide} seed {event.seed}: scored {event.budget} networks")
        elif isinstance(event, NetworkFound):
            return
        elif isinstance(event, (ProbeProgress,)) or type(event).__name__ in ("LogMessage", "EnergySample"):
            self.inner(event)


def search_command(
    proxy: Annotated[str, typer.Option("--proxy", help="A shipped proxy, a best_proxy.json / run directory, a baseline name, or 'random'.")],
    space: Annotated[str, typer.Option("--space", help="A built-in search space: tss, sss, macro or nb101.")] = "tss",
    dataset: Annotated[str, typer.Option("--dataset", help="cifar10, cifar100 or ImageNet16-120.")] = "cifar10",
    budget: Annotated[int, typer.Option("--budget", help="Networks the search scores (cache hits count).")] = 100,
    strategy: Annotated[str, typer.Option("--strategy", help="sample (NASWOT protocol) or evolution (aging evolution, REA).")] = "sample",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the search (the comparison uses seed..seed+K-1).")] = 0,
    constraint: Annotated[Optional[str], typer.Option("--constraint", help="Hardware constraint, e.g. edgegpu_energy<=10 (HW-NAS-Bench metric).")] = None,
    objective: Annotated[Optional[str], typer.Option("--objective", help="Hardware metric for the score/cost Pareto front, e.g. edgegpu_latency.")] = None,
    compare_seeds: Annotated[int, typer.Option("--compare-seeds", help="Seeds of the comparison with naswot, synflow, params and random (0: none).")] = 10,
    compare_budget: Annotated[Optional[int], typer.Option("--compare-budget", help="Budget of each comparison search (default min(budget, 25)).")] = None,
    population: Annotated[int, typer.Option("--population", help="Evolution: population size.")] = 10,
    sample_size: Annotated[int, typer.Option("--sample-size", help="Evolution: members compared to pick a parent.")] = 3,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Probe batch (default: the proxy's).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Probe workers: 0 = every usable CPU, 1 = in this process.")] = 0,
    energy: Annotated[bool, typer.Option("--energy/--no-energy", help="Meter energy (codecarbon, NVML).")] = True,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory to write (default runs/<time>-search-<strategy>).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write report.json's content here.")] = None,
) -> None:
    """Zero-cost NAS: find a network with a proxy, then look up how good it really is."""
    from greenmachine.rundir.directory import REPORT_MD_FILE, RunDirectory, atomic_write_text
    from greenmachine.search import SearchSettings, run_search

    settings = SearchSettings(proxy=proxy, space=space, dataset=dataset, budget=budget, strategy=strategy, seed=seed,
                              constraint=constraint, objective=objective, compare_seeds=compare_seeds,
                              compare_budget=compare_budget, population=population, sample_size=sample_size,
                              batch_size=batch_size, workers=workers, energy=energy)
    run_dir = run_search(settings, SearchReporter(), out=out)
    report = RunDirectory(run_dir).read_report()
    found, best = report["found"], report["optimum"]
    typer.echo(f"found {found['arch']} (index {found['index']}): true accuracy {found['accuracy']:.2f}, "
               f"rank {found['rank']}/{found['space_size']}"
               + (f", {found['rank_feasible']}/{found['feasible_size']} under {constraint}" if constraint else ""))
    typer.echo(f"best in space {best['space']['accuracy']:.2f}"
               + (f"; best under constraint {best['feasible']['accuracy']:.2f}" if constraint else ""))
    for guide, row in (report.get("comparison") or {}).get("guides", {}).items():
        sd = row["sd_accuracy"]
        typer.echo(f"  {guide:14s} {row['mean_accuracy']:.2f} ± {sd if sd is not None else 0:.2f} "
                   f"(mean rank {row['mean_rank']:.0f}, {row['seeds']} seeds, budget {report['comparison']['budget']})")
    for phase, row in report["energy"]["phases"].items():
        joules = row["energy_joules"]
        typer.echo(f"  energy {phase:11s} {row['duration_s']:8.1f} s  "
                   + (f"{joules:10.1f} J" if joules is not None else "not metered"), err=True)
    typer.echo(f"report: {run_dir / REPORT_MD_FILE}", err=True)
    if json_path is not None:
        try:
            atomic_write_text(json_path, json.dumps(report, indent=2) + "\n")
        except OSError as error:
            from greenmachine.errors import GMError

            raise GMError(f"cannot write {json_path}: {error.strerror or error}") from None
