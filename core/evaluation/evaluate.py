"""Scoring a proxy and the baselines on a sample of networks: the one home of evaluation.

Shared by the run controller (``greenmachine.run.controller``: the evolved proxy and the baselines on the
held-out test sample), ``gm eval`` (a saved proxy on a new sample, any dataset) and
``gm baselines`` / ``gm probe`` (the profile's networks). Networks are probed through
:class:`greenmachine.probe.phase.ProbePhase` (cache, executor, progress events).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from greenmachine.errors import ArgumentError, GMError
from greenmachine.events import Event


from greenmachine.probe.engine import resolve_device  # noqa: E402  (the one device resolver)
from greenmachine.probe.phase import ProbePhase  # noqa: E402  (re-exported: the engine and commands use it)


from greenmachine.evaluation.scores import (  # noqa: E402,F401  (re-exported: evaluate's public names)
    finite_or_none,
    proxy_row,
    baseline_rows,
    score_proxy,
    proxy_scores,
    undefined_reason,
    evaluate_sample,
    proxy_degeneracy,
    network_scores,
    sampling_info,
)


def profile_samples(profile: Any) -> tuple[Any, Any]:
    """Load a profile's benchmark and draw its search / validation / test samples.

    The one place the engine, ``gm probe`` and ``gm baselines`` get their networks from.

    Raises
    ------
    GMError
        Unknown space, missing or malformed table, or a table too small for the samples
        (naming the table file).
    """
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.sampling.samples import draw_samples

    benchmark = load_benchmark(profile.space_name)
    samples = draw_samples(benchmark.accuracy(profile.benchmark.datasets[0]), profile.sampling,
                           str(benchmark.source))
    return benchmark, samples


def probe_profile(profile: Any, sink: Callable[[Event], None]) -> ProbePhase:
    """Probe every network of a profile's samples into the cache (``gm probe``; every task's)."""
    if profile.benchmark.tasks:
        from greenmachine.evaluation.tasks import probe_tasks

        return probe_tasks(profile, sink)
    benchmark, samples = profile_samples(profile)
    indices = samples.all_indices()
    phase = ProbePhase(profile.space_name, profile.probe, resolve_device(profile.probe.device), sink,
                       total=len(indices) * len(profile.benchmark.datasets), energy_country=profile.energy.country)
    try:
        for dataset in profile.benchmark.datasets:
            phase.table(indices, dataset)
    finally:
        phase.close()
    return phase


def probe_whole_space(space: str, dataset: str, probe: Any, sink: Callable[[Event], None],
                      should_stop: Callable[[], bool] | None = None) -> ProbePhase:
    """Probe every network of ``space`` on ``dataset`` into the cache (``gm probe --all``).

    Resumable: networks already in the cache are hits. ``probe`` is a
    :class:`greenmachine.settings.profile.ProbeSettings` (batch, seed, device, cache, executor).

    Raises
    ------
    GMError
        Unknown space or dataset, missing data files.
    """
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.spaces import get_space

    search_space = get_space(space)
    search_space.dataset(dataset)
    count = len(load_benchmark(search_space).accuracy(dataset))
    phase = ProbePhase(search_space.name, probe, resolve_device(probe.device), sink, total=count,
                       should_stop=should_stop)
    try:
        phase.table(np.arange(count), dataset)
    finally:
        phase.close()
    return phase


def reference_rows(space: str, indices: np.ndarray, dataset: str, probe: Any, accuracy: np.ndarray,
                   names: Sequence[str] | None = None,
                   cache_dir: str | None = None) -> tuple[dict[str, dict[str, float | None]], list[str]]:
    """Kendall tau, Spearman rho (over the networks it scored) and the top-of-ranking figures
    (a network it failed on ranks last) of the reference baselines (authors' code) on ``indices``.

    Rows are labelled ``"<name> (authors' code)"`` (:attr:`ReferenceBaseline.label`), to sit
    beside the bank rows of :func:`baseline_rows`. Values go through the reference cache
    (``cache_dir``, default :func:`greenmachine.baselines.reference.cache.default_reference_root`);
    ``probe`` gives the batch, seed and device. Returns ``(rows, failure lines)``.
    """
    from greenmachine.baselines.published import rank_correlations
    from greenmachine.baselines.reference import reference_baselines
    from greenmachine.baselines.reference.cache import ReferenceCache
    from greenmachine.baselines.reference.compute import reference_scores

    scores = reference_scores(space, indices, dataset, probe.batch_size, probe.seed, names,
                              resolve_device(probe.device), ReferenceCache(cache_dir))
    accuracy = np.asarray(accuracy, dtype=np.float64)
    entries = reference_baselines()
    rows = {}
    for name, values in scores.values.items():
        finite = np.isfinite(values)
        tau, rho = rank_correlations(values[finite], accuracy[finite])
        rows[entries[name].label] = proxy_row(tau, rho, values, accuracy)  # top figures: failures rank last
    return rows, scores.failures


def profile_baselines(profile: Any, sink: Callable[[Event], None], reference: Sequence[str] | None = None,
                      reference_cache_dir: str | None = None) -> list[dict[str, Any]]:
    """Every baseline on the profile's test sample, one result per dataset or task (``gm baselines``).

    ``reference`` adds the reference baselines (authors' code, :mod:`greenmachine.baselines.reference`)
    of those names (an empty sequence: all of them) as rows beside the bank baselines,
    computed through their own cache (``reference_cache_dir``); None (default) adds none
    (not available for a multi-task profile).
    """
    if profile.benchmark.tasks:
        from greenmachine.evaluation.tasks import task_baselines

        if reference is not None:
            raise ArgumentError("{0}: the reference baselines (authors' code) are not available for a multi-task "
                                "profile (benchmark.tasks); ask for them on one of its tasks", "reference")
        return task_baselines(profile, sink)
    space = profile.space_name
    benchmark, samples = profile_samples(profile)
    device = resolve_device(profile.probe.device)
    output = []
    for dataset in profile.benchmark.datasets:
        phase = ProbePhase(space, profile.probe, device, sink, total=len(samples.test),
                           energy_country=profile.energy.country)
        try:
            table = phase.table(samples.test, dataset)
        finally:
            phase.close()
        result = evaluate_sample(table, benchmark.accuracy(dataset)[samples.test])
        output.append({
            "n": result["n"], "top_sizes": result["top_sizes"], "space": space, "dataset": dataset, "ground_truth": benchmark.metric_columns[dataset],
            "sample": "test",
            "sampling": {**sampling_info(samples.mode, samples.stratification, samples.strata, samples.seed),
                         **samples.sampling_record()},
            "sampling_description": samples.test_sampling(),
            "probe": {"batch_size": profile.probe.batch_size, "seed": profile.probe.seed},
            "proxies": result["baselines"],
        })
        if reference is not None:
            rows, failures = reference_rows(space, samples.test, dataset, profile.probe,
                                            benchmark.accuracy(dataset)[samples.test], list(reference) or None,
                                            reference_cache_dir)
            output[-1]["proxies"] = {**output[-1]["proxies"], **rows}
            output[-1]["reference_failures"] = failures
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
    probe_seed: int | None = None,
    device: str = "auto",
    workers: int = 0,
    executor: str = "local",
    address: str = "",
) -> dict[str, Any]:
    """Score a saved proxy on a new sample next to the baselines (``gm eval``).

    On the proxy's own space, the networks its run searched and validated on are never
    part of the sample (see :func:`proxy_own_networks`); ``sample="all"`` is every other
    network of the space (``n`` is then ignored).

    Parameters
    ----------
    source : Path
        A ``best_proxy.json`` file or a run directory.
    space, dataset : str, optional
        Default: the proxy file's space and its first dataset.
    sample, n, seed, stratification, strata :
        How the sample is drawn (``sample``: ``random``, ``stratified`` or ``all``).
    batch_size : int, optional
        Probe batch (default: the proxy's).
    probe_seed : int, optional
        Probe seed, the minibatch and the initial weights (default: the proxy's): scoring at
        another seed than the proxy was evolved with measures its sensitivity to that seed.
    workers, executor, address :
        The probe executor (as ``probe.workers`` / ``probe.executor`` / ``probe.address``).

    Raises
    ------
    GMError
        A bad option, a bad proxy file, a proxy naming an unknown statistic or one whose root
        is not network-typed (checked before any network is probed).

    Returns
    -------
    dict
        ``n``, ``space``, ``dataset``, ``ground_truth``, ``sampling``, ``probe``, ``proxy``
        (the evaluated tree's ``formula``, the file's ``simplified`` text when it describes that
        tree, ``kendall_tau`` and ``spearman_rho``: ``None`` where undefined, with the reason in
        ``undefined``), ``proxies`` (the baselines) and ``warnings`` (lines for the user).
    """
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.probe.registry import statistic_names
    from greenmachine.proxy.tree import check_proxy, tree_from_dict
    from greenmachine.rundir.directory import BEST_PROXY_FILE, read_proxy_file
    from greenmachine.sampling.samples import draw_sample
    from greenmachine.settings.profile import SEED_LIMIT, ProbeSettings, profile_from_mapping

    from greenmachine.proxies import proxy_file

    source = proxy_file(source)
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
         "sampling": {"mode": "random" if sample == "all" else sample, "stratification": stratification,
                      "strata": strata, "seed": seed}},
        source="the evaluation options",
    )
    space = options.space_name
    if n < 10:
        raise ArgumentError("{0} must be at least 10", "n")
    if batch_size is not None and batch_size < 1:
        raise ArgumentError("{0} must be at least 1", "batch_size")
    if probe_seed is not None and not 0 <= probe_seed <= SEED_LIMIT:
        raise ArgumentError("{0} must be a whole number 0..{limit}", "probe_seed", limit=SEED_LIMIT)
    if seed < 0:
        raise ArgumentError("{0} must be zero or more", "seed")
    # fail before probing: unknown statistics, and a root that gives no single score per network
    check_proxy(tree_from_dict(saved["tree"], statistic_names("layer"), statistic_names("network")))
    probe_info = saved.get("probe") or {}
    probe = ProbeSettings(batch_size=batch_size or int(probe_info.get("batch_size", 64)),
                          seed=int(probe_info.get("seed", 0)) if probe_seed is None else int(probe_seed),
                          workers=workers, executor=executor, address=address)
    benchmark = load_benchmark(space)
    accuracy_all = benchmark.accuracy(dataset)
    available = np.ones(len(accuracy_all), bool)
    own, own_how = proxy_own_networks(source, saved, space)
    available[own] = False
    if sample == "all":
        indices = np.flatnonzero(available)
    else:
        indices = draw_sample(accuracy_all, n, sample, np.random.default_rng(seed), available, strata, stratification)
    phase = ProbePhase(space, probe, resolve_device(device), sink, total=len(indices))
    try:
        table = phase.table(indices, dataset)
    finally:
        phase.close()
    tree = tree_from_dict(saved["tree"], table.layer_statistic_names, table.network_statistic_names)
    normalise = saved.get("normalise", "none")
    accuracy = accuracy_all[indices]
    result = evaluate_sample(table, accuracy)  # the baselines and the top sizes
    # a measurement: an undefined correlation is nan (None in JSON) with the reason, never the
    # fitness's worst value -1 printed as if measured
    evolved = score_proxy(tree, table, accuracy, normalise=normalise, invalid=float("nan"))
    evolved.update(kendall_tau=finite_or_none(evolved["kendall_tau"]),
                   spearman_rho=finite_or_none(evolved["spearman_rho"]))
    warnings = []
    degenerate = proxy_degeneracy(tree, table, normalise, f"proxy {path}", [f"network {int(i)}" for i in indices])
    if evolved["kendall_tau"] is None:
        reason = undefined_reason(proxy_scores(tree, table, normalise=normalise)) or "the accuracies are all equal"
        evolved["undefined"] = reason
        # one warning: why the correlation is undefined, and (when known) the statistic behind it
        warnings.append(f"the proxy's Kendall tau and Spearman rho are undefined on this sample: {reason}"
                        + (f"; {degenerate.message}" if degenerate is not None else ""))
    elif degenerate is not None:  # a tau of meaningless scores: say so, and which statistic made them
        warnings.append(degenerate.message)
    if degenerate is not None:
        from greenmachine.events import LogMessage

        sink(LogMessage(level="warning", message=warnings[-1]))
    # the label is the tree evaluated; the file's stored texts only where they describe that tree
    formula = str(tree)
    stored = saved.get("formula")
    simplified = saved.get("simplified") if stored == formula else None
    if stored is not None and stored != formula:
        warnings.append(f"the file's formula text {stored!r} is not its tree; the tree was evaluated: {formula}")
    sampling = sampling_info(sample, stratification, strata, seed)
    if sample == "all":
        sampling.update(seed=None, stratification=None, strata=None)
    sampling.update(excluded=int(len(own)), excluded_how=own_how)
    return {
        "n": int(len(indices)), "top_sizes": result["top_sizes"], "space": space, "dataset": dataset, "ground_truth": benchmark.metric_columns[dataset],
        "sampling": sampling,
        "probe": {"batch_size": probe.batch_size, "seed": probe.seed},
        "proxy": {"formula": formula, "simplified": simplified, "source": str(path),
                  **({"normalise": normalise, "tasks": list(saved.get("tasks") or [])} if normalise != "none"
                     or saved.get("tasks") else {}),
                  **evolved},
        "proxies": result["baselines"],
        "warnings": warnings,
    }


def proxy_own_networks(source: Path, saved: Mapping[str, Any], space: str) -> tuple[np.ndarray, str]:
    """The search and validation networks of a saved proxy's own run, on ``space``.

    Found, in order, from: the run directory's ``profile.toml`` (``source`` is a run directory
    or a ``best_proxy.json`` inside one), whose samples are drawn again exactly as the run drew
    them (:func:`profile_samples`); else the proxy file's ``provenance.sampling`` (shipped
    proxies), drawn again with the same settings. A proxy of another space, or one whose run
    cannot be traced, excludes nothing.

    Returns
    -------
    (numpy.ndarray, str)
        Sorted table indices, and one line saying where they came from.
    """
    from greenmachine.rundir.directory import PROFILE_FILE, RunDirectory
    from greenmachine.sampling.samples import draw_samples
    from greenmachine.settings.profile import SamplingSettings

    source = Path(source)
    folder = source if source.is_dir() else source.parent
    if (folder / PROFILE_FILE).is_file():
        profile = RunDirectory(folder).read_profile()
        if profile.benchmark.tasks:
            from greenmachine.sampling.tasks import own_networks

            return own_networks(profile, space), f"the run's tasks' search and validation samples on {space} " \
                f"({folder / PROFILE_FILE})"
        if profile.space_name != space:
            return np.zeros(0, dtype=np.int64), f"none: the proxy's run searched space {profile.space_name}"
        _, samples = profile_samples(profile)
        own = np.union1d(samples.search, samples.validation)
        return own, f"the run's search and validation samples ({folder / PROFILE_FILE})"
    provenance = saved.get("provenance") if isinstance(saved.get("provenance"), Mapping) else {}
    drawn = provenance.get("sampling") if isinstance(provenance.get("sampling"), Mapping) else None
    if drawn is None or not isinstance(drawn.get("sizes"), Mapping):
        return np.zeros(0, dtype=np.int64), "none: no run directory or sampling provenance to trace the proxy's run"
    if isinstance(provenance.get("tasks"), list):
        from greenmachine.sampling.tasks import own_networks_from_provenance

        return own_networks_from_provenance(provenance, drawn, space)
    if (provenance.get("space") or saved.get("space")) != space:
        return np.zeros(0, dtype=np.int64), "none: the proxy's run searched another space"
    try:
        settings = SamplingSettings(mode=str(drawn["mode"]), stratification=str(drawn.get("stratification") or "equal_width"),
                                    strata=int(drawn.get("strata") or 10), search=int(drawn["sizes"]["search"]),
                                    validation=int(drawn["sizes"]["validation"]), test=int(drawn["sizes"]["test"]),
                                    seed=int(drawn["seed"]), labels=int(drawn.get("labels") or 0))
        stratified_on = str(drawn.get("stratified_on") or (saved.get("datasets") or ["cifar10"])[0])
    except (KeyError, TypeError, ValueError) as error:
        raise GMError(f"the proxy file's provenance.sampling is malformed ({error})") from None
    from greenmachine.benchmark.tables import load_benchmark

    benchmark = load_benchmark(space)
    samples = draw_samples(benchmark.accuracy(stratified_on), settings, str(benchmark.source))
    return np.union1d(samples.search, samples.validation), "the proxy's provenance.sampling, drawn again"


def rank_rows(rows: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """Rows by decreasing Kendall tau (undefined last)."""
    return sorted(rows.items(), key=lambda item: -(item[1]["kendall_tau"] if item[1]["kendall_tau"] is not None else -2))


__all__: Sequence[str] = (
    "ProbePhase", "baseline_rows", "evaluate_sample", "evaluate_saved_proxy", "finite_or_none", "probe_profile",
    "probe_whole_space", "profile_baselines", "proxy_own_networks", "proxy_row", "proxy_scores", "rank_rows",
    "reference_rows", "resolve_device", "sampling_info", "score_proxy", "undefined_reason",
)
