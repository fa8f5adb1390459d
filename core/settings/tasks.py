"""Several (space, dataset) tasks in one profile: the task type and the checks of ``benchmark.tasks``.

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

The other task workflows live where their concept does: normalisation in
:mod:`greenmachine.stats.normalise`, the fitness aggregate in :mod:`greenmachine.stats.aggregate`,
each task's samples in :mod:`greenmachine.sampling.tasks`, probing and baselines of every task in
:mod:`greenmachine.evaluation.tasks`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from greenmachine.errors import GMError, ProfileError


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
