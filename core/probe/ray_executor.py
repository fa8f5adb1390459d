"""The Ray executor: probe chunks of networks as Ray tasks, on a cluster or a local instance.

Called through :func:`greenmachine.probe.executor_factory.make_executor` (``probe.executor = "ray"``,
``gm probe|run|eval|baselines --executor ray [--address auto|HOST:PORT]``) and by the tests.
Needs the optional extra ``pip install -e ".[ray]"``.

Without an address it starts a local Ray instance (``ray.init(num_cpus=2,
include_dashboard=False)``, or ``num_cpus = probe.workers`` when given), which is how the
tests run it, and imports the probe code in each of its workers (:data:`WARM_MODULES`); with ``auto`` or ``HOST:PORT`` it joins that cluster. Each task runs
:func:`greenmachine.probe.executors.probe_chunk` with one CPU and one torch thread: it writes every
network to the cache folder at the same path on its node (shared file system, or the
driver's machine for a local instance) and returns the statistics, which the driver stores
in its own cache when its copy is missing (a node without the shared folder). Each chunk
returns its wall time and host name; on a node other than the driver's a chunk also returns
a codecarbon estimate of its energy when ``energy`` is on (see :func:`_remote_chunk`). A task
lost with its worker or node is resubmitted by the driver.
"""

from __future__ import annotations

import socket
from typing import Any

from greenmachine.errors import GMError
from greenmachine.probe.executors import ChunkResult, ProbeExecutor, ProbeJob, probe_chunk


def _import_ray():
    try:
        import ray
    except ImportError:
        raise GMError('probe.executor = "ray" needs Ray: pip install -e ".[ray]"') from None
    return ray


def _remote_chunk(job: ProbeJob, indices: list[int], driver_host: str, energy_country: str | None) -> ChunkResult:
    """One chunk in a Ray worker: one torch thread; metered when on another machine than the driver.

    The meter is a codecarbon estimate of this task's span (CPU estimated from the machine's
    TDP share, RAM from its size); it is used only on nodes other than the driver's, whose
    own meter already covers its machine.
    """
    import torch

    torch.set_num_threads(1)
    meter = span = None
    if energy_country and socket.gethostname() != driver_host:
        try:
            from greenmachine.energy import make_meter

            meter = make_meter(True, energy_country)
            span = meter.start("ray-chunk")
        except Exception:  # noqa: BLE001 - no meter on that node: the chunk is still valid, energy unknown
            meter = None
    result = probe_chunk(job, indices)
    if meter is not None:
        try:
            reading = meter.stop(span)
            result.energy_joules = reading.energy_joules
        finally:
            meter.close()
    return result


#: Modules every Ray worker imports before its first chunk (the same as the local pool's
#: forkserver preload), so the first chunk does not pay for them.
WARM_MODULES = ("torch", "greenmachine.probe.engine", "greenmachine.probe.executors_work", "greenmachine.spaces", "greenmachine.benchmark.tables",
                "greenmachine.benchmark.images")


def _warm_worker() -> int:
    """Import the probe code in a Ray worker (one of ``slots`` warm-up tasks); return its pid."""
    import importlib
    import os

    for module in WARM_MODULES:
        importlib.import_module(module)
    return os.getpid()


class RayExecutor(ProbeExecutor):
    """Probe through Ray tasks (see the module docstring).

    Parameters
    ----------
    address : str
        ``""`` (start a local instance), ``"auto"`` or ``"HOST:PORT"`` of a running cluster.
    workers : int
        CPUs of a local instance (``0``: 2); ignored when joining a cluster (its CPUs decide).
    energy_country : str, optional
        Meter chunks on nodes other than the driver's (codecarbon estimate) with this country.
    """

    name = "ray"

    def __init__(self, address: str = "", workers: int = 0, energy_country: str | None = None) -> None:
        super().__init__()
        self.ray = _import_ray()
        self.address = address
        self.energy_country = energy_country
        self._started_here = False
        if not self.ray.is_initialized():
            try:
                if address:
                    self.ray.init(address=address, include_dashboard=False, log_to_driver=False)
                else:
                    self.ray.init(num_cpus=int(workers) if workers > 0 else 2, include_dashboard=False,
                                  log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise GMError(f"cannot start or join Ray at {address or 'a local instance'}: "
                              f"{str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
            self._started_here = True
        self._task = self.ray.remote(num_cpus=1, max_retries=0)(_remote_chunk)
        self.slots = max(1, int(self.ray.cluster_resources().get("CPU", 1)))
        if self._started_here and not address:
            # A local instance's workers are new processes: import the probe code in each
            # now, as the local pool's forkserver does, rather than in the first chunk.
            warm = self.ray.remote(num_cpus=1)(_warm_worker)
            self.ray.get([warm.remote() for _ in range(self.slots)])

    def probe(self, job, indices, cache=None, on_network=None, should_stop=None):
        ray = self.ray
        driver_host = socket.gethostname()

        def submit(job, chunk):
            return self._task.remote(job, list(chunk), driver_host, self.energy_country)

        def wait(handles):
            ready, _ = ray.wait(handles, num_returns=1, timeout=0.2)
            results, lost = [], []
            for handle in ready:
                try:
                    results.append((handle, ray.get(handle)))
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.ObjectLostError, ray.exceptions.TaskUnschedulableError):
                    lost.append(handle)
                except ray.exceptions.RayTaskError as error:
                    cause = error.as_instanceof_cause()
                    raise cause if isinstance(cause, GMError) else error
            if cache is not None:
                for _, result in results:
                    if result.host != driver_host:
                        self._store_missing(job, cache, result)
            return results, lost

        return self._drive(job, indices, cache, on_network, should_stop, submit, wait, self.slots)

    @staticmethod
    def _store_missing(job: ProbeJob, cache: Any, result: ChunkResult) -> None:
        """Write results computed on another node into the driver's cache where absent."""
        import torch

        from greenmachine.benchmark.tables import load_benchmark
        from greenmachine.benchmark.images import image_identity
        from greenmachine.probe.engine import resolve_device
        from greenmachine.probe.executors import job_space

        space = job_space(job)
        benchmark = load_benchmark(space)
        device = torch.device(resolve_device(job.device)).type
        images = image_identity(job.dataset)
        for index, statistics in zip(result.indices, result.statistics):
            if not cache.path(space.cache_name, index, job.dataset, job.batch_size, job.seed, device, images).exists():
                cache.store(space.cache_name, index, job.dataset, job.batch_size, job.seed, statistics,
                            arch=benchmark.arch(index), device=device, images=images)

    def close(self) -> None:
        if self._started_here and self.ray.is_initialized():
            self.ray.shutdown()
            self._started_here = False


__all__ = ["RayExecutor"]
