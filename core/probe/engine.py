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

Undefined statistics: where a statistic has no meaning for a network (NASWOT and SWAP of a
network without ReLU-family activations; the graph statistics of a model whose forward pass
runs TorchScript or compiled code, see :mod:`greenmachine.probe.passes.graph`; every statistic
of a pass whose network output is not finite) its placeholder value is kept as above and
:attr:`greenmachine.stats.table.NetworkStatistics.undefined` says so and why; scorers give NaN there and
warn (:meth:`greenmachine.proxies.Proxy.scores_of`), and :func:`probe_many` refuses a network whose
logits are not finite.
"""

from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from greenmachine.errors import GMError
from greenmachine.probe import passes
from greenmachine.probe.initialisation import initialise
from greenmachine.probe.registry import (GRASP, LAYER, MAIN, NOISE, OPTIONAL_PASSES, PASSES, STRUCTURE, SYNFLOW,
                                 registered)
from greenmachine.stats.table import NetworkStatistics

#: Statistic filled after all others (it counts their non-finite values).
_COUNTER = "non_finite_value_count"


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one torch intra-op thread, then restore the caller's setting.

    Every probe runs on one thread: some reductions (e.g. a weight's standard deviation)
    differ in the last bits with torch's thread count, so one thread everywhere makes the
    statistics independent of the executor (in-process, pool workers, Ray tasks) and of the
    machine's core count. Parallelism comes from probing several networks at once
    (:mod:`greenmachine.probe.executors`).
    """
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


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
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise GMError(f"probe device {device!r} requested but only {count} CUDA device(s) exist "
                      f"(cuda:0..cuda:{count - 1})")
    return str(resolved)


def build_initialised(space, arch: str, dataset: str, seed: int, device: str | torch.device) -> nn.Module:
    """Build the network of ``arch`` and initialise it with ``seed`` (training mode, on ``device``)."""
    from greenmachine.spaces import build_network

    torch.manual_seed(int(seed))
    model = build_network(space, arch, dataset)
    initialise(model, seed)
    return model.to(device).train()


def evaluate_bank(record: passes.ProbeRecord, grasp: bool = False,
                  ran: set[str] | None = None) -> NetworkStatistics:
    """Evaluate the bank's statistics on ``record``; replace and count non-finite values.

    ``grasp=True`` includes the statistics of the optional GraSP pass. ``ran`` (the passes
    that ran; default all) limits the result to the statistics those passes produce.
    """
    layer_count = len(record.layer_names)
    layer_values: dict[str, np.ndarray] = {}
    network_values: dict[str, float] = {}
    bad = 0
    statistics = {name: statistic for name, statistic in registered(grasp).items()
                  if ran is None or statistic.needs in ran}
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
    undefined = {name: record.broken_passes.get(statistic.needs) or record.undefined[name]
                 for name, statistic in statistics.items()
                 if statistic.needs in record.broken_passes or name in record.undefined}
    return NetworkStatistics(tuple(record.layer_names), layer_values, network_values, undefined)


def output_failure(statistics: NetworkStatistics) -> str | None:
    """Why the network's logits made the main pass meaningless (not finite), else None."""
    return statistics.undefined.get("cross_entropy_loss")


def passes_for(statistics) -> set[str]:
    """Return the passes that produce ``statistics`` (names), the structure pass always included.

    ``non_finite_value_count`` counts the non-finite values of every other statistic, so
    asking for it asks for every pass of the default bank.

    Raises
    ------
    GMError
        For a name that is not a registered statistic.
    """
    bank = registered(grasp=True)
    unknown = sorted(name for name in statistics if name not in bank)
    if unknown:
        raise GMError(f"unknown statistic(s) {', '.join(unknown)}; see the statistic bank")
    if _COUNTER in statistics:
        return set(PASSES) - set(OPTIONAL_PASSES) | {bank[name].needs for name in statistics}
    return {STRUCTURE} | {bank[name].needs for name in statistics}


def probe_model(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int,
                grasp: bool = False, *, layers: list[tuple[str, nn.Module]] | None = None,
                only: set[str] | None = None) -> NetworkStatistics:
    """Run the passes on an initialised ``model`` with a minibatch already on its device.

    Works on any ``nn.Module`` made of ``Conv2d``/``Linear`` layers (see
    :mod:`greenmachine.spaces.layers` for the conventions).

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
    layers : list of (str, nn.Module), optional
        The weighted layers in execution order; default: taken from a forward pass of one
        image (:func:`greenmachine.spaces.layers.forward_layers`).
    only : set of str, optional
        Run only these passes (see :func:`passes_for`); the statistics of the others are
        absent from the result. Default: every pass (lazy probing runs fewer; each
        statistic's value is the same either way).

    Returns
    -------
    NetworkStatistics

    Raises
    ------
    greenmachine.spaces.layers.LayerError
        A model with no Conv2d/Linear layer, whose forward pass fails, or whose logits are
        not ``(batch, classes)`` with a class for every label.
    GMError
        An empty minibatch, or labels that are not one class index per image.
    """
    if images.dim() < 1 or images.shape[0] < 1:
        raise GMError("the probe needs a minibatch of at least one image; it is empty")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
        raise GMError(f"the probe's minibatch has {images.shape[0]} image(s) but labels of shape "
                      f"{tuple(labels.shape)}: it needs one class index per image")
    with one_thread():
        return _probe_model(model, images, labels, seed, grasp, layers, only)


def _probe_model(model, images, labels, seed, grasp, layers, only) -> NetworkStatistics:
    """:func:`probe_model` on the current torch threads."""
    from greenmachine.probe.passes.graph import DataflowRecorder
    from greenmachine.probe.passes.structure import LayerFlops
    from greenmachine.spaces.layers import WEIGHTED_TYPES, forward_layers

    recorded = graph = None
    if layers is None:
        # the forward pass that finds the layer order also records the structure pass's FLOPs and graph
        with (LayerFlops(module for module in model.modules() if isinstance(module, WEIGHTED_TYPES)) as recorded,
              DataflowRecorder(model) as graph):
            layers = forward_layers(model, images[:1])
    ran = set(PASSES) - set(OPTIONAL_PASSES) | ({GRASP} if grasp else set()) if only is None else {STRUCTURE, *only}
    record = passes.ProbeRecord([name for name, _ in layers], int(images.shape[0]))
    input_shape = (1,) + tuple(images.shape[1:])
    passes.structure_pass(model, layers, input_shape, record, recorded, graph)
    if MAIN in ran:
        passes.main_pass(model, layers, images, labels, record)
    if SYNFLOW in ran:
        passes.synflow_pass(model, input_shape, record, layers)
    if NOISE in ran:
        passes.noise_pass(model, images, seed, record, layers=layers)
    if GRASP in ran:
        passes.grasp_pass(model, layers, images, labels, record)
    model.zero_grad(set_to_none=True)
    return evaluate_bank(record, GRASP in ran, ran)


def _space_layers(space, model: nn.Module):
    """The layer order of a network built by ``space`` (registration order when the space vouches for it)."""
    from greenmachine.spaces import get_space, weighted_layers

    return weighted_layers(model) if get_space(space).layers_in_registration_order else None


def probe_network(space: str, arch: str, dataset: str, batch_size: int, seed: int,
                  device: str = "auto", grasp: bool = False, *, only: set[str] | None = None) -> NetworkStatistics:
    """Probe one network at initialisation on one seeded real minibatch.

    Parameters
    ----------
    space : str or greenmachine.spaces.SearchSpace
        A registered search space (or its name).
    arch : str
        An arch string of that space.
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
    only : set of str, optional
        Run only these passes besides the structure pass (see :func:`probe_model`).

    Returns
    -------
    NetworkStatistics
        Every statistic of the bank (finite float64), or those of ``only``'s passes.

    Raises
    ------
    ArchStringError
        Bad arch string or space.
    GMError
        Unknown dataset or device, missing image file.
    """
    from greenmachine.benchmark.images import minibatch

    resolved = resolve_device(device)
    images, labels = minibatch(dataset, batch_size, seed)
    model = build_initialised(space, arch, dataset, seed, resolved)
    return probe_model(model, images.to(resolved), labels.to(resolved), seed, grasp,
                       layers=_space_layers(space, model), only=only)


def probe_many(space, arch_indices: Sequence[int | str], dataset: str, batch_size: int, seed: int,
               device: str = "auto", cache=None,
               on_network: Callable[[int, int, bool, float], None] | None = None,
               should_stop: Callable[[], bool] | None = None,
               grasp: bool | None = None) -> list[NetworkStatistics]:
    """Probe many networks of a space, through the cache.

    Parameters
    ----------
    space : str or greenmachine.spaces.SearchSpace
        A registered search space (or its name).
    arch_indices : sequence of int or str
        Networks by table index (``0..N-1``) or by arch string (looked up in the space's
        table, so the cache entry is the same either way).
    dataset, batch_size, seed, device
        As :func:`probe_network`; one minibatch serves every network.
    cache : greenmachine.probe.cache.ProbeCache, optional
        Where results are looked up and stored; ``None`` disables caching. The key holds
        the space, index and arch string, dataset, batch, seed, bank version, device type
        and the identity of the image file.
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

    Raises
    ------
    GMError
        Unknown space, dataset, arch string or index; missing data files; a network whose
        logits are not one per class of ``dataset`` (custom spaces) or not finite.
    """
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.benchmark.images import image_identity, minibatch
    from greenmachine.spaces import get_space
    from greenmachine.spaces.layers import LayerError, readable_model

    if grasp is None:
        grasp = bool(getattr(cache, "grasp", False))
    if cache is not None and bool(cache.grasp) != bool(grasp):
        raise ValueError("probe_many: grasp differs from the cache's grasp setting")
    search_space = get_space(space)
    benchmark = load_benchmark(search_space)
    classes = search_space.dataset(dataset).num_classes
    resolved = resolve_device(device)
    images_key = image_identity(dataset) if cache is not None else ""
    batch: tuple[torch.Tensor, torch.Tensor] | None = None
    results: list[NetworkStatistics] = []
    for position, item in enumerate(arch_indices):
        if should_stop is not None and should_stop():
            break
        start = time.perf_counter()
        index = benchmark.index_of(item) if isinstance(item, str) else int(item)
        arch = benchmark.arch(index)
        key = dict(arch=arch, device=torch.device(resolved).type, images=images_key)
        statistics = (cache.load(search_space.cache_name, index, dataset, batch_size, seed, **key)
                      if cache is not None else None)
        hit = statistics is not None
        if not hit:
            if batch is None:
                images, labels = minibatch(dataset, batch_size, seed)
                batch = (images.to(resolved), labels.to(resolved))
            model = build_initialised(search_space, arch, dataset, seed, resolved)
            try:
                if not search_space.layers_in_registration_order:
                    model = readable_model(model, batch[0][:1], classes)
                statistics = probe_model(model, batch[0], batch[1], seed, grasp,
                                         layers=_space_layers(search_space, model))
            except LayerError as error:  # name the network the model is
                raise LayerError(f"{search_space.title}: network {index} ({arch!r}) on {dataset}: {error}") from None
            failure = output_failure(statistics)
            if failure is not None:
                raise GMError(f"{search_space.title}: network {index} ({arch!r}) on {dataset}: {failure}, so its "
                              "statistics would be meaningless")
            if cache is not None:
                cache.store(search_space.cache_name, index, dataset, batch_size, seed, statistics, **key)
        results.append(statistics)
        if on_network is not None:
            on_network(position, index, hit, time.perf_counter() - start)
    return results
