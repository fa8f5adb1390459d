"""Reference baselines over networks of a benchmark space, through their own cache.

Called by :func:`greenmachine.evaluation.evaluate.reference_rows` (``gm baselines --reference``),
``scripts/reference_baselines_tau.py`` and the tests. In-process and one torch thread (as the
probe, :func:`greenmachine.probe.engine.one_thread`); every network is built and initialised as the
probe builds it (:func:`greenmachine.probe.engine.build_initialised`), so the bank and the reference
baselines see the same weights and the same seeded real minibatch. Never prints; progress
goes to ``on_network``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from greenmachine.errors import GMError


@dataclass
class ReferenceScores:
    """Reference-baseline values of a list of networks.

    Attributes
    ----------
    indices : numpy.ndarray
        Table indices of the networks, in order.
    values : dict of str -> numpy.ndarray
        Baseline name -> ``(N,)`` float64 values (NaN where a computation failed).
    seconds : dict of str -> numpy.ndarray
        Baseline name -> ``(N,)`` seconds the value took when it was computed (cached ones
        keep the time stored with them).
    hits, misses : int
        Networks whose values all came from the cache / needed at least one computation.
    failures : list of str
        One line per failed computation (network and baseline).
    """

    indices: np.ndarray
    values: dict[str, np.ndarray]
    seconds: dict[str, np.ndarray]
    hits: int = 0
    misses: int = 0
    failures: list[str] = field(default_factory=list)


def resolve_names(names: Sequence[str] | None) -> list[str]:
    """Return the baseline names to compute (default: every registered one), validated.

    Raises
    ------
    GMError
        For an unknown name.
    """
    from greenmachine.baselines.reference.registry import get_reference_baseline, reference_baselines

    if names is None:
        return list(reference_baselines())
    return [get_reference_baseline(name).name for name in names]


def score_network(model, images: torch.Tensor, labels: torch.Tensor, seed: int, names: Sequence[str],
                  known: dict[str, float] | None = None,
                  known_seconds: dict[str, float] | None = None) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Compute reference baselines on one initialised model: ``(values, seconds, failures)``.

    A baseline registered with ``derived_from`` is derived from that baseline's value when it
    is in ``known`` or computed in this call (its seconds are then the base's plus the
    derivation's, what it would cost alone). A baseline that raises gives NaN and one failure
    line; the others still run.
    """
    from greenmachine.probe.engine import one_thread
    from greenmachine.baselines.reference.registry import get_reference_baseline

    entries = [get_reference_baseline(name) for name in names]
    # bases first, so their values can serve the derived baselines
    entries.sort(key=lambda entry: entry.derived_from is not None)
    available = dict(known or {})
    available_seconds = dict(known_seconds or {})
    values, seconds, failures = {}, {}, []
    with one_thread():
        for entry in entries:
            start = time.perf_counter()
            base = entry.derived_from
            try:
                if base is not None and math.isfinite(available.get(base, math.nan)):
                    value = float(entry.derive(model, available[base]))
                    extra = available_seconds.get(base, 0.0)
                else:
                    value, extra = float(entry.function(model, images, labels, seed)), 0.0
            except (RuntimeError, ValueError) as error:
                value, extra = math.nan, 0.0
                failures.append(f"{entry.name}: {type(error).__name__}: {' '.join(str(error).split())[:200]}")
            values[entry.name] = available[entry.name] = value
            seconds[entry.name] = available_seconds[entry.name] = time.perf_counter() - start + extra
    return {name: values[name] for name in names}, {name: seconds[name] for name in names}, failures


def reference_scores(space, arch_indices: Sequence[int | str], dataset: str, batch_size: int, seed: int,
                     names: Sequence[str] | None = None, device: str = "auto", cache=None,
                     on_network: Callable[[int, int, bool, float], None] | None = None) -> ReferenceScores:
    """Reference-baseline values of networks of a space, through the cache.

    Parameters
    ----------
    space : str or greenmachine.spaces.SearchSpace
        A registered search space (or its name).
    arch_indices : sequence of int or str
        Networks by table index or arch string.
    dataset, batch_size, seed, device
        As :func:`greenmachine.probe.probe_network`: one seeded minibatch serves every network, the
        seed also initialises the weights and seeds the baselines' own draws.
    names : sequence of str, optional
        Baselines to compute (default every registered one).
    cache : greenmachine.baselines.reference.cache.ReferenceCache, optional
        Where values are looked up and stored; None disables caching.
    on_network : callable, optional
        Called after each network with ``(position, arch index, all cached, seconds)``.

    Returns
    -------
    ReferenceScores

    Raises
    ------
    GMError
        Unknown space, dataset, arch string, index or baseline; missing data files.
    """
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.benchmark.images import image_identity, minibatch
    from greenmachine.probe.engine import build_initialised, resolve_device
    from greenmachine.spaces import get_space
    from greenmachine.spaces.layers import readable_model

    selected = resolve_names(names)
    search_space = get_space(space)
    benchmark = load_benchmark(search_space)
    classes = search_space.dataset(dataset).num_classes
    resolved = resolve_device(device)
    images_key = image_identity(dataset) if cache is not None else ""
    indices = np.array([benchmark.index_of(item) if isinstance(item, str) else int(item) for item in arch_indices],
                       dtype=np.int64)
    if len(indices) and (indices.min() < 0 or indices.max() >= len(benchmark.arch_strings)):
        raise GMError(f"network index out of range for {search_space.name} (0..{len(benchmark.arch_strings) - 1})")
    result = ReferenceScores(indices, {n: np.full(len(indices), np.nan) for n in selected},
                             {n: np.full(len(indices), np.nan) for n in selected})
    batch = None
    for position, index in enumerate(indices):
        start = time.perf_counter()
        arch = benchmark.arch(int(index))
        key = dict(arch=arch, device=torch.device(resolved).type, images=images_key)
        values, seconds = ({}, {}) if cache is None else cache.load_values(
            search_space.cache_name, int(index), dataset, batch_size, seed, **key)
        missing = [name for name in selected if name not in values]
        if missing:
            if batch is None:
                images, labels = minibatch(dataset, batch_size, seed)
                batch = (images.to(resolved), labels.to(resolved))
            model = build_initialised(search_space, arch, dataset, seed, resolved)
            if not search_space.layers_in_registration_order:
                model = readable_model(model, batch[0][:1], classes)
            new_values, new_seconds, failures = score_network(model, batch[0], batch[1], seed, missing, values, seconds)
            result.failures.extend(f"network {int(index)}: {line}" for line in failures)
            values.update(new_values)
            seconds.update(new_seconds)
            if cache is not None:
                finite = {name: value for name, value in values.items() if math.isfinite(value)}
                cache.store_values(search_space.cache_name, int(index), dataset, batch_size, seed, finite,
                                   {name: seconds[name] for name in finite}, **key)
            result.misses += 1
        else:
            result.hits += 1
        for name in selected:
            result.values[name][position] = values[name]
            result.seconds[name][position] = seconds.get(name, math.nan)
        if on_network is not None:
            on_network(position, int(index), not missing, time.perf_counter() - start)
    return result
