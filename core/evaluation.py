"""Scoring a proxy and the baselines on a sample of networks: the one home of evaluation.

Shared by the run controller (``core.engine``: the evolved proxy and the baselines on the
held-out test sample), ``gm eval`` (a saved proxy on a new sample, any dataset) and
``gm baselines`` / ``gm probe`` (the profile's networks). :class:`ProbePhase` probes
networks through the cache with progress events; corrupt cache entries become one warning
event each.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from core.errors import GMError
from core.events import Event, LogMessage, ProbeProgress
from core.table import StatisticTable


from core.probe.engine import resolve_device  # noqa: E402  (the one device resolver)


class ProbePhase:
    """Probe many networks through the cache, emitting :class:`ProbeProgress` events.

    Parameters
    ----------
    space : str
        The search space name.
    probe : ProbeSettings
        Batch size, seed and cache folder.
    device : str
        Resolved torch device.
    sink : callable
        Receives the progress events, and one warning :class:`LogMessage` per corrupt cache
        entry (recomputed).
    total : int
        Networks the whole phase will handle (for progress and ETA).
    should_stop : callable, optional
        Polled between networks; True stops the phase.
    """

    def __init__(self, space: str, probe: Any, device: str, sink: Callable[[Event], None], total: int,
                 should_stop: Callable[[], bool] | None = None) -> None:
        from core.probe.cache import ProbeCache, default_cache_root

        self.space = space
        self.probe = probe
        self.device = device
        self.sink = sink
        self.total = total
        self.should_stop = should_stop
        root = Path(probe.cache_dir) if probe.cache_dir else default_cache_root()
        self.cache = ProbeCache(root, on_problem=self._on_cache_problem)
        self.counts = {"done": 0, "hits": 0}
        self._start = time.perf_counter()

    def _on_cache_problem(self, message: str) -> None:
        self.sink(LogMessage(level="warning", message=message))

    def _on_network(self, position: int, arch_index: int, cache_hit: bool, seconds: float) -> None:
        self.counts["done"] += 1
        self.counts["hits"] += int(cache_hit)
        elapsed = time.perf_counter() - self._start
        rate = self.counts["done"] / elapsed if elapsed > 0 else 0.0
        left = self.total - self.counts["done"]
        self.sink(ProbeProgress(done=self.counts["done"], total=self.total, cache_hits=self.counts["hits"],
                                networks_per_second=rate, eta_seconds=left / rate if rate > 0 else None))

    def table(self, indices: Any, dataset: str) -> StatisticTable | None:
        """Statistics of the networks ``indices`` on ``dataset``; ``None`` if stopped early."""
        from core.probe import probe_many

        statistics = probe_many(self.space, [int(i) for i in indices], dataset, self.probe.batch_size,
                                self.probe.seed, self.device, self.cache, on_network=self._on_network,
                                should_stop=self.should_stop)
        if len(statistics) < len(indices):
            return None
        return StatisticTable.from_networks(statistics)


def finite_or_none(value: float) -> float | None:
    """A correlation for JSON: ``None`` where it is undefined (NaN, e.g. a constant proxy)."""
    value = float(value)
    return value if np.isfinite(value) else None


def baseline_rows(table: StatisticTable, accuracy: np.ndarray) -> dict[str, dict[str, float | None]]:
    """Kendall tau and Spearman rho of every baseline proxy on ``table``'s networks."""
    from core.baselines import baseline_correlations, baseline_scores

    correlations = baseline_correlations(baseline_scores(table), np.asarray(accuracy, dtype=np.float64))
    return {name: {"kendall_tau": finite_or_none(v[0]), "spearman_rho": finite_or_none(v[1])}
            for name, v in correlations.items()}


def score_proxy(tree: Any, table: StatisticTable, accuracy: Any, device: str = "cpu") -> dict[str, float]:
    """Kendall tau and Spearman rho of one proxy tree on ``table``'s networks."""
    from core.fitness import kendall_tau_b, spearman_rho
    from core.proxy.evaluate import evaluate_population

    target = torch.as_tensor(np.asarray(accuracy), dtype=torch.float64)
    scores = evaluate_population([tree], table.to(device))[0].cpu()
    return {"kendall_tau": float(kendall_tau_b(scores[None, :], target)[0]),
            "spearman_rho": float(spearman_rho(scores[None, :], target)[0])}


def evaluate_sample(table: StatisticTable, accuracy: Any, tree: Any = None, device: str = "cpu") -> dict[str, Any]:
    """The proxy (when given) and every baseline on one sample: ``{n, evolved?, baselines}``."""
    result: dict[str, Any] = {"n": int(table.num_networks)}
    if tree is not None:
        result["evolved"] = score_proxy(tree, table, accuracy, device)
    result["baselines"] = baseline_rows(table, np.asarray(accuracy, dtype=np.float64))
    return result


def network_scores(table: StatisticTable, tree: Any, device: str = "cpu") -> dict[str, np.ndarray]:
    """Every network's score under the proxy ``tree`` (key ``evolved``) and every baseline."""
    from core.baselines import baseline_scores
    from core.proxy.evaluate import evaluate_population

    evolved = evaluate_population([tree], table.to(device))[0].cpu().numpy().astype(np.float64)
    return {"evolved": evolved, **baseline_scores(table)}


def sampling_info(mode: str, stratification: str, strata: int, seed: int) -> dict[str, Any]:
    """The sampling description written next to every correlation."""
    stratified = mode == "stratified"
    return {"mode": mode, "stratification": stratification if stratified else None,
            "strata": strata if stratified else None, "seed": seed}


def profile_samples(profile: Any) -> tuple[Any, Any]:
    """Load a profile's benchmark and draw its search / validation / test samples.

    The one place the engine, ``gm probe`` and ``gm baselines`` get their networks from.

    Raises
    ------
    GMError
        Unknown space, missing or malformed table, or a table too small for the samples
        (naming the table file).
    """
    from core.benchmarks import load_benchmark
    from core.sampling import draw_samples

    benchmark = load_benchmark(profile.space_name)
    samples = draw_samples(benchmark.accuracy(profile.benchmark.datasets[0]), profile.sampling,
                           str(benchmark.source))
    return benchmark, samples


def probe_profile(profile: Any, sink: Callable[[Event], None]) -> ProbePhase:
    """Probe every network of a profile's samples into the cache (``gm probe``)."""
    benchmark, samples = profile_samples(profile)
    indices = samples.all_indices()
    phase = ProbePhase(profile.space_name, profile.probe, resolve_device(profile.probe.device), sink,
                       total=len(indices) * len(profile.benchmark.datasets))
    for dataset in profile.benchmark.datasets:
        phase.table(indices, dataset)
    return phase


def profile_baselines(profile: Any, sink: Callable[[Event], None]) -> list[dict[str, Any]]:
    """Every baseline on the profile's test sample, one result per dataset (``gm baselines``)."""
    space = profile.space_name
    benchmark, samples = profile_samples(profile)
    device = resolve_device(profile.probe.device)
    output = []
    for dataset in profile.benchmark.datasets:
        phase = ProbePhase(space, profile.probe, device, sink, total=len(samples.test))
        table = phase.table(samples.test, dataset)
        result = evaluate_sample(table, benchmark.accuracy(dataset)[samples.test])
        output.append({
            "n": result["n"], "space": space, "dataset": dataset, "ground_truth": benchmark.metric_columns[dataset],
            "sample": "test",
            "sampling": sampling_info(samples.mode, samples.stratification, samples.strata, samples.seed),
            "sampling_description": samples.describe().split(":")[0],
            "probe": {"batch_size": profile.probe.batch_size, "seed": profile.probe.seed},
            "proxies": result["baselines"],
        })
    return output


def evaluate_saved_proxy(
    source: Path,
    sink: Callable[[Event], None],
    *,
    space: str | None = None,
    dataset: str | None = None,
    sample: str = "random",
    n: int = 1000,
    seed: int = 0,
    stratification: str = "equal_width",
    strata: int = 10,
    batch_size: int | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Score a saved proxy on a new sample next to the baselines (``gm eval``).

    Parameters
    ----------
    source : Path
        A ``best_proxy.json`` file or a run directory.
    space, dataset : str, optional
        Default: the proxy file's space and its first dataset.
    sample, n, seed, stratification, strata :
        How the sample is drawn.
    batch_size : int, optional
        Probe batch (default: the proxy's).

    Raises
    ------
    GMError
        A bad option, a bad proxy file or a proxy naming an unknown statistic (checked
        before any network is probed).
    """
    from core.benchmarks import load_benchmark
    from core.probe.registry import statistic_names
    from core.proxy.tree import tree_from_dict
    from core.rundir import BEST_PROXY_FILE, read_proxy_file
    from core.sampling import draw_sample
    from core.settings import ProbeSettings, profile_from_mapping

    source = Path(source)
    path = source / BEST_PROXY_FILE if source.is_dir() else source
    saved = read_proxy_file(path)
    dataset = dataset or (saved.get("datasets") or ["cifar10"])[0]
    benchmark_section = {"space": space or saved.get("space") or "tss", "datasets": [dataset]}
    saved_benchmark = saved.get("benchmark")
    if space is None and isinstance(saved_benchmark, dict) and saved_benchmark.get("table"):
        # a custom space: its table and builder travel in the proxy file
        benchmark_section.update({key: saved_benchmark.get(key) for key in ("space", "table", "builder")})
    options = profile_from_mapping(
        {"benchmark": benchmark_section,
         "sampling": {"mode": sample, "stratification": stratification, "strata": strata, "seed": seed}},
        source="gm eval options",
    )
    space = options.space_name
    if n < 10:
        raise GMError("--n must be at least 10")
    if batch_size is not None and batch_size < 1:
        raise GMError("--batch-size must be at least 1")
    if seed < 0:
        raise GMError("--seed must be zero or more")
    tree_from_dict(saved["tree"], statistic_names("layer"), statistic_names("network"))  # fail before probing
    probe_info = saved.get("probe") or {}
    probe = ProbeSettings(batch_size=batch_size or int(probe_info.get("batch_size", 64)),
                          seed=int(probe_info.get("seed", 0)))
    benchmark = load_benchmark(space)
    accuracy_all = benchmark.accuracy(dataset)
    rng = np.random.default_rng(seed)
    indices = draw_sample(accuracy_all, n, sample, rng, np.ones(len(accuracy_all), bool), strata, stratification)
    table = ProbePhase(space, probe, resolve_device(device), sink, total=len(indices)).table(indices, dataset)
    tree = tree_from_dict(saved["tree"], table.layer_statistic_names, table.network_statistic_names)
    result = evaluate_sample(table, accuracy_all[indices], tree)
    return {
        "n": n, "space": space, "dataset": dataset, "ground_truth": benchmark.metric_columns[dataset],
        "sampling": sampling_info(sample, stratification, strata, seed),
        "probe": {"batch_size": probe.batch_size, "seed": probe.seed},
        "proxy": {"formula": saved.get("formula"), "simplified": saved.get("simplified"), "source": str(path),
                  **result["evolved"]},
        "proxies": result["baselines"],
    }


def rank_rows(rows: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """Rows by decreasing Kendall tau (undefined last)."""
    return sorted(rows.items(), key=lambda item: -(item[1]["kendall_tau"] if item[1]["kendall_tau"] is not None else -2))


__all__: Sequence[str] = (
    "ProbePhase", "baseline_rows", "evaluate_sample", "evaluate_saved_proxy", "finite_or_none", "probe_profile",
    "profile_baselines", "rank_rows", "resolve_device", "sampling_info", "score_proxy",
)
