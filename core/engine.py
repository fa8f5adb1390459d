"""The run controller: probe -> evolve -> evaluate -> report, with events and energy spans.

Called by ``gm run`` (headless, in the main thread) and by the TUI (in a thread worker).
It owns no output of its own: everything goes to the event sink and to the run directory
(``core.rundir``). Stop and pause are thread-safe requests honoured between networks
(probe) and between generations (evolution); a stopped run keeps ``checkpoint.json`` and
continues with ``resume=True``. A crash loses at most the generation in progress.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from core import rundir
from core.benchmarks import load_benchmark
from core.errors import GMError
from core.events import (
    EnergySample,
    Event,
    FanOutSink,
    GenerationDone,
    HallOfFameUpdated,
    LogMessage,
    NewBest,
    ProbeProgress,
    RunFinished,
    RunStarted,
)
from core.probe.engine import resolve_device
from core.sampling import Samples, draw_samples
from core.settings import Profile, load_profile_text
from core.table import StatisticTable

DEFAULT_RUNS_ROOT = Path("runs")


@dataclass
class DatasetData:
    """Everything the engine holds for one dataset: tables and targets per sample."""

    dataset: str
    tables: dict[str, StatisticTable]
    targets: dict[str, torch.Tensor]


class RunController:
    """Run one profile end to end, emitting events to ``sink``.

    Parameters
    ----------
    profile : Profile
        The validated profile (ignored when resuming: the run directory's copy is used).
    sink : callable
        Receives every :class:`core.events.Event`.
    run_dir : Path, optional
        Where to write; default a new folder under ``runs_root``. Required with ``resume``.
    resume : bool
        Continue the run in ``run_dir`` from its ``checkpoint.json``.
    meter : EnergyMeter or MeterStartup, optional
        Energy meter; default from the profile's ``[energy]`` section. A plain meter stays
        the caller's to close; a :class:`core.energy.MeterStartup` (a meter being built in
        the background) is resolved when the run starts and closed by the run.
    runs_root : Path
        Parent folder of new run directories.
    """

    def __init__(
        self,
        profile: Profile | None,
        sink: Callable[[Event], None],
        run_dir: Path | None = None,
        resume: bool = False,
        meter: Any = None,
        runs_root: Path = DEFAULT_RUNS_ROOT,
    ) -> None:
        if resume:
            if run_dir is None:
                raise GMError("resume needs the run directory")
            run_dir = Path(run_dir)
            profile_path = run_dir / rundir.PROFILE_FILE
            if not profile_path.is_file():
                raise GMError(f"{run_dir} is not a GreenMachine run directory (no {rundir.PROFILE_FILE})")
            if not (run_dir / rundir.CHECKPOINT_FILE).is_file():
                raise GMError(f"{run_dir} has no {rundir.CHECKPOINT_FILE}: nothing to resume")
            profile = load_profile_text(profile_path.read_text(encoding="utf-8"), str(profile_path))
        if profile is None:
            raise GMError("no profile given")
        self.profile = profile
        self.resuming = resume
        self._external_sink = sink
        self._run_dir = run_dir
        self._runs_root = Path(runs_root)
        self._meter = meter
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self.device = resolve_device(profile.probe.device)
        self.run_dir: Path | None = None
        self.cache_warnings: list[str] = []

    # -- control (thread-safe) -------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop after the current network (probe) or generation (evolution)."""
        self._stop.set()
        self._unpaused.set()

    def pause(self) -> None:
        """Pause between networks / generations until :meth:`resume`."""
        self._unpaused.clear()

    def resume_run(self) -> None:
        """Continue after :meth:`pause`."""
        self._unpaused.set()

    # The TUI calls ``resume()`` for "continue after pause".
    def resume(self) -> None:  # noqa: D102 - alias documented above
        self.resume_run()

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

        Returns
        -------
        Path
            The run directory.
        """
        from core.energy import MeterStartup, make_meter

        profile = self.profile
        # The meter first: if it cannot start, nothing is written.
        owns_meter = self._meter is None or isinstance(self._meter, MeterStartup)
        if self._meter is None:
            meter = make_meter(profile.energy.enabled, profile.energy.country)
        elif isinstance(self._meter, MeterStartup):
            meter = self._meter.result()
        else:
            meter = self._meter
        if self._run_dir is None:
            self.run_dir = rundir.new_run_dir(self._runs_root, profile.name)
        else:
            self.run_dir = Path(self._run_dir)
            self.run_dir.mkdir(parents=True, exist_ok=True)
        if not self.resuming:
            rundir.atomic_write_text(self.run_dir / rundir.PROFILE_FILE, profile.to_toml())
        writer = rundir.RunDirectoryWriter(self.run_dir)
        self.sink = FanOutSink(writer, self._external_sink)
        self.meter = meter
        self.energy_readings: list[tuple[str, Any]] = []
        try:
            run_span = meter.start("run")
            status = self._run(meter)
            reading = meter.stop(run_span)
            self._emit_energy(reading, "run")
            if status == "completed":
                self._write_report()
            message = (
                f"report: {self.run_dir / rundir.REPORT_MD_FILE}"
                if status == "completed"
                else f"stopped; continue with: gm run --resume {self.run_dir}"
            )
            self.sink(RunFinished(status=status, run_dir=str(self.run_dir), message=message))
            return self.run_dir
        except Exception as error:
            self.sink(LogMessage(level="error", message=f"{type(error).__name__}: {error}"))
            self.sink(RunFinished(status="failed", run_dir=str(self.run_dir), message=str(error)))
            raise
        finally:
            writer.close()
            if owns_meter:
                meter.close()

    def _emit_energy(self, reading: Any, phase: str) -> None:
        self.energy_readings.append((phase, reading))
        self.sink(
            EnergySample(
                span=reading.name,
                phase=phase,
                duration_s=reading.duration_s,
                energy_joules=reading.energy_joules,
                co2_grams=reading.co2_grams,
                cpu_joules=reading.cpu_joules,
                ram_joules=reading.ram_joules,
                gpu_joules=reading.gpu_joules,
                gpu_mean_watts=reading.gpu_mean_watts,
                methods=dict(reading.methods),
            )
        )

    def _run(self, meter: Any) -> str:
        from core.evolution import Evolution

        profile = self.profile
        benchmark = load_benchmark(profile.space_name)
        first = profile.benchmark.datasets[0]
        self.benchmark = benchmark
        self.samples = draw_samples(benchmark.accuracy(first), profile.sampling, str(benchmark.source))
        self.sink(
            RunStarted(
                run_dir=str(self.run_dir),
                profile_name=profile.name,
                space=profile.space_name,
                datasets=tuple(profile.benchmark.datasets),
                sampling_mode=_sampling_label(self.samples),
                sample_sizes={
                    "search": len(self.samples.search),
                    "validation": len(self.samples.validation),
                    "test": len(self.samples.test),
                },
                seed=profile.evolution.seed,
                device=self.device,
            )
        )
        probe_span = meter.start("probe")
        data = self._probe_all()
        reading = meter.stop(probe_span)
        self._emit_energy(reading, "probe")
        if data is None:
            return "stopped"
        self.data = data
        search_tables = [d.tables["search"].to(self.device) for d in data]
        search_targets = [d.targets["search"].to(self.device) for d in data]
        validation_tables = [d.tables["validation"].to(self.device) for d in data]
        validation_targets = [d.targets["validation"].to(self.device) for d in data]
        checkpoint_path = self.run_dir / rundir.CHECKPOINT_FILE
        if self.resuming:
            state = rundir.read_json(checkpoint_path)
            evolution = Evolution.from_state_dict(
                state["evolution"], profile.evolution, search_tables, search_targets, validation_tables, validation_targets
            )
            self.sink(LogMessage(level="info", message=f"resumed after generation {evolution.generation}"))
        else:
            evolution = Evolution(
                profile.evolution, search_tables, search_targets, validation_tables, validation_targets
            )
        self.evolution = evolution
        best_key = None
        while evolution.generation < profile.evolution.generations:
            if self._checkpoint_wait():
                return "stopped"
            # The generation's span covers its step, checkpoint and hall of fame.
            span = meter.start(f"generation-{evolution.generation + 1}")
            result = evolution.step()
            rundir.atomic_write_json(checkpoint_path, {"evolution": evolution.state_dict()})
            best = evolution.best()
            rows = tuple(
                {"size": int(e.tree.size), "tau_search": float(e.search_tau), "tau_validation": float(e.validation_tau), "formula": str(e.tree)}
                for e in evolution.hall_of_fame()
            )
            reading = meter.stop(span)
            self._emit_energy(reading, "generation")
            self.sink(
                GenerationDone(
                    generation=result.generation,
                    generations=profile.evolution.generations,
                    best_search_tau=float(result.best_search_tau),
                    mean_search_tau=float(result.mean_search_tau),
                    best_validation_tau=float(result.best_validation_tau),
                    best_size=int(best.tree.size),
                    best_formula=str(best.tree),
                    seconds=float(result.seconds),
                )
            )
            key = best.tree.to_dict()
            if key != best_key:
                best_key = key
                self.sink(
                    NewBest(
                        generation=result.generation,
                        search_tau=float(best.search_tau),
                        validation_tau=float(best.validation_tau),
                        size=int(best.tree.size),
                        formula=str(best.tree),
                        tree=key,
                    )
                )
            self.sink(HallOfFameUpdated(rows=rows))
        if self._stop.is_set():
            return "stopped"
        span = meter.start("evaluation")
        self._evaluate_test()
        reading = meter.stop(span)
        self._emit_energy(reading, "evaluation")
        return "completed"

    def _probe_all(self) -> list[DatasetData] | None:
        profile = self.profile
        indices = self.samples.all_indices()
        phase = ProbePhase(
            profile.space_name,
            profile.probe,
            self.device,
            self.sink,
            total=len(indices) * len(profile.benchmark.datasets),
            should_stop=self._checkpoint_wait,
        )
        self.probe_counts = phase.counts
        result = []
        sizes = {"search": len(self.samples.search), "validation": len(self.samples.validation), "test": len(self.samples.test)}
        for dataset in profile.benchmark.datasets:
            table = phase.table(indices, dataset)
            if table is None:
                return None
            accuracy = self.benchmark.accuracy(dataset)
            tables, targets, start = {}, {}, 0
            for name in ("search", "validation", "test"):
                positions = np.arange(start, start + sizes[name])
                start += sizes[name]
                tables[name] = table.subset(positions)
                targets[name] = torch.as_tensor(accuracy[indices[positions]], dtype=torch.float64)
            result.append(DatasetData(dataset, tables, targets))
        return result

    def _evaluate_test(self) -> None:
        from core.baselines import baseline_correlations, baseline_scores
        from core.fitness import kendall_tau_b, spearman_rho
        from core.proxy.evaluate import evaluate_population

        best = self.evolution.best()
        results = {}
        for data in self.data:
            table = data.tables["test"]
            target = data.targets["test"]
            scores = evaluate_population([best.tree], table.to(self.device))[0].cpu()
            tau = float(kendall_tau_b(scores[None, :], target)[0])
            rho = float(spearman_rho(scores[None, :], target)[0])
            baselines = baseline_correlations(baseline_scores(table), target.numpy())
            results[data.dataset] = {
                "n": int(table.num_networks),
                "evolved": {"kendall_tau": tau, "spearman_rho": rho},
                "baselines": {
                    name: {"kendall_tau": _finite_or_none(value[0]), "spearman_rho": _finite_or_none(value[1])}
                    for name, value in baselines.items()
                },
            }
        self.test_results = results

    def _write_report(self) -> None:
        import json

        from core.export import simplified_texts
        from core.report import build_report, render_markdown

        best = self.evolution.best()
        hall = list(self.evolution.hall_of_fame())
        texts = simplified_texts([best.tree] + [e.tree for e in hall], self.profile.export.simplify_timeout)
        best_simplified, hall_simplified = texts[0], texts[1:]
        rundir.atomic_write_json(
            self.run_dir / rundir.BEST_PROXY_FILE,
            {
                "tree": best.tree.to_dict(),
                "formula": str(best.tree),
                "simplified": best_simplified,
                "size": int(best.tree.size),
                "search_tau": float(best.search_tau),
                "validation_tau": float(best.validation_tau),
                "space": self.profile.space_name,
                "datasets": list(self.profile.benchmark.datasets),
                "probe": {"batch_size": self.profile.probe.batch_size, "seed": self.profile.probe.seed},
                "statistics": {
                    "layer": list(self.data[0].tables["search"].layer_statistic_names),
                    "network": list(self.data[0].tables["search"].network_statistic_names),
                },
            },
        )
        rundir.write_hall_of_fame(
            self.run_dir / rundir.HALL_OF_FAME_FILE,
            [
                {
                    "size": int(e.tree.size),
                    "tau_search": f"{e.search_tau:.6f}",
                    "tau_validation": f"{e.validation_tau:.6f}",
                    "formula": str(e.tree),
                    "simplified": text,
                    "tree_json": json.dumps(e.tree.to_dict()),
                }
                for e, text in zip(hall, hall_simplified)
            ],
        )
        report = build_report(self)
        report["best_proxy"]["simplified"] = best_simplified
        rundir.atomic_write_json(self.run_dir / rundir.REPORT_JSON_FILE, report)
        rundir.atomic_write_text(self.run_dir / rundir.REPORT_MD_FILE, render_markdown(report))


class ProbePhase:
    """Probe many networks through the cache, emitting :class:`ProbeProgress` events.

    Shared by the run controller, ``gm probe``, ``gm baselines`` and ``gm eval``.

    Parameters
    ----------
    space : str
        ``tss`` or ``sss``.
    probe : ProbeSettings
        Batch size, seed and cache folder.
    device : str
        Resolved torch device.
    sink : callable
        Receives the progress events (and cache warnings as log events).
    total : int
        Networks the whole phase will handle (for progress and ETA).
    should_stop : callable, optional
        Polled between networks; True stops the phase.
    """

    def __init__(self, space: str, probe: Any, device: str, sink: Callable[[Event], None], total: int, should_stop: Callable[[], bool] | None = None) -> None:
        from core.probe.cache import ProbeCache, default_cache_root

        self.space = space
        self.probe = probe
        self.device = device
        self.sink = sink
        self.total = total
        self.should_stop = should_stop
        self.cache = ProbeCache(Path(probe.cache_dir) if probe.cache_dir else default_cache_root())
        self.counts = {"done": 0, "hits": 0}
        self._start = time.perf_counter()
        self._warned = 0

    def _on_network(self, position: int, arch_index: int, cache_hit: bool, seconds: float) -> None:
        self.counts["done"] += 1
        self.counts["hits"] += int(cache_hit)
        elapsed = time.perf_counter() - self._start
        rate = self.counts["done"] / elapsed if elapsed > 0 else 0.0
        left = self.total - self.counts["done"]
        self.sink(
            ProbeProgress(
                done=self.counts["done"],
                total=self.total,
                cache_hits=self.counts["hits"],
                networks_per_second=rate,
                eta_seconds=left / rate if rate > 0 else None,
            )
        )
        warnings = list(getattr(self.cache, "warnings", []))
        for warning in warnings[self._warned:]:
            self.sink(LogMessage(level="warning", message=warning))
        self._warned = len(warnings)

    def table(self, indices: Any, dataset: str) -> StatisticTable | None:
        """Statistics of the networks ``indices`` on ``dataset``; ``None`` if stopped early."""
        from core.probe import probe_many

        statistics = probe_many(
            self.space,
            [int(i) for i in indices],
            dataset,
            self.probe.batch_size,
            self.probe.seed,
            self.device,
            self.cache,
            on_network=self._on_network,
            should_stop=self.should_stop,
        )
        if len(statistics) < len(indices):
            return None
        return StatisticTable.from_networks(statistics)


def _finite_or_none(value: float) -> float | None:
    """A correlation for JSON: ``None`` where it is undefined (NaN, e.g. a constant proxy)."""
    value = float(value)
    return value if np.isfinite(value) else None


def _sampling_label(samples: Samples) -> str:
    if samples.mode == "random":
        return "random"
    return f"stratified ({samples.stratification}, {samples.strata} strata)"
