"""The run controller: probe -> evolve -> evaluate -> report, with events and energy spans.

Called by ``gm run`` (headless, in the main thread) and by the TUI (in a thread worker).
It owns no output of its own: everything goes to the event sink and to the run directory,
through :class:`greenmachine.rundir.directory.RunDirectory`; the meter, the event log, the
energy spans and the last event are :class:`greenmachine.run.lifecycle.RunLifecycle`'s. :meth:`RunController.request_stop`,
:meth:`~RunController.pause` and :meth:`~RunController.resume` are thread-safe requests
honoured between networks (probe) and between generations (evolution).

A stopped, interrupted or crashed run continues with :meth:`RunController.resume_directory`
(``gm run --resume DIR``): from its ``checkpoint.json`` when one exists (a crash loses at
most the generation in progress), else from the sampling and probe phase (networks probed
before the interrupt are cache hits). A completed run is not resumed. Loading the benchmark
and drawing the samples (and making the cache folder) happen before the run directory is
created, so a run that fails on its data or its cache folder leaves no run directory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from greenmachine.errors import GMError, error_line
from greenmachine.evaluation.evaluate import ProbePhase, evaluate_sample, profile_samples, resolve_device
from greenmachine.events import (
    PHASE_EVALUATION, PHASE_GENERATION, PHASE_PROBE, Event, GenerationDone, HallOfFameUpdated, LogMessage, NewBest,
    RunStarted,
)
from greenmachine.probe.cache import default_cache_root, prepare_cache_root
from greenmachine.rundir.directory import CHECKPOINT_FILE, REPORT_JSON_FILE, REPORT_MD_FILE, HallOfFameRow, RunDirectory
from greenmachine.run.lifecycle import RunLifecycle
from greenmachine.sampling.samples import sampling_label
from greenmachine.settings.profile import Profile
from greenmachine.stats.table import StatisticTable

DEFAULT_RUNS_ROOT = Path("runs")

__all__ = ["DEFAULT_RUNS_ROOT", "DatasetData", "ProbePhase", "RunController", "resolve_device"]


@dataclass
class DatasetData:
    """Everything the engine holds for one dataset: tables and targets per sample."""

    dataset: str
    tables: dict[str, StatisticTable]
    targets: dict[str, torch.Tensor]


#: The three samples of a run, in the order their networks are probed.
SAMPLE_NAMES = ("search", "validation", "test")


def split_probed_table(table: StatisticTable, indices: np.ndarray, accuracy: np.ndarray,
                       samples: Any) -> tuple[dict[str, StatisticTable], dict[str, torch.Tensor]]:
    """Split the table of ``samples.all_indices()`` into its search / validation / test parts.

    Parameters
    ----------
    table : StatisticTable
        Statistics of the networks ``indices``, probed in the order of ``samples.all_indices()``.
    indices : numpy.ndarray
        ``samples.all_indices()``.
    accuracy : numpy.ndarray
        Ground truth of every network of the space.
    samples : Samples
        The drawn samples (their sizes give the parts).

    Returns
    -------
    (dict, dict)
        Per sample name, its statistic table and its accuracy targets (float64 tensor).
    """
    tables, targets, start = {}, {}, 0
    for name in SAMPLE_NAMES:
        size = len(getattr(samples, name))
        positions = np.arange(start, start + size)
        start += size
        tables[name] = table.subset(positions)
        targets[name] = torch.as_tensor(accuracy[indices[positions]], dtype=torch.float64)
    return tables, targets


class RunController:
    """Run one profile end to end, emitting events to ``sink``.

    Parameters
    ----------
    profile : Profile
        The validated profile.
    sink : callable
        Receives every :class:`greenmachine.events.Event`.
    run_dir : Path, optional
        Where to write; default a new folder under ``runs_root``.
    meter : EnergyMeter or MeterStartup, optional
        Energy meter; default from the profile's ``[energy]`` section. A plain meter stays
        the caller's to close; a :class:`greenmachine.energy.MeterStartup` (a meter being built in
        the background) is resolved when the run starts and closed by the run.
    runs_root : Path
        Parent folder of new run directories.
    """

    def __init__(
        self,
        profile: Profile,
        sink: Callable[[Event], None],
        run_dir: Path | None = None,
        meter: Any = None,
        runs_root: Path = DEFAULT_RUNS_ROOT,
    ) -> None:
        if profile is None:
            raise GMError("no profile given")
        self.profile = profile
        #: True when this controller continues an earlier run's directory.
        self.continues_run = False
        self._external_sink = sink
        self._run_dir = run_dir
        self._runs_root = Path(runs_root)
        self._meter = meter
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self.device = resolve_device(profile.probe.device)
        self.run_dir: Path | None = None
        self._lifecycle: Any = None  # the RunLifecycle of run()

    @classmethod
    def resume_directory(cls, run_dir: Path, sink: Callable[[Event], None], meter: Any = None) -> "RunController":
        """A controller that continues the stopped or interrupted run in ``run_dir``.

        Raises
        ------
        GMError
            ``run_dir`` is not a run directory, is a completed run, or has a checkpoint
            that cannot be read (checked here: nothing is written or probed first).
        """
        controller = cls(cls.resumable_profile(run_dir), sink, run_dir=run_dir, meter=meter)
        controller.continues_run = True
        return controller

    @staticmethod
    def resumable_profile(run_dir: Path) -> Profile:
        """The profile of the stopped or interrupted run in ``run_dir``, checked for resuming.

        Raises
        ------
        GMError
            ``run_dir`` is not a run directory, is a completed run, or has a checkpoint
            that cannot be read (checked here: nothing is written or probed first).
        """
        directory = RunDirectory(run_dir)
        profile = directory.read_profile()
        if directory.is_completed():
            raise GMError(f"{run_dir} is a completed run (it has {REPORT_JSON_FILE}): nothing to resume")
        if directory.has_checkpoint():
            directory.read_checkpoint()
        return profile

    # -- control (thread-safe) -------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop after the current network (probe) or generation (evolution)."""
        self._stop.set()
        self._unpaused.set()

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`request_stop` was called."""
        return self._stop.is_set()

    def pause(self) -> None:
        """Pause between networks / generations until :meth:`resume`."""
        self._unpaused.clear()

    def resume(self) -> None:
        """Continue after :meth:`pause` (to continue a stopped run, see :meth:`resume_directory`)."""
        self._unpaused.set()

    @property
    def paused(self) -> bool:
        """Whether a pause is in effect."""
        return not self._unpaused.is_set()

    def _checkpoint_wait(self) -> bool:
        """Block while paused; return True when a stop was requested."""
        while not self._unpaused.wait(0.1):
            pass
        return self._stop.is_set()

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> Path:
        """Probe, evolve, evaluate on the test sample and write the report.

        The meter, the event log, the energy spans and the last event are
        :class:`greenmachine.run.lifecycle.RunLifecycle`'s (shared with ``gm search``).

        Returns
        -------
        Path
            The run directory.
        """
        profile = self.profile
        with RunLifecycle(self._external_sink, self._meter, profile.energy.enabled,
                          profile.energy.country) as lifecycle:
            self._lifecycle = lifecycle
            self.meter = lifecycle.meter
            # The data next: if it cannot be loaded, no run directory is made.
            self._load_samples()
            # The cache folder too: a path that cannot hold it (a file, under /proc) is one error.
            prepare_cache_root(profile.probe.cache_dir or default_cache_root())
            self.directory = RunDirectory.open_or_create(self._run_dir, self._runs_root, profile.name)
            self.run_dir = self.directory.path
            if not self.continues_run:
                self.directory.write_profile(profile)
            self.sink = lifecycle.open(self.directory, f"interrupted; continue with: gm run --resume {self.run_dir}")
            status = self._run()
            lifecycle.stop_span(lifecycle.run_span)
            if status == "completed":
                self._write_report()
                self._draw_figures()
            lifecycle.finish(status, f"report: {self.run_dir / REPORT_MD_FILE}" if status == "completed"
                             else f"stopped; continue with: gm run --resume {self.run_dir}")
            return self.run_dir

    def _run(self) -> str:
        from greenmachine.evolution import Evolution

        profile = self.profile
        samples = self.samples
        sizes = {"search": len(samples.search), "validation": len(samples.validation), "test": len(samples.test)}
        self.sink(self._run_started(sizes))
        probe_span = self._lifecycle.start_span("probe", PHASE_PROBE)
        data = self._probe_all()
        self._lifecycle.stop_span(probe_span)
        if data is None:
            return "stopped"
        self.data = data
        inputs = [[d.tables[name].to(self.device) if kind == "tables" else d.targets[name].to(self.device) for d in data]
                  for name in ("search", "validation") for kind in ("tables", "targets")]
        if self.continues_run and self.directory.has_checkpoint():
            try:
                evolution = Evolution.from_state_dict(self.directory.read_checkpoint(), profile.evolution, *inputs,
                                                      probe_cost=self._probe_cost(), **self._evolution_options())
            except GMError as error:
                raise GMError(f"{self.directory.file(CHECKPOINT_FILE)}: {error}") from None
            self.sink(LogMessage(level="info", message=f"resumed after generation {evolution.generation}"))
        else:
            if self.continues_run:
                self.sink(LogMessage(level="info", message="no checkpoint: resumed from the sampling and probe phase"))
            evolution = Evolution(profile.evolution, *inputs, probe_cost=self._probe_cost(), **self._evolution_options())
        self.evolution = evolution
        while evolution.generation < profile.evolution.generations:
            if self._checkpoint_wait():
                return "stopped"
            # The generation's span covers its step, checkpoint and hall of fame.
            span = self._lifecycle.start_span(f"generation-{evolution.generation + 1}", PHASE_GENERATION)
            result = evolution.step()
            self.directory.write_checkpoint(evolution.state_dict())
            self._lifecycle.stop_span(span)
            best = result.best
            self.sink(GenerationDone(generation=result.generation, generations=result.generations,
                                     best_search_tau=float(result.best_search_tau),
                                     mean_search_tau=float(result.mean_search_tau),
                                     best_validation_tau=float(result.best_validation_tau),
                                     best_size=int(best.tree.size), best_formula=str(best.tree),
                                     seconds=float(result.seconds)))
            if result.best_changed:
                self.sink(NewBest(generation=result.generation, search_tau=float(best.search_tau),
                                  validation_tau=float(best.validation_tau), size=int(best.tree.size),
                                  formula=str(best.tree), tree=best.tree.to_dict()))
            self.sink(HallOfFameUpdated(rows=tuple(row.to_event_row() for row in result.hall_of_fame)))
        if self._stop.is_set():
            return "stopped"
        span = self._lifecycle.start_span("evaluation", PHASE_EVALUATION)
        self._evaluate_best(evolution.best().tree)
        self._lifecycle.stop_span(span)
        return "completed"

    # -- hooks (overridden by greenmachine.run.multitask.MultiTaskRunController) ----------------------------

    def _load_samples(self) -> None:
        """Load the benchmark and draw the samples (before the run directory exists)."""
        self.benchmark, self.samples = profile_samples(self.profile)

    def _run_started(self, sizes: dict[str, int]) -> RunStarted:
        profile = self.profile
        return RunStarted(run_dir=str(self.run_dir), profile_name=profile.name, space=profile.space_name,
                          datasets=tuple(profile.benchmark.datasets), sampling_mode=sampling_label(self.samples),
                          sample_sizes=sizes, seed=profile.evolution.seed, device=self.device)

    def _probe_cost(self) -> Callable[[Any], Any] | None:
        """Each formula's probe cost on the run's space (None: the space has no cost table)."""
        from greenmachine.probe.costs import has_costs, tree_cost

        space = self.profile.space_name
        return (lambda tree: tree_cost(tree, space)) if has_costs(space) else None

    def _evolution_options(self) -> dict[str, Any]:
        """Extra keyword arguments of :class:`greenmachine.evolution.Evolution`: the fitness metric."""
        return {"metric": self.profile.fitness.metric}

    def _evaluate_best(self, tree: Any) -> None:
        """Score the final proxy and the baselines on the test sample; write the test scores."""
        self.test_results = {
            d.dataset: evaluate_sample(d.tables["test"], d.targets["test"].numpy(), tree, self.device) for d in self.data
        }
        # the proxy and every baseline on the validation sample too (for the seed summaries)
        self.validation_results = {
            d.dataset: evaluate_sample(d.tables["validation"], d.targets["validation"].numpy(), tree, self.device)
            for d in self.data
        }
        self._write_test_scores(tree)

    def _test_sets(self) -> list[tuple[str, StatisticTable, StatisticTable, Any, Any, torch.Tensor]]:
        """Per test sample: its label, the proxy's table, the baselines' table, network indices,
        benchmark and targets (the baselines' table differs when statistics are normalised)."""
        return [(d.dataset, d.tables["test"], d.tables["test"], self.samples.test, self.benchmark, d.targets["test"])
                for d in self.data]

    def _write_test_scores(self, tree: Any) -> None:
        """Write every network's proxy and baseline scores on the test samples (``test_scores.csv``)."""
        from greenmachine.evaluation.evaluate import network_scores
        from greenmachine.rundir.directory import TestScoreRow

        rows = []
        for label, table, raw, indices, benchmark, target in self._test_sets():
            scores = network_scores(table, tree, self.device)
            evolved = scores["evolved"]
            if raw is not table:
                scores = network_scores(raw, tree, self.device)
            baselines = {name: values for name, values in scores.items() if name != "evolved"}
            for position, index in enumerate(indices):
                rows.append(TestScoreRow(label, int(index), benchmark.arch(int(index)),
                                         float(target[position]), float(evolved[position]),
                                         {name: float(values[position]) for name, values in baselines.items()}))
        self.directory.write_test_scores(rows)

    def _draw_figures(self) -> None:
        """Draw the run's figures and embed them in report.md; a failure is a warning event."""
        try:
            from greenmachine.report.build import draw_and_embed

            draw_and_embed(self.run_dir)
        except Exception as error:  # a figure must never fail the run
            self.sink(LogMessage(level="warning", message=f"figures not drawn: {error_line(error)}"))

    def _probe_all(self) -> list[DatasetData] | None:
        profile = self.profile
        indices = self.samples.all_indices()
        phase = ProbePhase(profile.space_name, profile.probe, self.device, self.sink,
                           total=len(indices) * len(profile.benchmark.datasets), should_stop=self._checkpoint_wait)
        result = []
        for dataset in profile.benchmark.datasets:
            table = phase.table(indices, dataset)
            if table is None:
                return None
            tables, targets = split_probed_table(table, indices, self.benchmark.accuracy(dataset), self.samples)
            result.append(DatasetData(dataset, tables, targets))
        return result

    def _write_report(self) -> None:
        """Write ``best_proxy.json``, the hall of fame, the cost front and the report."""
        from greenmachine.export import simplified_texts
        from greenmachine.report.build import build_report, energy_summary, render_markdown

        profile = self.profile
        best = self.evolution.best()
        hall = list(self.evolution.hall_of_fame())
        texts = simplified_texts([best.tree] + [e.tree for e in hall], profile.export.simplify_timeout)
        self.directory.write_best_proxy(self._best_proxy_fields(best, texts[0]))
        rows = self._hall_rows(hall, texts[1:])
        self.directory.write_hall_of_fame(rows)
        cost = self._write_cost_front(rows, best, texts[0])
        # Every part of the run (before and after a resume) is in energy.csv and events.jsonl.
        probe_counts = self.directory.probe_counts()
        energy = energy_summary(self.directory.read_energy(), probe_counts, self.meter.describe())
        report = build_report(
            run_dir=self.run_dir, profile=profile, samples=self.samples, device=self.device, probe_counts=probe_counts,
            generations=self.evolution.generation, best=HallOfFameRow.from_entry(best, texts[0]),
            test_results=self.test_results, energy=energy, **self._report_options(),
        )
        self.directory.write_report(*self._finish_report(report, cost, render_markdown))

    def _best_proxy_fields(self, best: Any, simplified: str) -> dict[str, Any]:
        """The content of ``best_proxy.json``."""
        profile = self.profile
        return self._best_proxy_record(best, simplified, profile.space_name, list(profile.benchmark.datasets),
                                       self.data[0].tables["search"])

    def _hall_rows(self, hall: list[Any], texts: list[str]) -> list[HallOfFameRow]:
        """The rows of ``hall_of_fame.csv`` (with the space's probe cost of each formula)."""
        return [HallOfFameRow.from_entry(e, text, self.profile.space_name) for e, text in zip(hall, texts)]

    def _write_cost_front(self, rows: list[HallOfFameRow], best: Any, simplified: str) -> dict[str, Any] | None:
        """Write ``cost_front.csv``; return the report's ``probe_cost`` part (None: the space has no costs)."""
        from greenmachine.report.cost_front import write_cost_front

        best_row = HallOfFameRow.from_entry(best, simplified, self.profile.space_name)
        return write_cost_front(self.directory, self.evolution.cost_candidates(), rows, best_row, self.profile,
                                self._test_tau, {name: r["evolved"]["kendall_tau"] for name, r in self.test_results.items()})

    def _report_options(self) -> dict[str, Any]:
        """Extra keyword arguments of :func:`greenmachine.report.build.build_report`."""
        return {"validation_results": self.validation_results}

    def _finish_report(self, report: dict[str, Any], cost: dict[str, Any] | None,
                       render: Callable[[dict[str, Any]], str]) -> tuple[dict[str, Any], str]:
        """The report data with the run's own parts added, and its Markdown."""
        if cost is not None:
            report["probe_cost"] = cost
        return report, render(report)

    def _best_proxy_record(self, best: Any, simplified: str, space: str, datasets: list[str],
                           search: Any) -> dict[str, Any]:
        """The fields of ``best_proxy.json`` every run writes (the multi-task run adds its own)."""
        profile = self.profile
        return {
            "tree": best.tree.to_dict(),
            "formula": str(best.tree),
            "simplified": simplified,
            "size": int(best.tree.size),
            "search_tau": float(best.search_tau),
            "validation_tau": float(best.validation_tau),
            "space": space,
            "benchmark": profile.to_dict()["benchmark"],
            "datasets": datasets,
            "probe": {"batch_size": profile.probe.batch_size, "seed": profile.probe.seed},
            "statistics": {"layer": list(search.layer_statistic_names), "network": list(search.network_statistic_names)},
        }

    def _test_tau(self, tree: Any) -> dict[str, float]:
        """Kendall τ of one proxy tree on each dataset's test sample."""
        from greenmachine.evaluation.evaluate import score_proxy

        return {d.dataset: score_proxy(tree, d.tables["test"], d.targets["test"].numpy(), self.device)["kendall_tau"]
                for d in self.data}

