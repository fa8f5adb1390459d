"""``gm search``: a zero-cost NAS over a benchmark space, end to end, into a run directory.

Called by ``gm search`` (:mod:`greenmachine.tui.commands.search`) and the tests. Order of work:
validate everything (guide, space, dataset, hardware constraint and objective, budgets)
before any file is written; then, with energy spans per phase, run the headline search
(``search``), the same search by the comparison guides over seeds (``comparison``), and only
then look up true accuracies, draw the figures and write the report (``evaluation``). The
meter, the event log, the energy spans and the last event are ``gm run``'s
(:class:`greenmachine.run.lifecycle.RunLifecycle`), and the run directory has ``gm run``'s
contract (``profile.toml``, ``events.jsonl``, ``energy.csv``, ``report.json``, ``report.md``)
plus ``search.json`` (the settings) and the figures, all written through
:class:`greenmachine.rundir.directory.RunDirectory`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from greenmachine.errors import ArgumentError, GMError
from greenmachine.events import (
    PHASE_COMPARISON, PHASE_EVALUATION, PHASE_SEARCH, Event, LogMessage, NetworkFound, RunStarted, SearchProgress,
)
from greenmachine.run.lifecycle import RunLifecycle
from greenmachine.rundir.directory import REPORT_MD_FILE, SEARCH_FILE, RunDirectory
from greenmachine.search.guides import ScoreBank, comparison_guides, resolve_guide
from greenmachine.search.strategies import STRATEGIES, check_budget, run_strategy

UNITS = {"latency": "ms per image", "energy": "mJ per image", "arithmetic_intensity": "ops per byte"}


@dataclass(frozen=True)
class SearchSettings:
    """Everything a search needs (``gm search``'s options).

    ``compare_budget`` defaults to ``min(budget, 25)`` and ``batch_size`` / ``probe_seed`` to
    the proxy's probe settings (16 / 0 for a baseline). Evolution keeps ``population``
    members and picks each parent among ``sample_size`` of them.
    """

    proxy: str
    space: str = "tss"
    dataset: str = "cifar10"
    budget: int = 100
    strategy: str = "sample"
    seed: int = 0
    constraint: str | None = None
    objective: str | None = None
    compare_seeds: int = 10
    compare_budget: int | None = None
    population: int = 10
    sample_size: int = 3
    batch_size: int | None = None
    probe_seed: int | None = None
    device: str = "auto"
    energy: bool = True
    country: str = "USA"
    workers: int = 0
    cache_dir: str = ""
    figures: bool = True


def _check_int(name: str, value: Any, minimum: int) -> None:
    """One setting of a search is an integer of at least ``minimum`` (the line names the argument)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ArgumentError("{0} must be an integer >= {minimum}, got {value!r}", name, minimum=minimum, value=value)


@dataclass
class _Plan:
    settings: SearchSettings
    guide: Any
    guides: list
    space: Any
    benchmark: Any
    feasible: np.ndarray
    constraint: Any
    hardware: Any
    cost: np.ndarray | None
    compare_budget: int
    probe: Any
    neighbour: Callable | None


def plan_search(settings: SearchSettings) -> _Plan:
    """Check every setting and load what the search needs; nothing is written or probed.

    Raises
    ------
    GMError
        Unknown guide, space, dataset, strategy or hardware metric; malformed constraint; a
        constraint no network meets; a budget below 1 or above the candidate networks.
    """
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.search.hardware import load_hardware, parse_constraint
    from greenmachine.settings.profile import ProbeSettings
    from greenmachine.spaces import get_space

    if settings.strategy not in STRATEGIES:
        raise GMError(f"unknown strategy {settings.strategy!r}; valid strategies: {', '.join(STRATEGIES)}")
    for name, minimum in (("budget", 1), ("seed", 0), ("compare_seeds", 0), ("workers", 0)):
        _check_int(name, getattr(settings, name), minimum)
    constraint = parse_constraint(settings.constraint) if settings.constraint is not None else None
    guide = resolve_guide(settings.proxy)
    space = get_space(settings.space)
    space.dataset(settings.dataset)
    benchmark = load_benchmark(space)
    hardware = cost = None
    feasible = np.ones(len(benchmark), dtype=bool)
    if constraint is not None or settings.objective:
        hardware = load_hardware(space, settings.dataset)
        if constraint is not None:
            feasible = constraint.mask(hardware)
        if settings.objective:
            cost = hardware.metric(settings.objective)
    if constraint is not None and not feasible.any():
        raise GMError(f"no network of {space.title} meets the constraint {constraint} on {settings.dataset}")
    check_budget(settings.budget, feasible)
    compare_budget = settings.compare_budget if settings.compare_budget is not None else min(settings.budget, 25)
    if settings.compare_seeds:
        _check_int("compare_budget", compare_budget, 1)
        check_budget(compare_budget, feasible)
    neighbour = None
    if settings.strategy == "evolution":
        space.mutate(benchmark.arch(0), np.random.default_rng(0))  # a space without mutation fails here

        def neighbour(index: int, rng: np.random.Generator) -> int:
            return benchmark.index_of(space.mutate(benchmark.arch(index), rng))
    proxy = guide.proxy
    batch_size = settings.batch_size or (proxy.batch_size if proxy is not None else 16)
    probe_seed = settings.probe_seed if settings.probe_seed is not None else (proxy.seed if proxy is not None else 0)
    _check_int("batch_size", batch_size, 1)
    probe = ProbeSettings(batch_size=batch_size, seed=probe_seed, device=settings.device,
                          cache_dir=settings.cache_dir, workers=settings.workers)
    guides = comparison_guides(guide) if settings.compare_seeds else [guide]
    return _Plan(settings, guide, guides, space, benchmark, feasible, constraint, hardware, cost,
                 compare_budget, probe, neighbour)


def _profile(plan: _Plan) -> Any:
    from greenmachine.settings.profile import profile_from_mapping

    settings = plan.settings
    return profile_from_mapping({
        "name": f"search-{settings.strategy}",
        "description": f"gm search --proxy {settings.proxy} --budget {settings.budget} --strategy {settings.strategy}",
        "benchmark": {"space": plan.space.name, "datasets": [settings.dataset]},
        "probe": {"batch_size": plan.probe.batch_size, "seed": plan.probe.seed, "device": settings.device,
                  "cache_dir": settings.cache_dir},
        "energy": {"enabled": settings.energy, "country": settings.country},
    }, source="gm search options")


def _search(plan: _Plan, bank: ScoreBank, guide: Any, seed: int, budget: int, sink: Callable[[Event], None],
            progress: bool) -> Any:
    """Run one search; report its best score so far as :class:`SearchProgress` events.

    Every step of the best-so-far curve is an event (each network that raised the best, then
    the end at ``budget``), so a plot draws each search as a step curve: the headline search
    (``progress``) as it scores, a comparison search once it has ended.
    """
    scorer = bank.scorer(guide, seed)
    state = {"done": 0, "best": -np.inf}

    def emit(evaluated: int, best: float) -> None:
        sink(SearchProgress(guide=guide.name, seed=seed, evaluated=int(evaluated), budget=budget,
                            best_score=float(best) if np.isfinite(best) else None))

    def steps(scores: np.ndarray, start: int, best: float) -> float:
        """Emit each network of ``scores`` (scored after ``start`` others) that raised ``best``, but the last."""
        for offset, score in enumerate(np.asarray(scores, dtype=np.float64)[:-1]):
            if np.isfinite(score) and score > best:
                best = float(score)
                emit(start + offset + 1, best)
        return best

    def reporting(indices: np.ndarray) -> np.ndarray:
        scores = scorer(indices)
        if progress:
            steps(scores, state["done"], state["best"])
        state["done"] += len(indices)
        finite = scores[np.isfinite(scores)]
        state["best"] = max(state["best"], float(finite.max()) if finite.size else -np.inf)
        if progress:
            emit(state["done"], state["best"])
        return scores

    settings = plan.settings
    trace = run_strategy(settings.strategy, plan.feasible, budget, seed, reporting, plan.neighbour,
                         settings.population, settings.sample_size)
    if not progress:
        steps(trace.scores, 0, -np.inf)
        emit(trace.budget, float(trace.scores.max()))
    return trace


def run_search(settings: SearchSettings, sink: Callable[[Event], None], out: Path | None = None,
               runs_root: Path = Path("runs"), meter: Any = None) -> Path:
    """Run a zero-cost NAS and write its run directory; return the directory.

    The meter, the event log, the energy spans and the last event are
    :class:`greenmachine.run.lifecycle.RunLifecycle`'s, as for ``gm run``.

    Parameters
    ----------
    settings : SearchSettings
        The search (checked by :func:`plan_search` first).
    sink : callable
        Receives every event (after the run directory's ``events.jsonl``).
    out : Path, optional
        The run directory to write (new or empty); default a new folder under ``runs_root``.
    runs_root : Path
        Parent folder of a new run directory.
    meter : EnergyMeter or MeterStartup, optional
        As for :class:`greenmachine.run.lifecycle.RunLifecycle`; default from ``settings.energy``
        and ``settings.country``.

    Raises
    ------
    GMError
        Bad settings (see :func:`plan_search`), an ``out`` that exists and is not an empty
        folder (a search writes a new folder, as ``gm run`` does: it never mixes into an
        earlier run or search), both raised before anything is written; or a failure during
        the search (the run directory then ends with a failed ``RunFinished``).
    """
    from greenmachine.probe.engine import resolve_device  # torch: only when a search runs
    from greenmachine.probe.phase import ProbePhase

    if out is not None and Path(out).exists() and (not Path(out).is_dir() or any(Path(out).iterdir())):
        raise ArgumentError("{0} {folder} exists and is not empty: a search writes a new folder (choose another {0})",
                            "out", folder=out)
    plan = plan_search(settings)
    device = resolve_device(settings.device)
    name = f"search-{settings.strategy}"
    with RunLifecycle(sink, meter, settings.energy, settings.country) as lifecycle:
        directory = RunDirectory.open_or_create(out, runs_root, name)
        directory.write_profile(_profile(plan))
        directory.write_search_settings(dataclasses.asdict(settings))
        run_sink = lifecycle.open(directory, "interrupted (a search is not resumed: run it again)")
        seeds = [settings.seed + k for k in range(settings.compare_seeds)]
        run_sink(RunStarted(run_dir=str(directory.path), profile_name=name, space=plan.space.name,
                            datasets=(settings.dataset,), sampling_mode=settings.strategy,
                            sample_sizes={"budget": settings.budget, "compare_budget": plan.compare_budget,
                                          "compare_seeds": settings.compare_seeds},
                            seed=settings.seed, device=device))
        # sampling: every guide scores the same networks per seed; evolution: each its own
        paths = 1 if settings.strategy == "sample" else sum(guide.probes for guide in plan.guides)
        expected = settings.budget + len(seeds) * plan.compare_budget * paths
        phase = ProbePhase(plan.space.name, plan.probe, device, run_sink, total=expected)
        bank = ScoreBank(phase, settings.dataset, plan.guides)
        span = lifecycle.start_span("search", PHASE_SEARCH)
        headline = _search(plan, bank, plan.guide, settings.seed, settings.budget, run_sink, progress=True)
        degenerate = bank.degeneracy(plan.guide, headline.evaluated, headline.scores)
        if degenerate is not None:  # a search guided by meaningless scores: say so, and why
            run_sink(LogMessage(level="warning", message=degenerate.message))
        lifecycle.stop_span(span)
        traces: dict[str, list] = {guide.name: [] for guide in plan.guides}
        if seeds:
            span = lifecycle.start_span("comparison", PHASE_COMPARISON)
            for seed in seeds:
                for guide in plan.guides:
                    traces[guide.name].append((seed, _search(plan, bank, guide, seed, plan.compare_budget,
                                                             run_sink, progress=False)))
            lifecycle.stop_span(span)
        phase.finish()  # the expected total counted shared networks once per guide
        span = lifecycle.start_span("evaluation", PHASE_EVALUATION)
        report = _evaluate(plan, headline, traces, seeds, phase, directory, run_sink)
        report["warnings"] = [degenerate.message] if degenerate is not None else []
        lifecycle.stop_span(span)
        lifecycle.stop_span(lifecycle.run_span)
        _write_report(report, directory, lifecycle.meter)
        lifecycle.finish("completed", f"report: {directory.file(REPORT_MD_FILE)}")
        return directory.path


def _evaluate(plan: _Plan, headline: Any, traces: dict, seeds: list[int], phase: Any, directory: Any,
              sink: Callable[[Event], None]) -> dict[str, Any]:
    """Everything after the searches: true accuracies, ranks, comparison, Pareto front, figures."""
    from greenmachine.search.result import comparison_summary, hardware_front, network_row, optimum

    settings = plan.settings
    accuracy = plan.benchmark.accuracy(settings.dataset)  # first read of the ground truth
    found = network_row(headline.chosen, plan.benchmark, accuracy, plan.feasible,
                        score=float(headline.scores.max()), cost=plan.cost)
    sink(NetworkFound(guide=plan.guide.name, seed=settings.seed, budget=settings.budget, index=found["index"],
                      arch=found["arch"], score=found.get("score"), accuracy=found["accuracy"], rank=found["rank"],
                      rank_feasible=found["rank_feasible"]))
    sink(LogMessage(level="info", message=f"found {found['arch']}: true accuracy {found['accuracy']:.2f}, "
                                          f"rank {found['rank']} of {found['space_size']}"))
    report: dict[str, Any] = {
        "kind": "search",
        "settings": {**dataclasses.asdict(settings), "guide": plan.guide.name, "guide_kind": plan.guide.kind,
                     "compare_budget": plan.compare_budget if seeds else None,
                     "constraint": str(plan.constraint) if plan.constraint is not None else None},
        "space": plan.space.name, "space_title": plan.space.title,
        "ground_truth": plan.benchmark.metric_columns[settings.dataset],
        "found": found,
        "found_curve": accuracy[headline.chosen_after].tolist(),
        "optimum": optimum(plan.benchmark, accuracy, plan.feasible),
        "probe": {"batch_size": plan.probe.batch_size, "seed": plan.probe.seed,
                  "networks_probed": phase.counts["done"], "cache_hits": phase.counts["hits"]},
    }
    if plan.guide.proxy is not None:
        report["proxy"] = {"name": plan.guide.name, "formula": plan.guide.proxy.formula}
    if seeds:
        report["comparison"] = {"seeds": len(seeds), "seed_list": seeds, "budget": plan.compare_budget,
                                "guides": comparison_summary(traces, accuracy, plan.benchmark, plan.feasible)}
    if plan.hardware is not None:
        metric = settings.objective or (plan.constraint.metric if plan.constraint is not None else None)
        key = metric.split(f"{settings.dataset}_", 1)[-1]
        unit = next((text for suffix, text in UNITS.items() if key.endswith(suffix)), "")
        report["hardware"] = {"table": str(plan.hardware.source), "objective": settings.objective,
                              "constraint": str(plan.constraint) if plan.constraint is not None else None,
                              "unit": unit, "front": None}
        if plan.cost is not None:
            report["hardware"].update(hardware_front(headline, plan.cost, accuracy, plan.benchmark, plan.feasible))
    if settings.figures:
        from greenmachine.search.figures import draw_search_figures

        report["figures"] = draw_search_figures(report, directory.path)
    return report


def _write_report(report: dict[str, Any], directory: Any, meter: Any) -> None:
    from greenmachine.search.result import energy_phases, render_markdown

    report["energy"] = energy_phases(directory.read_energy(), meter.describe())
    directory.write_report(report, render_markdown(report))


__all__ = ["SEARCH_FILE", "SearchSettings", "plan_search", "run_search"]
