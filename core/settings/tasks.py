"""Several (space, dataset) tasks in one profile, and per-task normalisation of statistics.

Called by :mod:`greenmachine.settings.profile` (validating ``benchmark.tasks``), the multi-task run
controller (:mod:`greenmachine.run.multitask`), :mod:`greenmachine.evolution` (the ``fitness.aggregate`` of
per-task taus), :mod:`greenmachine.evaluation.evaluate` (``gm eval`` of a normalised proxy) and
:class:`greenmachine.proxies.Proxy` (scoring with a normalised proxy).

A *task* is one space and one dataset, written ``"space/dataset"`` (``"tss/cifar10"``).
A profile lists them in ``benchmark.tasks`` instead of ``benchmark.space`` and
``benchmark.datasets``; each task draws its own search / validation / test samples from
its own space's table with the profile's ``[sampling]`` (stratified on its own dataset), and
one formula is evolved against all of them. A profile without ``benchmark.tasks`` has the
tasks ``space/d`` for each of its datasets, sampled together on the first dataset (as a
single-space run always was).

Normalisation (``fitness.normalise``) rewrites every statistic *within the sample being
scored* -- never using accuracy -- so one formula fits spaces whose statistics have
different scales:

* ``rank``: each value becomes its average rank among the sample's values of that
  statistic (every valid layer of every network, for a per-layer statistic), scaled to
  ``(0, 1)`` as ``(rank - 0.5) / count``; NaN stays NaN.
* ``zscore``: ``(value - mean) / standard deviation`` over the sample's finite values of
  that statistic (a constant statistic becomes 0); NaN and infinities stay as they are.

Both are strictly increasing maps of each statistic within one sample, so a normalised
formula scores a *set* of networks, not one network alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from greenmachine.errors import GMError, ProfileError
from greenmachine.stats.fitness import WORST_FITNESS
from greenmachine.stats.table import StatisticTable

NORMALISATIONS = ("none", "rank", "zscore")
"""Accepted values of ``fitness.normalise``."""
AGGREGATES = ("min", "mean", "margin")
"""Accepted values of ``fitness.aggregate``."""


@dataclass(frozen=True)
class Task:
    """One (space, dataset) pair of a profile.

    Attributes
    ----------
    space : str
        Registered space name (``tss``, ``sss``, ...).
    dataset : str
        Dataset of that space whose accuracy is the ground truth.
    stratify_on : str
        Dataset whose accuracy stratifies the task's samples.
    """

    space: str
    dataset: str
    stratify_on: str

    @property
    def label(self) -> str:
        """``space/dataset``."""
        return f"{self.space}/{self.dataset}"


def parse_task(text: str) -> tuple[str, str]:
    """Split ``"space/dataset"``.

    Raises
    ------
    GMError
        Not of that form.
    """
    parts = str(text).split("/")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise GMError(f"task {text!r} must be written space/dataset, e.g. tss/cifar10")
    return parts[0], parts[1]


def check_tasks(source: str, raw: Mapping[str, Any], benchmark: Any) -> Any:
    """Validate ``benchmark.tasks``; return the benchmark with ``space``/``datasets`` = the first task.

    Raises
    ------
    ProfileError
        ``tasks`` given with ``space``, ``datasets``, ``table`` or ``builder``; a task not
        written ``space/dataset``; an unknown space or dataset (one line naming the task).
    """
    from greenmachine.spaces import get_space, space_names

    given = [key for key in ("space", "datasets", "table", "builder") if key in raw]
    if given:
        raise ProfileError(f"{source}: benchmark.tasks replaces benchmark.{' and benchmark.'.join(given)}: "
                           "give one or the other")
    for text in benchmark.tasks:
        try:
            space_name, dataset = parse_task(text)
        except GMError as error:
            raise ProfileError(f"{source}: benchmark.tasks: {error}") from None
        if space_name not in space_names():
            raise ProfileError(f"{source}: benchmark.tasks: unknown space {space_name!r} in task {text!r} "
                               f"(choose from {', '.join(space_names())}; custom spaces are single-space only)")
        space = get_space(space_name)
        if dataset not in space.datasets:
            raise ProfileError(f"{source}: benchmark.tasks: unknown dataset {dataset!r} in task {text!r} "
                               f"(choose from {', '.join(space.datasets)})")
    first_space, first_dataset = parse_task(benchmark.tasks[0])
    return dataclasses.replace(benchmark, space=first_space, datasets=(first_dataset,))


def profile_tasks(profile: Any) -> list[Task]:
    """The tasks of a profile: ``benchmark.tasks``, else ``space/d`` for each dataset."""
    if profile.benchmark.tasks:
        return [Task(*parse_task(text), stratify_on=parse_task(text)[1]) for text in profile.benchmark.tasks]
    datasets = profile.benchmark.datasets
    return [Task(profile.space_name, dataset, datasets[0]) for dataset in datasets]


def is_multi_task(profile: Any) -> bool:
    """Whether a profile needs the multi-task controller: tasks, or a non-default ``[fitness]``."""
    fitness = getattr(profile, "fitness", None)
    return bool(profile.benchmark.tasks) or (
        fitness is not None and (fitness.aggregate != "min" or fitness.normalise != "none"))


# ---------------------------------------------------------------------------- normalisation


def normalise_values(values: np.ndarray, how: str) -> np.ndarray:
    """Normalise one statistic's values (a 1-D array of one sample) by ``how``.

    Parameters
    ----------
    values : numpy.ndarray
        Every value of the statistic in the sample (float64).
    how : {"none", "rank", "zscore"}
        See the module docstring.

    Returns
    -------
    numpy.ndarray
        float64 of the same shape.
    """
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=np.float64)
    if how == "none":
        return values.copy()
    result = values.copy()
    if how == "rank":
        present = ~np.isnan(values)
        count = int(present.sum())
        if count:
            result[present] = (rankdata(values[present], method="average") - 0.5) / count
        return result
    if how == "zscore":
        finite = np.isfinite(values)
        if finite.any():
            kept = values[finite]
            # equal values are 0 (their float mean can differ from them in the last bit, which
            # would make a spread of rounding noise and scores of +-1)
            spread = kept.std() if kept.max() > kept.min() else 0.0
            result[finite] = (kept - kept.mean()) / spread if spread > 0 else 0.0
        return result
    raise GMError(f"unknown normalisation {how!r} (choose from {', '.join(NORMALISATIONS)})")


def normalise_table(table: StatisticTable, how: str) -> StatisticTable:
    """Return ``table`` with every statistic normalised within its networks (see module docstring).

    A per-layer statistic is normalised over every valid layer of every network of the
    table; padded positions stay 0. ``how = "none"`` returns ``table`` itself.
    """
    if how == "none":
        return table
    if how not in NORMALISATIONS:
        raise GMError(f"unknown normalisation {how!r} (choose from {', '.join(NORMALISATIONS)})")
    mask = table.layer_mask.cpu().numpy()
    layer = table.layer_values.cpu().numpy().copy()
    for row in range(layer.shape[0]):
        layer[row][mask] = normalise_values(layer[row][mask], how)
    network = table.network_values.cpu().numpy().copy()
    for row in range(network.shape[0]):
        network[row] = normalise_values(network[row], how)
    device = table.layer_values.device
    return StatisticTable(table.layer_statistic_names, table.network_statistic_names,
                          torch.from_numpy(layer).to(device), table.layer_mask,
                          torch.from_numpy(network).to(device))


# ---------------------------------------------------------------------------- aggregation


def aggregate_taus(taus: Sequence[torch.Tensor], how: str = "min",
                   offsets: Sequence[float] | None = None) -> torch.Tensor:
    """One fitness per tree from per-task taus: the minimum, the mean or the smallest margin.

    Parameters
    ----------
    taus : sequence of torch.Tensor
        One ``(P,)`` tensor per task.
    how : {"min", "mean", "margin"}
        ``margin``: half the smallest ``tau - offset`` over tasks, where ``offsets`` are the
        taus of each task's best baseline on the same sample; halved so that it lies in
        [-1, 1] like a tau. A tree whose tau is invalid (:data:`greenmachine.stats.fitness.WORST_FITNESS`)
        on any task keeps that value.
    offsets : sequence of float, optional
        One per task; needed by ``margin`` only.

    Returns
    -------
    torch.Tensor
        ``(P,)``; ``min`` is computed as successive :func:`torch.minimum` (exactly what a
        single-space run always did).

    Raises
    ------
    GMError
        No taus, an unknown ``how``, or ``margin`` without one offset per task.
    """
    if not taus:
        raise GMError("no task tau to aggregate")
    if how == "margin":
        if offsets is None or len(offsets) != len(taus):
            raise GMError("the margin aggregate needs the best baseline's tau of every task")
        smallest = aggregate_taus([tau - float(offset) for tau, offset in zip(taus, offsets)], "min") / 2.0
        invalid = aggregate_taus(list(taus), "min") <= WORST_FITNESS
        return torch.where(invalid, torch.full_like(smallest, WORST_FITNESS), smallest)
    if how == "min":
        result = taus[0]
        for tau in taus[1:]:
            result = torch.minimum(result, tau)
        return result
    if how == "mean":
        return torch.stack(list(taus)).mean(dim=0)
    raise GMError(f"unknown fitness aggregate {how!r} (choose from {', '.join(AGGREGATES)})")


def task_samples(tasks: Sequence[Task], sampling: Any) -> list[tuple[Any, Any]]:
    """Load each task's benchmark and draw its samples with the profile's ``sampling``.

    Returns
    -------
    list of (Benchmark, Samples)
        One per task, in order.
    """
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.sampling.samples import draw_samples

    result = []
    for task in tasks:
        benchmark = load_benchmark(task.space)
        samples = draw_samples(benchmark.accuracy(task.stratify_on), sampling, str(benchmark.source))
        result.append((benchmark, samples))
    return result


def own_networks(profile: Any, space: str) -> np.ndarray:
    """Every search and validation network of a multi-task profile's tasks on ``space``, sorted.

    A network searched or validated with one dataset's accuracy is excluded from a held-out
    sample of any dataset of that space (``gm eval`` of a multi-task proxy).
    """
    tasks = profile_tasks(profile)
    chosen = [task for task in tasks if task.space == space]
    own = [np.union1d(samples.search, samples.validation) for _, samples in task_samples(chosen, profile.sampling)]
    return np.unique(np.concatenate(own)) if own else np.zeros(0, dtype=np.int64)


def own_networks_from_provenance(provenance: Mapping[str, Any], drawn: Mapping[str, Any],
                                 space: str) -> tuple[np.ndarray, str]:
    """:func:`own_networks` for a shipped multi-task proxy, from its ``provenance`` (tasks, sampling).

    Raises
    ------
    GMError
        A malformed ``provenance.sampling``.
    """
    from greenmachine.settings.profile import SamplingSettings

    try:
        settings = SamplingSettings(mode=str(drawn["mode"]), stratification=str(drawn.get("stratification") or "equal_width"),
                                    strata=int(drawn.get("strata") or 10), search=int(drawn["sizes"]["search"]),
                                    validation=int(drawn["sizes"]["validation"]), test=int(drawn["sizes"]["test"]),
                                    seed=int(drawn["seed"]))
        tasks = [Task(*parse_task(text), stratify_on=parse_task(text)[1]) for text in provenance["tasks"]]
    except (KeyError, TypeError, ValueError, GMError) as error:
        raise GMError(f"the proxy file's provenance (tasks, sampling) is malformed ({error})") from None
    chosen = [task for task in tasks if task.space == space]
    if not chosen:
        return np.zeros(0, dtype=np.int64), f"none: the proxy's run searched no task of space {space}"
    own = [np.union1d(samples.search, samples.validation) for _, samples in task_samples(chosen, settings)]
    return np.unique(np.concatenate(own)), "the proxy's provenance (tasks, sampling), drawn again"


def probe_tasks(profile: Any, sink: Any) -> Any:
    """Probe every task's samples into the cache (``gm probe`` of a multi-task profile)."""
    from greenmachine.evaluation.evaluate import ProbePhase, resolve_device

    tasks = profile_tasks(profile)
    draws = task_samples(tasks, profile.sampling)
    phase = ProbePhase(tasks[0].space, profile.probe, resolve_device(profile.probe.device), sink,
                       total=sum(len(samples.all_indices()) for _, samples in draws),
                       energy_country=profile.energy.country)
    try:
        for task, (_, samples) in zip(tasks, draws):
            phase.space = task.space
            phase.table(samples.all_indices(), task.dataset)
    finally:
        phase.close()
    return phase


def task_baselines(profile: Any, sink: Any) -> list[dict[str, Any]]:
    """Every baseline on each task's test sample (``gm baselines`` of a multi-task profile)."""
    from greenmachine.evaluation.evaluate import ProbePhase, evaluate_sample, resolve_device, sampling_info

    device = resolve_device(profile.probe.device)
    output = []
    for task, (benchmark, samples) in zip(profile_tasks(profile), task_samples(profile_tasks(profile), profile.sampling)):
        phase = ProbePhase(task.space, profile.probe, device, sink, total=len(samples.test),
                           energy_country=profile.energy.country)
        try:
            table = phase.table(samples.test, task.dataset)
        finally:
            phase.close()
        result = evaluate_sample(table, benchmark.accuracy(task.dataset)[samples.test])
        output.append({
            "n": result["n"], "space": task.space, "dataset": task.dataset, "task": task.label,
            "ground_truth": benchmark.metric_columns[task.dataset], "sample": "test",
            "sampling": {**sampling_info(samples.mode, samples.stratification, samples.strata, samples.seed),
                         "stratified_on": task.stratify_on},
            "sampling_description": samples.describe().split(":")[0],
            "probe": {"batch_size": profile.probe.batch_size, "seed": profile.probe.seed},
            "proxies": result["baselines"],
        })
    return output
