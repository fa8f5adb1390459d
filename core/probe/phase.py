"""Probing a list of networks through the cache and an executor, with progress events.

Called by :mod:`greenmachine.evaluation.evaluate` (``gm probe``, ``gm baselines``, ``gm eval``), the run
controller (:mod:`greenmachine.run.controller`) and ``gm search``: :class:`ProbePhase` turns the probe
settings into an executor (:mod:`greenmachine.probe.executors`), reports each network as a
:class:`greenmachine.events.ProbeProgress` event (rate, ETA, workers, machines) and each corrupt
cache entry as one warning event, and returns a :class:`greenmachine.stats.table.StatisticTable`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from greenmachine.events import Event, LogMessage, ProbeProgress
from greenmachine.stats.table import StatisticTable


class ProbePhase:
    """Probe many networks through the cache and an executor, emitting :class:`ProbeProgress` events.

    The executor comes from the probe settings (``workers``, ``executor``, ``address``; see
    :func:`greenmachine.probe.executor_factory.make_executor`): one worker probes in this process, more
    use a local process pool, ``ray`` Ray tasks. Progress events arrive as each network (in
    a pool: each chunk) completes, with the phase's rate and ETA and how many workers and
    machines contributed.

    Parameters
    ----------
    space : str
        The search space name.
    probe : ProbeSettings
        Batch size, seed, cache folder and executor settings.
    device : str
        Resolved torch device.
    sink : callable
        Receives the progress events, and one warning :class:`LogMessage` per corrupt cache
        entry (recomputed).
    total : int
        Networks the whole phase will handle (for progress and ETA).
    should_stop : callable, optional
        Polled between networks (in a pool: between chunks); True stops the phase.
    executor : ProbeExecutor, optional
        Use this executor instead of the one the settings describe (the caller closes it).
    energy_country : str, optional
        Country of per-node energy estimates on Ray nodes other than this machine.
    """

    def __init__(self, space: str, probe: Any, device: str, sink: Callable[[Event], None], total: int,
                 should_stop: Callable[[], bool] | None = None, executor: Any = None,
                 energy_country: str | None = None) -> None:
        from greenmachine.probe.cache import ProbeCache, default_cache_root, prepare_cache_root

        self.space = space
        self.probe = probe
        self.device = device
        self.sink = sink
        self.total = total
        self.should_stop = should_stop
        root = prepare_cache_root(Path(probe.cache_dir) if probe.cache_dir else default_cache_root())
        self.cache = ProbeCache(root, on_problem=self._on_cache_problem)
        self.counts = {"done": 0, "hits": 0}
        self._start = time.perf_counter()
        self._executor = executor
        self._owns_executor = executor is None
        self._energy_country = energy_country

    @property
    def executor(self) -> Any:
        """The phase's executor (built from the probe settings on first use)."""
        if self._executor is None:
            from greenmachine.probe.executor_factory import make_executor

            if getattr(self.probe, "executor", "local") == "ray":
                from greenmachine.probe.ray_executor import RayExecutor

                self._executor = RayExecutor(getattr(self.probe, "address", ""), int(getattr(self.probe, "workers", 0)),
                                             energy_country=self._energy_country)
            else:
                self._executor = make_executor("local", int(getattr(self.probe, "workers", 1)), "", self.device)
        return self._executor

    def describe(self) -> dict[str, Any]:
        """Executor name, workers, machines and per-host chunk seconds (for reports)."""
        return self.executor.describe()

    def _on_cache_problem(self, message: str) -> None:
        self.sink(LogMessage(level="warning", message=message))

    def _on_network(self, position: int, arch_index: int, cache_hit: bool, seconds: float) -> None:
        self.counts["done"] += 1
        self.counts["hits"] += int(cache_hit)
        elapsed = time.perf_counter() - self._start
        rate = self.counts["done"] / elapsed if elapsed > 0 else 0.0
        left = self.total - self.counts["done"]
        described = self.executor.describe()
        self.sink(ProbeProgress(done=self.counts["done"], total=self.total, cache_hits=self.counts["hits"],
                                networks_per_second=rate, eta_seconds=left / rate if rate > 0 else None,
                                workers=int(described["workers"]), machines=int(described["machines"])))

    def table(self, indices: Any, dataset: str) -> StatisticTable | None:
        """Statistics of the networks ``indices`` on ``dataset``; ``None`` if stopped early."""
        from greenmachine.probe.executors import ProbeJob, custom_spec
        from greenmachine.spaces import get_space

        job = ProbeJob(self.space, dataset, int(self.probe.batch_size), int(self.probe.seed), self.device,
                       str(self.cache.root), custom=custom_spec(get_space(self.space)))
        executor = self.executor
        try:
            statistics = executor.probe(job, [int(i) for i in indices], self.cache, on_network=self._on_network,
                                        should_stop=self.should_stop)
        finally:
            if self._owns_executor and executor.name == "local":
                executor.close()  # a pool's processes do not outlive the table; Ray stays up until close()
        if len(statistics) < len(indices):
            return None
        return StatisticTable.from_networks(statistics)

    def finish(self) -> None:
        """Close the progress: one last event whose total is the networks actually handled.

        For callers whose ``total`` was an upper bound (``gm search`` counts every guide's
        probes, but guides share networks), so progress ends at 100 % rather than, say, 60/70.
        Nothing is emitted when no network was handled or the total was already exact.
        """
        done = self.counts["done"]
        if done == 0 or done == self.total:
            return
        self.total = done
        elapsed = time.perf_counter() - self._start
        described = self._executor.describe() if self._executor is not None else {"workers": 1, "machines": 1}
        self.sink(ProbeProgress(done=done, total=done, cache_hits=self.counts["hits"],
                                networks_per_second=done / elapsed if elapsed > 0 else 0.0, eta_seconds=0.0,
                                workers=int(described["workers"]), machines=int(described["machines"])))

    def close(self) -> None:
        """Release the executor's workers (when the phase built it)."""
        if self._owns_executor and self._executor is not None:
            self._executor.close()
