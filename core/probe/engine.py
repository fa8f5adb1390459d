"""Probe one network or many: build, initialise, run the passes, evaluate the bank.

Called by ``gm probe`` (precomputing the cache), the evolution engine and ``gm baselines``
(through :func:`probe_many`), the benchmark scripts and the tests. Never prints; progress
goes to the ``on_network`` callback.

Initialisation convention (the same for every statistic): before building the network
``torch.manual_seed(seed)`` is set, then every Conv2d/Linear weight is drawn from
``N(0, 2 / fan_out)`` (Kaiming normal, ``mode='fan_out'``, as FreeREA initialises NATS
networks) with a ``torch.Generator`` seeded by ``seed``, biases are 0 and BatchNorm weights
1, biases 0. The same (arch, seed) always gives the same network.

Non-finite values: every statistic is stored as finite float64. NaN and +/-inf (e.g. a
log-determinant of a singular kernel) are replaced by 0 and counted in the network
statistic ``non_finite_value_count``, so proxy formulas only ever see finite inputs.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from core.errors import GMError
from core.probe import passes
from core.probe.initialisation import initialise
from core.probe.registry import LAYER, registered
from core.table import NetworkStatistics

#: Statistic filled after all others (it counts their non-finite values).
_COUNTER = "non_finite_value_count"


def configure_threads() -> int:
    """Cap torch's intra-op threads at the CPUs this process may use; return the count.

    Uses ``os.sched_getaffinity`` where available (containers, taskset), else
    ``os.cpu_count()``. A lower setting chosen by the caller is kept.
    """
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        available = os.cpu_count() or 1
    if torch.get_num_threads() > available:
        torch.set_num_threads(available)
    return torch.get_num_threads()


def resolve_device(device: str | torch.device | None = "auto") -> str:
    """Return the torch device name for ``device``: ``"auto"`` is CUDA when available, else CPU.

    The one device resolver of GreenMachine (the engine, the commands and the probe use it).

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` (or empty / None), ``"cpu"``, ``"cuda"`` or ``"cuda:<i>"``.

    Returns
    -------
    str
        A name ``torch.device`` accepts, e.g. ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.

    Raises
    ------
    GMError
        For an unknown device name or CUDA requested but unavailable.
    """
    if device is None or str(device) in ("auto", ""):
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise GMError(f"unknown probe device {device!r}; use 'auto', 'cpu' or 'cuda'") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise GMError(f"probe device {device!r} requested but CUDA is not available")
    return str(resolved)


def build_initialised(space: str, arch: str, dataset: str, seed: int, device: str | torch.device) -> nn.Module:
    """Build the network of ``arch`` and initialise it with ``seed`` (training mode, on ``device``)."""
    from core.spaces import build_network

    torch.manual_seed(int(seed))
    model = build_network(space, arch, dataset)
    initialise(model, seed)
    return model.to(device).train()


def evaluate_bank(record: passes.ProbeRecord, grasp: bool = False) -> NetworkStatistics:
    """Evaluate the bank's statistics on ``record``; replace and count non-finite values.

    ``grasp=True`` includes the statistics of the optional GraSP pass.
    """
    layer_count = len(record.layer_names)
    layer_values: dict[str, np.ndarray] = {}
    network_values: dict[str, float] = {}
    bad = 0
    statistics = registered(grasp)
    for name, statistic in statistics.items():
        if name == _COUNTER:
            continue
        value = statistic.function(record)
        if statistic.kind == LAYER:
            array = np.array(value, dtype=np.float64, copy=True).reshape(-1)
            if array.shape[0] != layer_count:
                raise RuntimeError(f"statistic {name!r} gave {array.shape[0]} values for {layer_count} layers")
            finite = np.isfinite(array)
            bad += int((~finite).sum())
            array[~finite] = 0.0
            array.setflags(write=False)
            layer_values[name] = array
        else:
            number = float(value)
            if not np.isfinite(number):
                bad += 1
                number = 0.0
            network_values[name] = number
    if _COUNTER in statistics:
        record.network["non_finite_values"] = float(bad)
        network_values[_COUNTER] = float(statistics[_COUNTER].function(record))
    return NetworkStatistics(tuple(record.layer_names), layer_values, network_values)


def probe_model(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int,
                grasp: bool = False) -> NetworkStatistics:
    """Run every pass on an initialised ``model`` with a minibatch already on its device.

    Parameters
    ----------
    model : torch.nn.Module
        Initialised network (see :func:`build_initialised`); BatchNorm running statistics
        are modified, weights are left as they were.
    images, labels : torch.Tensor
        The real minibatch.
    seed : int
        Seed of the noise pass.
    grasp : bool
        Also run the optional GraSP pass (exact Hessian-gradient product, ~3.5 plain
        passes) and include ``grasp`` / ``grasp_total``; default False.

    Returns
    -------
    NetworkStatistics
    """
    from core.spaces import weighted_layers

    layers = weighted_layers(model)
    record = passes.ProbeRecord([name for name, _ in layers], int(images.shape[0]))
    input_shape = (1,) + tuple(images.shape[1:])
    passes.structure_pass(model, layers, input_shape, record)
    passes.main_pass(model, layers, images, labels, record)
    passes.synflow_pass(model, input_shape, record)
    passes.noise_pass(model, images, seed, record)
    if grasp:
        passes.grasp_pass(model, layers, images, labels, record)
    model.zero_grad(set_to_none=True)
    return evaluate_bank(record, grasp)


def probe_network(space: str, arch: str, dataset: str, batch_size: int, seed: int,
                  device: str = "auto", grasp: bool = False) -> NetworkStatistics:
    """Probe one network at initialisation on one seeded real minibatch.

    Parameters
    ----------
    space : str
        ``"tss"`` or ``"sss"``.
    arch : str
        TSS arch string or SSS channel string.
    dataset : str
        ``"cifar10"``, ``"cifar100"`` or ``"ImageNet16-120"``.
    batch_size : int
        Images in the minibatch.
    seed : int
        Seeds the minibatch, the weights and the noise.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:i]"``.
    grasp : bool
        Also run the optional GraSP pass (see :func:`probe_model`).

    Returns
    -------
    NetworkStatistics
        Every statistic of the bank (finite float64).

    Raises
    ------
    ArchStringError
        Bad arch string or space.
    GMError
        Unknown dataset or device, missing image file.
    """
    from core.images import minibatch

    configure_threads()
    resolved = resolve_device(device)
    images, labels = minibatch(dataset, batch_size, seed)
    model = build_initialised(space, arch, dataset, seed, resolved)
    return probe_model(model, images.to(resolved), labels.to(resolved), seed, grasp)


def probe_many(space: str, arch_indices: Sequence[int], dataset: str, batch_size: int, seed: int,
               device: str = "auto", cache=None,
               on_network: Callable[[int, int, bool, float], None] | None = None,
               should_stop: Callable[[], bool] | None = None,
               grasp: bool | None = None) -> list[NetworkStatistics]:
    """Probe many networks of a space (by official index), through the cache.

    Parameters
    ----------
    space, dataset, batch_size, seed, device
        As :func:`probe_network`; one minibatch serves every network.
    arch_indices : sequence of int
        Official NATS-Bench indices.
    cache : core.probe.cache.ProbeCache, optional
        Where results are looked up and stored; ``None`` disables caching.
    on_network : callable, optional
        Called after each network with ``(position, arch index, cache hit, seconds)``.
    should_stop : callable, optional
        Polled before each network; when it returns True the networks done so far are
        returned (a shorter list).
    grasp : bool, optional
        Include the optional GraSP pass; default: the cache's setting, else False.

    Returns
    -------
    list of NetworkStatistics
        In the order of ``arch_indices`` (possibly truncated by ``should_stop``).
    """
    from core.benchmarks import load_benchmark
    from core.images import minibatch

    if grasp is None:
        grasp = bool(getattr(cache, "grasp", False))
    if cache is not None and bool(cache.grasp) != bool(grasp):
        raise ValueError("probe_many: grasp differs from the cache's grasp setting")
    benchmark = load_benchmark(space)
    batch: tuple[torch.Tensor, torch.Tensor] | None = None
    resolved: str | None = None
    results: list[NetworkStatistics] = []
    for position, index in enumerate(arch_indices):
        if should_stop is not None and should_stop():
            break
        start = time.perf_counter()
        index = int(index)
        arch = benchmark.arch(index)
        statistics = cache.load(space, index, dataset, batch_size, seed) if cache is not None else None
        hit = statistics is not None
        if not hit:
            if batch is None:
                configure_threads()
                resolved = resolve_device(device)
                images, labels = minibatch(dataset, batch_size, seed)
                batch = (images.to(resolved), labels.to(resolved))
            model = build_initialised(space, arch, dataset, seed, resolved)
            statistics = probe_model(model, batch[0], batch[1], seed, grasp)
            if cache is not None:
                cache.store(space, index, dataset, batch_size, seed, statistics)
        results.append(statistics)
        if on_network is not None:
            on_network(position, index, hit, time.perf_counter() - start)
    return results
