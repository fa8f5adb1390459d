"""The multi-task parts of a run's report and proxy file: tasks, normalisation, per-cell table.

Called by :class:`greenmachine.run.multitask.MultiTaskRunController` (at the end of a run) and by
:func:`greenmachine.report.build.render_markdown` (the per-cell table of ``report.md``, also when ``gm
report`` rebuilds it). A *cell* is one task: the evolved proxy's held-out test tau beside the
best baseline of that task, the baseline chosen by its *validation* tau (never its test tau).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np


def multi_task_proxy_fields(profile: Any, tasks: Sequence[Any], cells: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What a multi-task ``best_proxy.json`` adds: tasks, normalisation, aggregate and per-task taus."""
    return {
        "tasks": [task.label for task in tasks],
        "normalise": profile.fitness.normalise,
        "aggregate": profile.fitness.aggregate,
        "task_taus": {cell["task"]: dict(cell["evolved"]) for cell in cells},
    }


def _overlap(task_data: Sequence[Any]) -> dict[str, int]:
    """Per task: its test networks that are in another task's search or validation sample of the same space."""
    result = {}
    for item in task_data:
        seen = [np.union1d(other.samples.search, other.samples.validation)
                for other in task_data if other is not item and other.task.space == item.task.space]
        seen_all = np.unique(np.concatenate(seen)) if seen else np.zeros(0, dtype=np.int64)
        result[item.task.label] = int(np.isin(item.samples.test, seen_all).sum())
    return result


def multi_task_report(report: dict[str, Any], profile: Any, task_data: Sequence[Any],
                      cells: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Turn the single-space report of :func:`greenmachine.report.build.build_report` into the multi-task one."""
    labels = [item.task.label for item in task_data]
    spaces = list(dict.fromkeys(item.task.space for item in task_data))
    overlap = _overlap(task_data)
    report = dict(report)
    report["space"] = ", ".join(spaces) if len(spaces) > 1 else spaces[0]
    report["datasets"] = labels
    report["ground_truth_columns"] = {cell["task"]: cell["ground_truth"] for cell in cells}
    report["sampling"] = dict(report["sampling"], stratified_on="each task's own dataset"
                              if profile.benchmark.tasks else report["sampling"]["stratified_on"])
    report["fitness"] = {"aggregate": profile.fitness.aggregate, "normalise": profile.fitness.normalise}
    report["tasks"] = [{"task": item.task.label, "space": item.task.space, "dataset": item.task.dataset,
                        "stratified_on": item.task.stratify_on, "sampling": item.samples.describe(),
                        "test_in_other_tasks_search_or_validation": overlap[item.task.label]}
                       for item in task_data]
    report["cells"] = [dict(cell) for cell in cells]
    return report


def _number(value: Any, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _fitness_text(aggregate: str) -> str:
    if aggregate == "margin":
        return ("half the smallest margin over tasks (a task's Kendall τ less its best baseline's τ on the same "
                "sample)")
    return f"{aggregate} Kendall τ over tasks"


def render_cells(report: Mapping[str, Any]) -> list[str]:
    """Markdown lines of the per-cell table (empty for a single-task report)."""
    cells = report.get("cells")
    if not cells:
        return []
    fitness = report.get("fitness", {})
    sampling = report["sampling"]
    wins = sum(1 for cell in cells if cell.get("evolved_wins"))
    lines = [
        "",
        f"## Per task: evolved vs the best baseline of each task ({wins} of {len(cells)} won)",
        "",
        f"One formula over {len(cells)} tasks; fitness = {_fitness_text(fitness.get('aggregate', 'min'))}, "
        f"statistics normalised per task and sample: {fitness.get('normalise', 'none')}. "
        f"Each task's samples: {sampling['description']}, strata on {sampling['stratified_on']}. "
        "The best baseline of a task is the one with the best validation τ on that task; "
        "τ below is on the task's held-out test sample.",
        "",
        "| task | n test | evolved τ (val) | evolved τ (test) | best baseline (by val) | its τ (val) | its τ (test) | margin |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for cell in cells:
        baseline = cell.get("best_baseline") or {}
        evolved = cell["evolved"]
        margin = cell.get("margin")
        lines.append(
            f"| {cell['task']} | {cell['n_test']} | {_number(evolved['validation_tau'])} | "
            f"{_number(evolved['test_tau'])} | {baseline.get('name', '–')} | {_number(baseline.get('validation_tau'))} | "
            f"{_number(baseline.get('test_tau'))} | {'–' if margin is None else f'{margin:+.4f}'} |")
    tasks = report.get("tasks") or []
    shared = [f"{task['task']}: {task['test_in_other_tasks_search_or_validation']}" for task in tasks
              if task.get("test_in_other_tasks_search_or_validation")]
    if shared:
        lines += ["", "Test networks that another task of the same space searched or validated on (with that "
                  "task's accuracy): " + ", ".join(shared) + "."]
    return lines
