"""Probing and baselines of every task of a multi-task profile (``gm probe`` / ``gm baselines``).

Called by :func:`greenmachine.evaluation.evaluate.probe_profile` and
:func:`greenmachine.evaluation.evaluate.profile_baselines` when the profile lists ``benchmark.tasks``.
"""

from __future__ import annotations

from typing import Any

from greenmachine.evaluation.scores import evaluate_sample, sampling_info
from greenmachine.probe.engine import resolve_device
from greenmachine.probe.phase import ProbePhase
from greenmachine.sampling.tasks import task_samples
from greenmachine.settings.tasks import profile_tasks


def probe_tasks(profile: Any, sink: Any) -> Any:
    """Probe every task's samples into the cache (``gm probe`` of a multi-task profile)."""
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
                         **samples.sampling_record(),
                         "stratified_on": task.stratify_on},
            "sampling_description": samples.test_sampling(),
            "probe": {"batch_size": profile.probe.batch_size, "seed": profile.probe.seed},
            "proxies": result["baselines"],
        })
    return output
