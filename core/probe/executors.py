"""Executors: probe many networks of one (space, dataset, batch, seed) job through the cache.

Called by :class:`greenmachine.evaluation.evaluate.ProbePhase` (``gm run``, ``gm probe``, ``gm eval``,
``gm baselines``), ``scripts/bench_scaling.py`` and the tests. Three executors share one
interface, :meth:`ProbeExecutor.probe`:

* :class:`InProcessExecutor` (``probe.workers = 1``): :func:`greenmachine.probe.probe_many` in this
  process, network by network (the behaviour before executors existed).
* :class:`LocalPoolExecutor` (``probe.workers = 0`` = every usable CPU, or N): a pool of
  processes (started from a ``forkserver`` that imported torch once) with one torch thread
  each (on CUDA one worker per visible GPU).
* :class:`greenmachine.probe.ray_executor.RayExecutor` (``probe.executor = "ray"``): Ray tasks on a
  cluster (``probe.address``) or on a local Ray instance.

The driver looks every network up in the cache first; only misses are sent out, in chunks
of networks (amortising start-up). Each worker runs :func:`probe_chunk`, which probes with
:func:`greenmachine.probe.probe_many` and writes every network to the shared
:class:`greenmachine.probe.cache.ProbeCache` (atomic writes), so a crashed worker loses at most the
network in progress of its chunk; the driver resubmits a lost chunk (its finished networks
are then cache hits). Two drivers on one cache stay correct: both compute the same bytes and
``os.replace`` makes the last write win. Every executor computes the statistics with the same
code on the same inputs, so they are bit-identical on CPU (tested).

Progress reaches the driver's ``on_network`` callback as chunks complete; ``should_stop`` is
polled before each chunk is sent out and while chunks are in flight. In a local pool a stop
(or closing the pool, e.g. after a second Ctrl-C) cancels the chunks not started and ends the
running ones after their current network; a pool worker whose driver was killed exits by
itself. The executors never print.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, Sequence

from greenmachine.errors import GMError
from greenmachine.probe.executors_work import (ChunkResult, ProbeJob, _pool_chunk, _worker_start, custom_spec, job_space,
                                       probe_chunk)

#: How many times a pool may break (a worker killed) in one call before the driver gives up.
MAX_POOL_FAILURES = 3
#: Largest chunk of networks sent to a worker at once.
MAX_CHUNK = 16


def usable_cpus() -> int:
    """CPUs this process may run on (``os.sched_getaffinity``, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int, device: str = "cpu") -> int:
    """The number of local workers ``probe.workers`` asks for.

    ``0`` means every usable CPU (one per visible GPU on CUDA), unless the environment
    variable ``GM_PROBE_WORKERS`` gives a number (the test suite sets it to 1); ``N > 0`` is
    used as given.
    """
    if workers > 0:
        return int(workers)
    if str(device).startswith("cuda"):
        import torch

        return max(1, torch.cuda.device_count()) if str(device) == "cuda" else 1
    environment = os.environ.get("GM_PROBE_WORKERS", "").strip()
    if environment:
        try:
            value = int(environment)
        except ValueError:
            raise GMError(f"GM_PROBE_WORKERS must be a whole number, got {environment!r}") from None
        if value < 0:
            raise GMError(f"GM_PROBE_WORKERS must be zero or more, got {environment!r}")
        if value > 0:
            return value
    return usable_cpus()


def chunk_size(misses: int, workers: int) -> int:
    """Networks per chunk: about four chunks per worker, at most :data:`MAX_CHUNK`."""
    return max(1, min(MAX_CHUNK, math.ceil(misses / max(1, workers * 4))))



def _unguarded_script_hint() -> str:
    """A hint when the main module is a script file: pool workers import it, so calls to
    greenmachine at its top level (not under ``if __name__ == "__main__":``) run again in every
    worker and kill it. Empty in an interactive session or a notebook (no main file)."""
    import sys

    main = sys.modules.get("__main__")
    if main is None or not getattr(main, "__file__", None) or getattr(main, "__spec__", None) is not None:
        return ""
    if Path(main.__file__).name in ("gm", "__main__.py"):  # the console script, python -m
        return ""
    return (f"; if {main.__file__} calls greenmachine at its top level, put those calls under "
            "'if __name__ == \"__main__\":' (the probe's worker processes import that file), "
            "or probe in this process (probe.workers = 1)")


class ProbeExecutor:
    """Interface: probe a job's networks through the cache; see the module docstring.

    Attributes
    ----------
    machines : dict
        Per host name: ``workers`` (distinct worker processes seen), ``chunks``, ``seconds``
        (summed chunk wall time), ``cpu_seconds`` (summed CPU time of the chunks' processes)
        and ``energy_joules`` (Ray chunks on other machines; else None).
    """

    name = "base"

    def __init__(self) -> None:
        self.machines: dict[str, dict[str, Any]] = {}
        self._processes: dict[str, set[int]] = {}
        #: Chunks lost with a worker and sent out again.
        self.resubmitted = 0

    @property
    def workers(self) -> int:
        """Workers of this executor (what it was asked for, or the processes seen)."""
        return max(1, sum(len(p) for p in self._processes.values()))

    def _account(self, result: ChunkResult) -> None:
        entry = self.machines.setdefault(result.host, {"workers": 0, "chunks": 0, "seconds": 0.0,
                                                       "cpu_seconds": 0.0, "energy_joules": None})
        processes = self._processes.setdefault(result.host, set())
        processes.add(result.process)
        entry["workers"] = len(processes)
        entry["chunks"] += 1
        entry["seconds"] += float(result.wall_seconds)
        entry["cpu_seconds"] += float(result.cpu_seconds)
        if result.energy_joules is not None:
            entry["energy_joules"] = (entry["energy_joules"] or 0.0) + float(result.energy_joules)

    def probe(self, job: ProbeJob, indices: Sequence[int], cache: Any = None,
              on_network: Callable[[int, int, bool, float], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> list[Any]:
        """Statistics of ``indices`` (table indices) in their order; shorter when stopped.

        Parameters
        ----------
        job : ProbeJob
        indices : sequence of int
        cache : ProbeCache, optional
            The driver's view of ``job.cache_root`` (look-ups, problem reports); ``None``
            when the job has no cache.
        on_network : callable, optional
            ``(position, index, cache hit, seconds)`` per network, as results arrive.
        should_stop : callable, optional
            Polled before each chunk is sent out; True stops (in-flight chunks finish).
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (a no-op for executors that own none)."""

    def describe(self) -> dict[str, Any]:
        """``executor``, ``workers``, ``machines`` (count) and the per-host detail."""
        return {"executor": self.name, "workers": self.workers, "machines": max(1, len(self.machines)),
                "hosts": {host: dict(entry) for host, entry in self.machines.items()}}

    # -- the shared driver loop ----------------------------------------------------------------

    def _lookup(self, job: ProbeJob, indices: Sequence[int], cache: Any,
                on_hit: Callable[[int], None] | None = None):
        """Networks already in the cache (index -> statistics; ``on_hit`` called for each as it is
        found) and the indices to compute."""
        from greenmachine.benchmark.tables import load_benchmark
        from greenmachine.benchmark.images import image_identity
        from greenmachine.probe.engine import resolve_device

        space = job_space(job)
        benchmark = load_benchmark(space)
        space.dataset(job.dataset)
        import torch

        device_type = torch.device(resolve_device(job.device)).type
        images = image_identity(job.dataset) if cache is not None else ""
        found: dict[int, Any] = {}
        misses: list[int] = []
        for index in dict.fromkeys(int(i) for i in indices):
            statistics = None
            if cache is not None:
                statistics = cache.load(space.cache_name, index, job.dataset, job.batch_size, job.seed,
                                        arch=benchmark.arch(index), device=device_type, images=images)
            if statistics is None:
                misses.append(index)
            else:
                found[index] = statistics
                if on_hit is not None:
                    on_hit(index)
        return found, misses

    def _drive(self, job: ProbeJob, indices: Sequence[int], cache: Any, on_network, should_stop,
               submit: Callable, wait: Callable, slots: int, on_lost: Callable[[], None] | None = None,
               on_stop: Callable[[dict], None] | None = None) -> list[Any]:
        """Look up, send misses in chunks, collect results in order (shared by every executor).

        ``should_stop`` is polled before each chunk is sent and between waits; on the first
        True, ``on_stop(in_flight)`` (optional) may end the chunks in flight early and drop
        the handles it cancelled.
        """
        indices = [int(i) for i in indices]
        positions = {index: position for position, index in reversed(list(enumerate(indices)))}

        def emit(index: int, hit: bool, seconds: float) -> None:
            if on_network is not None:
                on_network(positions[index], index, hit, seconds)

        found, misses = self._lookup(job, indices, cache, on_hit=lambda index: emit(index, True, 0.0))
        results: dict[int, Any] = dict(found)
        size = chunk_size(len(misses), slots)
        pending = deque(misses[start:start + size] for start in range(0, len(misses), size))
        in_flight: dict[Any, list[int]] = {}
        failures = 0
        stopped = False
        while pending or in_flight:
            if not stopped and should_stop is not None and in_flight and should_stop():
                stopped = True
            while pending and len(in_flight) < 2 * slots and not stopped:
                if should_stop is not None and should_stop():
                    stopped = True
                    break
                chunk = pending.popleft()
                in_flight[submit(job, chunk)] = chunk
            if stopped and on_stop is not None:
                on_stop(in_flight)
                on_stop = None
            if not in_flight:
                break
            finished, lost = wait(list(in_flight))
            for handle, result in finished:
                chunk = in_flight.pop(handle)
                self._account(result)
                if cache is not None:
                    for message in result.problems:
                        _forward(cache, message)
                for index, statistics, hit, seconds in zip(result.indices, result.statistics, result.hits,
                                                           result.seconds):
                    results[index] = statistics
                    emit(index, hit, seconds)
            if lost:
                failures += 1
                if failures > MAX_POOL_FAILURES:
                    raise GMError(f"probe workers died {failures} times (killed, or out of memory?); "
                                  f"networks probed so far are in the cache: rerun to continue"
                                  f"{_unguarded_script_hint()}")
                for handle in lost:
                    pending.appendleft(in_flight.pop(handle))
                    self.resubmitted += 1
                if on_lost is not None:
                    on_lost()
            if stopped and not in_flight:
                break
        ordered = []
        for index in indices:
            if index not in results:
                break
            ordered.append(results[index])
        return ordered


def _forward(cache: Any, message: str) -> None:
    """Pass a worker's cache problem (one line) to the driver's cache reporter."""
    if message in cache.problems:
        return
    cache.problems.append(message)
    if cache.on_problem is not None:
        cache.on_problem(message)


class InProcessExecutor(ProbeExecutor):
    """Probe in this process, network by network (``probe.workers = 1``)."""

    name = "in-process"

    def probe(self, job, indices, cache=None, on_network=None, should_stop=None):
        from greenmachine.probe.engine import probe_many

        start = time.perf_counter()
        cpu_start = time.process_time()
        computed = []

        def record(position: int, index: int, hit: bool, seconds: float) -> None:
            if not hit:
                computed.append(seconds)
            if on_network is not None:
                on_network(position, index, hit, seconds)

        statistics = probe_many(job_space(job), [int(i) for i in indices], job.dataset, job.batch_size, job.seed,
                                job.device, cache, on_network=record, should_stop=should_stop, grasp=job.grasp)
        if computed:
            self._account(ChunkResult([], [], [], [], time.perf_counter() - start, socket.gethostname(),
                                      os.getpid(), cpu_seconds=time.process_time() - cpu_start))
        return statistics


class LocalPoolExecutor(ProbeExecutor):
    """A pool of ``workers`` processes on this machine (one torch thread each).

    On CUDA (``device`` ``"cuda"``) each worker takes one visible GPU. A worker that dies
    (killed, out of memory) breaks the pool: the driver starts a new pool and resubmits the
    chunks that were in flight, at most :data:`MAX_POOL_FAILURES` times per call.
    """

    name = "local"

    def __init__(self, workers: int, device: str = "cpu") -> None:
        super().__init__()
        self.size = max(1, int(workers))
        self.device = device
        self._pool = None
        self._stop = None

    @property
    def workers(self) -> int:
        return self.size

    def _start(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # forkserver: one clean, single-threaded server imports torch and the probe code once,
        # then forks each worker (and any replacement after a crash) cheaply; never fork() the
        # driver itself, whose threads (meter, TUI) and torch thread pools must not be copied.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["torch", "greenmachine.probe.engine", "greenmachine.probe.executors_work", "greenmachine.spaces",
                                        "greenmachine.benchmark.tables", "greenmachine.benchmark.images"])
        devices = None
        if self.device == "cuda":
            devices = context.Queue()
            for number in range(self.size):
                devices.put(f"cuda:{number}")
        if self._stop is None:
            self._stop = context.Event()  # set: the workers end their chunks after the current network
        self._pool = ProcessPoolExecutor(max_workers=self.size, mp_context=context, initializer=_worker_start,
                                         initargs=(devices, self._stop, os.getpid()))
        return self._pool

    def start(self) -> None:
        """Start the pool now and wait until each worker has started (imports done).

        Optional: :meth:`probe` starts the pool on first use. Benchmarks call it so that
        start-up is timed apart from probing, as for the Ray executor's warm-up.
        """
        import os

        pool = self._pool or self._start()
        for future in [pool.submit(os.getpid) for _ in range(self.size)]:
            future.result()

    def pool_processes(self) -> list[int]:
        """Process ids of the pool's workers (for tests that kill one)."""
        return [] if self._pool is None else list(getattr(self._pool, "_processes", {}) or {})

    def probe(self, job, indices, cache=None, on_network=None, should_stop=None):
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_futures
        from concurrent.futures.process import BrokenProcessPool

        def submit(job, chunk):
            pool = self._pool or self._start()
            return pool.submit(_pool_chunk, job, chunk)

        def wait(handles):
            finished, _ = wait_futures(handles, timeout=0.2, return_when=FIRST_COMPLETED)
            results, lost = [], []
            for handle in finished:
                try:
                    results.append((handle, handle.result()))
                except BrokenProcessPool:
                    lost.append(handle)
            if lost:  # the whole pool is broken: every chunk in flight is lost with it
                lost = [h for h in handles if h not in {r[0] for r in results}]
            return results, lost

        def restart():
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

        def stop(in_flight):
            # chunks not started are cancelled; the running ones end after their current network
            if self._stop is not None:
                self._stop.set()
            for handle in list(in_flight):
                if handle.cancel():
                    in_flight.pop(handle)

        if self._stop is not None:
            self._stop.clear()
        return self._drive(job, indices, cache, on_network, should_stop, submit, wait, self.size, restart, stop)

    def close(self) -> None:
        if self._pool is not None:
            if self._stop is not None:
                self._stop.set()  # an abort (a second Ctrl-C) waits for one network per worker, not a chunk
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


__all__ = ["ChunkResult", "InProcessExecutor", "LocalPoolExecutor", "ProbeExecutor", "ProbeJob", "chunk_size",
           "custom_spec", "probe_chunk", "resolve_workers", "usable_cpus"]
