"""A saved proxy applied to the networks of any profile's space (``gm eval PROXY --profile P``).

Called by the CLI (``gm eval`` with ``--profile``). Any proxy (a shipped name, a
``best_proxy.json`` or a run directory) is scored on the space a profile names: a built-in
space (``tss``, ``sss``, ``macro``, ``nb101``, a registered plug-in) or a user's own space
(``space = "custom"`` with a CSV and a builder), next to every baseline on the same networks.
The networks are the profile's test sample (``sample="test"``) or every network of the space
(``sample="all"``), less the networks the proxy's own run searched and validated on when it
was designed on this space (:func:`greenmachine.evaluation.evaluate.proxy_own_networks`); they are probed with
the profile's probe settings (batch, seed, device, cache, executor), the batch and seed
optionally overridden. Zero-shot transfer is the point: the proxy need not come from this
space, and a normalised proxy (``normalise`` in its file, e.g. ``universal``) ranks each
statistic within the sample first.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import numpy as np

from greenmachine.errors import ArgumentError, GMError
from greenmachine.events import Event

SAMPLES = ("test", "all")
"""The samples ``gm eval --profile`` scores on."""


def evaluate_proxy_on_profile(
    source: Path | str,
    profile: Any,
    sink: Callable[[Event], None],
    *,
    sample: str = "test",
    dataset: str | None = None,
    batch_size: int | None = None,
    probe_seed: int | None = None,
) -> list[dict[str, Any]]:
    """Score a saved proxy and every baseline on a profile's networks, one result per dataset.

    Parameters
    ----------
    source : Path or str
        A shipped proxy's name, a ``best_proxy.json`` file or a run directory.
    profile : greenmachine.settings.profile.Profile
        A single-space profile (no ``benchmark.tasks``): its space, datasets, sampling and
        probe settings.
    sink : callable
        Receives the probe's progress events.
    sample : str
        ``"test"``: the profile's test sample; ``"all"``: every network of the space.
        Either way without the proxy's own search and validation networks.
    dataset : str, optional
        Only this dataset (one of the profile's); default every dataset of the profile.
    batch_size, probe_seed : int, optional
        Override the profile's probe batch and seed.

    Returns
    -------
    list of dict
        Per dataset: ``n``, ``space``, ``dataset``, ``ground_truth``, ``sampling`` (with the
        networks excluded and why), ``probe``, ``proxy`` (formula, source, Kendall tau and
        Spearman rho) and ``proxies`` (every baseline's).

    Raises
    ------
    GMError
        A multi-task profile, an unknown sample or dataset, a bad proxy file or a proxy
        naming an unknown statistic (checked before any network is probed), a sample left
        empty by the exclusions.
    """
    from greenmachine.evaluation.evaluate import ProbePhase, evaluate_sample, profile_samples, proxy_own_networks, resolve_device
    from greenmachine.probe.registry import statistic_names
    from greenmachine.proxies import proxy_file
    from greenmachine.proxy.tree import tree_from_dict
    from greenmachine.rundir.directory import BEST_PROXY_FILE, read_proxy_file
    from greenmachine.settings.profile import SEED_LIMIT

    if profile.benchmark.tasks:
        raise GMError("a proxy is scored on the networks of a single-space profile; this one names "
                      "benchmark.tasks (give one task's space and dataset instead)")
    if sample not in SAMPLES:
        raise ArgumentError("{0} must be {choices} on a profile's networks (the profile's sampling draws the test "
                            "networks; sampling.test sets how many), got {value}", "sample",
                            choices=" or ".join(SAMPLES), value=repr(sample))
    datasets = list(profile.benchmark.datasets)
    if dataset is not None:
        if dataset not in datasets:
            raise ArgumentError("{0} {value} is not a dataset of the profile ({datasets})", "dataset",
                                value=repr(dataset), datasets=", ".join(datasets))
        datasets = [dataset]
    if batch_size is not None and batch_size < 1:
        raise ArgumentError("{0} must be at least 1", "batch_size")
    if probe_seed is not None and not 0 <= probe_seed <= SEED_LIMIT:
        raise ArgumentError("{0} must be a whole number 0..{limit}", "probe_seed", limit=SEED_LIMIT)
    location = proxy_file(source)
    path = location / BEST_PROXY_FILE if location.is_dir() else location
    saved = read_proxy_file(path)
    tree_from_dict(saved["tree"], statistic_names("layer"), statistic_names("network"))  # fail before probing
    probe = dataclasses.replace(profile.probe, **{key: value for key, value in
                                                   (("batch_size", batch_size), ("seed", probe_seed))
                                                   if value is not None})
    space = profile.space_name
    benchmark, samples = profile_samples(profile)
    own, own_how = proxy_own_networks(location, saved, space)
    chosen = samples.test if sample == "test" else np.arange(len(benchmark))
    indices = np.setdiff1d(chosen, own)
    if len(indices) < 3:
        raise GMError(f"only {len(indices)} networks are left once the proxy's own {len(own)} are taken out "
                      f"({own_how}); a correlation needs more")
    normalise = saved.get("normalise", "none")
    device = resolve_device(probe.device)
    output = []
    for name in datasets:
        phase = ProbePhase(space, probe, device, sink, total=len(indices), energy_country=profile.energy.country)
        try:
            table = phase.table(indices, name)
        finally:
            phase.close()
        tree = tree_from_dict(saved["tree"], table.layer_statistic_names, table.network_statistic_names)
        accuracy = benchmark.accuracy(name)[indices]
        result = evaluate_sample(table, accuracy, tree, normalise=normalise)
        sampling = {"sample": sample, "profile": profile.source, "excluded": int(len(np.intersect1d(chosen, own))),
                    "excluded_how": own_how}
        if sample == "test":
            sampling.update(mode=samples.mode, stratification=samples.stratification, strata=samples.strata,
                            seed=samples.seed, description=samples.describe().split(":")[0])
        output.append({
            "n": int(len(indices)), "space": space, "dataset": name,
            "ground_truth": benchmark.metric_columns[name], "sampling": sampling,
            "probe": {"batch_size": probe.batch_size, "seed": probe.seed},
            "proxy": {"formula": saved.get("formula"), "simplified": saved.get("simplified"), "source": str(path),
                      **({"normalise": normalise} if normalise != "none" else {}), **result["evolved"]},
            "proxies": result["baselines"],
        })
    return output


__all__ = ["SAMPLES", "evaluate_proxy_on_profile"]
