"""The work a probe executor sends out: jobs, chunks and what a worker returns.

Called by :mod:`greenmachine.probe.executors` (the driver side) and run inside pool processes and
Ray workers (:func:`probe_chunk`). Everything here is plain, picklable data or a top-level
function, so it reaches any worker process.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass(frozen=True)
class ProbeJob:
    """What every network of one call shares (all plain data, so it pickles to any worker).

    ``space`` is a registered space name; ``custom`` holds ``(table, builder, datasets)`` for
    a custom space so a fresh worker process can register it. ``device`` is resolved
    (``cpu``, ``cuda`` or ``cuda:i``); ``cache_root`` ``None`` disables the cache.
    """

    space: str
    dataset: str
    batch_size: int
    seed: int
    device: str = "cpu"
    cache_root: str | None = None
    grasp: bool = False
    custom: tuple | None = None


def job_space(job: ProbeJob):
    """The search space of ``job`` (a custom space registered in this process on first use)."""
    from greenmachine.spaces import UnknownSpaceError, get_space

    try:
        return get_space(job.space)
    except UnknownSpaceError:
        if job.custom is None:
            raise
    from greenmachine.spaces.custom import custom_space

    table, builder, datasets = job.custom
    return custom_space(table, builder, tuple(datasets))


def custom_spec(space) -> tuple | None:
    """``(table, builder, datasets)`` of a custom space object, ``None`` for any other space."""
    table = getattr(space, "table", None)
    if table is None or not hasattr(space, "builder_file"):
        return None
    return (str(table), f"{space.builder_file}:{space.builder_function}", tuple(space.datasets))


@dataclass
class ChunkResult:
    """What a worker returns for one chunk (plain data, pickled back to the driver)."""

    indices: list[int]
    statistics: list[Any]
    hits: list[bool]
    seconds: list[float]
    wall_seconds: float
    host: str
    process: int
    problems: list[str] = field(default_factory=list)
    energy_joules: float | None = None
    cpu_seconds: float = 0.0


def probe_chunk(job: ProbeJob, indices: Sequence[int], cache_writes: bool = True,
                should_stop: Any = None) -> ChunkResult:
    """Probe ``indices`` of ``job`` in this process and write each to the cache (worker side).

    ``should_stop`` (optional, polled between networks) ends the chunk early: the result then
    holds the networks probed so far (``statistics`` shorter than ``indices``).
    """
    from greenmachine.probe.cache import ProbeCache
    from greenmachine.probe.engine import probe_many

    start = time.perf_counter()
    cpu_start = time.process_time()
    problems: list[str] = []
    cache = (ProbeCache(job.cache_root, on_problem=problems.append, grasp=job.grasp)
             if job.cache_root is not None and cache_writes else None)
    hits: list[bool] = []
    seconds: list[float] = []

    def record(position: int, index: int, hit: bool, taken: float) -> None:
        hits.append(bool(hit))
        seconds.append(float(taken))

    statistics = probe_many(job_space(job), [int(i) for i in indices], job.dataset, job.batch_size, job.seed,
                            job.device, cache, on_network=record, should_stop=should_stop, grasp=job.grasp)
    return ChunkResult([int(i) for i in indices], statistics, hits, seconds, time.perf_counter() - start,
                       socket.gethostname(), os.getpid(), problems, cpu_seconds=time.process_time() - cpu_start)


def _worker_start(devices: Any = None, stop: Any = None, driver: int | None = None) -> None:
    """Pool worker initialiser: one torch thread, Ctrl-C left to the driver, one GPU each.

    ``stop`` is the pool's shared event: set by the driver, it ends each chunk in progress
    after its current network (a stop or Ctrl-C then waits for one network, not a chunk).
    ``driver`` is the driver's process id: a worker whose driver is gone (killed with
    SIGKILL, so it could not shut the pool down) exits within a second instead of probing
    on as an orphan; the forkserver and resource tracker then end with it.
    """
    import signal
    import threading

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    global _WORKER_DEVICE, _STOP
    if devices is not None:
        _WORKER_DEVICE = devices.get()
    _STOP = stop
    if driver is not None:
        threading.Thread(target=_exit_without_driver, args=(int(driver),), name="gm-driver-watch", daemon=True).start()


def _exit_without_driver(driver: int, interval: float = 0.5) -> None:
    """Poll the driver process; end this worker at once when it is gone."""
    while True:
        time.sleep(interval)
        try:
            os.kill(driver, 0)
        except ProcessLookupError:
            os._exit(1)
        except OSError:
            pass  # e.g. EPERM: the process exists


_WORKER_DEVICE: str | None = None
_STOP: Any = None


def _stop_requested() -> bool:
    return _STOP is not None and _STOP.is_set()


def _pool_chunk(job: ProbeJob, indices: Sequence[int]) -> ChunkResult:
    if _WORKER_DEVICE is not None:
        from dataclasses import replace

        job = replace(job, device=_WORKER_DEVICE)
    return probe_chunk(job, indices, should_stop=_stop_requested)


__all__ = ["ChunkResult", "ProbeJob", "custom_spec", "job_space", "probe_chunk"]
