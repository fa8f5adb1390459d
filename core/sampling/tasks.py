"""The samples of every task of a profile, and the networks a multi-task proxy was chosen on.

Called by the multi-task run controller (:mod:`greenmachine.run.multitask`), the task workflows of
:mod:`greenmachine.evaluation.tasks` and ``gm eval`` of a multi-task proxy
(:mod:`greenmachine.evaluation.evaluate`, which leaves those networks out of its held-out sample).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from greenmachine.errors import GMError
from greenmachine.settings.tasks import Task, parse_task, profile_tasks


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
                                    seed=int(drawn["seed"]), labels=int(drawn.get("labels") or 0))
        tasks = [Task(*parse_task(text), stratify_on=parse_task(text)[1]) for text in provenance["tasks"]]
    except (KeyError, TypeError, ValueError, GMError) as error:
        raise GMError(f"the proxy file's provenance (tasks, sampling) is malformed ({error})") from None
    chosen = [task for task in tasks if task.space == space]
    if not chosen:
        return np.zeros(0, dtype=np.int64), f"none: the proxy's run searched no task of space {space}"
    own = [np.union1d(samples.search, samples.validation) for _, samples in task_samples(chosen, settings)]
    return np.unique(np.concatenate(own)), "the proxy's provenance (tasks, sampling), drawn again"
