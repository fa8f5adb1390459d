"""The run controller for several (space, dataset) tasks and normalised statistics.

:func:`greenmachine.run.factory.make_controller` hands a profile to :class:`MultiTaskRunController` when
it lists ``benchmark.tasks`` or sets a non-default ``[fitness]`` (see
:func:`greenmachine.settings.tasks.is_multi_task`); ``gm run``, ``gm run --resume``, the Python API,
repeats and the TUI reach it through that factory. Each task draws its own search / validation /
test samples (:func:`greenmachine.sampling.tasks.task_samples`) and is probed through the cache; the
statistics of each sample are normalised within that sample (``fitness.normalise``); one
formula is evolved against every task's search sample with ``fitness.aggregate`` of the
per-task taus. At the end, per task, the final proxy (on normalised statistics) and every
baseline (on the raw statistics, as baselines are defined) are scored on the task's held-out
test sample, and the best baseline of each task is the one with the best *validation* tau.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from greenmachine.run.controller import DatasetData, RunController, split_probed_table
from greenmachine.rundir.directory import HallOfFameRow
from greenmachine.evaluation.evaluate import ProbePhase, baseline_rows, score_proxy
from greenmachine.events import RunStarted
from greenmachine.settings.tasks import Task, profile_tasks
from greenmachine.stats.normalise import normalise_table
from greenmachine.sampling.samples import sampling_label
from greenmachine.sampling.tasks import task_samples
from greenmachine.stats.top_metrics import top_sizes
from greenmachine.stats.table import StatisticTable



def _best_baseline(rows: dict) -> str | None:
    """Name of the baseline with the highest defined Kendall tau in ``rows`` (None if none is defined)."""
    ranked = [(name, row["kendall_tau"]) for name, row in rows.items() if row["kendall_tau"] is not None]
    return max(ranked, key=lambda pair: pair[1])[0] if ranked else None


def _best_baseline_tau(item: "TaskData", part: str, metric: str = "kendall") -> float:
    """The best baseline's tau on one sample of a task (the ``margin`` offset), in the fitness ``metric``.

    With ``kendall``: the highest defined Kendall tau of :func:`greenmachine.evaluation.evaluate.baseline_rows`;
    with another metric (:func:`greenmachine.stats.fitness.rank_fitness`): the highest value of that metric
    among the baselines whose scores are valid (finite, not constant). 0.0 when none is.
    """
    if metric == "kendall":
        rows = baseline_rows(item.raw[part], item.targets[part].numpy())
        best = _best_baseline(rows)
        return rows[best]["kendall_tau"] if best is not None else 0.0
    from greenmachine.baselines.published import baseline_scores
    from greenmachine.stats.fitness import WORST_FITNESS, rank_fitness

    scores = baseline_scores(item.raw[part])
    if not scores:
        return 0.0
    values = rank_fitness(torch.as_tensor(np.stack(list(scores.values()))), item.targets[part], metric)
    values = values[values > WORST_FITNESS]
    return float(values.max()) if len(values) else 0.0


@dataclass
class TaskData:
    """One task's benchmark, samples, raw and normalised tables and targets per sample."""

    task: Task
    benchmark: Any
    samples: Any
    raw: dict[str, StatisticTable]
    tables: dict[str, StatisticTable]
    targets: dict[str, torch.Tensor]


class MultiTaskRunController(RunController):
    """:class:`greenmachine.run.controller.RunController` over several tasks (see the module docstring)."""

    def _load_samples(self) -> None:
        self.tasks = profile_tasks(self.profile)
        self.task_draws = task_samples(self.tasks, self.profile.sampling)
        self.benchmark, self.samples = self.task_draws[0]

    def _run_started(self, sizes: dict[str, int]) -> RunStarted:
        profile = self.profile
        return RunStarted(run_dir=str(self.run_dir), profile_name=profile.name, space=self.tasks[0].space,
                          datasets=tuple(task.label for task in self.tasks), sampling_mode=sampling_label(self.samples),
                          sample_sizes=sizes, seed=profile.evolution.seed, device=self.device)

    def _evolution_options(self) -> dict[str, Any]:
        aggregate, metric = self.profile.fitness.aggregate, self.profile.fitness.metric
        if aggregate != "margin":
            return {"aggregate": aggregate, "metric": metric}
        return {"aggregate": aggregate, "metric": metric,
                "offsets": {part: [_best_baseline_tau(item, part, metric) for item in self.task_data]
                            for part in ("search", "validation")}}

    def _probe_all(self) -> list[DatasetData] | None:
        profile = self.profile
        how = profile.fitness.normalise
        total = sum(len(samples.all_indices()) for _, samples in self.task_draws)
        phase = ProbePhase(self.tasks[0].space, profile.probe, self.device, self.sink, total=total,
                           should_stop=self._checkpoint_wait)
        self.task_data: list[TaskData] = []
        try:
            for task, (benchmark, samples) in zip(self.tasks, self.task_draws):
                phase.space = task.space  # one phase, so its counts cover every task
                indices = samples.all_indices()
                table = phase.table(indices, task.dataset)
                if table is None:
                    return None
                raw, targets = split_probed_table(table, indices, benchmark.accuracy(task.dataset), samples)
                tables = {name: normalise_table(part, how) for name, part in raw.items()}
                self.task_data.append(TaskData(task, benchmark, samples, raw, tables, targets))
        finally:
            phase.close()
        return [DatasetData(item.task.label, item.tables, item.targets) for item in self.task_data]

    def _evaluate_best(self, tree: Any) -> None:
        self.test_results, self.validation_results, self.cells = {}, {}, []
        for item in self.task_data:
            test_target = item.targets["test"].numpy()
            evolved = score_proxy(tree, item.tables["test"], test_target, self.device)
            baselines = baseline_rows(item.raw["test"], test_target)
            count = int(item.raw["test"].num_networks)
            self.test_results[item.task.label] = {"n": count, "top_sizes": top_sizes(count), "evolved": evolved,
                                                  "baselines": baselines}
            validation_target = item.targets["validation"].numpy()
            validation = baseline_rows(item.raw["validation"], validation_target)
            own_validation = score_proxy(tree, item.tables["validation"], validation_target, self.device)
            count = int(item.raw["validation"].num_networks)
            # per task, as a single-task run's validation part (top-of-ranking figures included)
            self.validation_results[item.task.label] = {"n": count, "top_sizes": top_sizes(count),
                                                        "evolved": own_validation, "baselines": validation}
            self.cells.append(_cell(item, tree, evolved, baselines, validation, own_validation, self.device))
        self._write_test_scores(tree)

    def _test_sets(self) -> list[tuple[str, StatisticTable, StatisticTable, Any, Any, torch.Tensor]]:
        # the proxy scores the normalised statistics, the baselines the raw ones
        return [(item.task.label, item.tables["test"], item.raw["test"], item.samples.test, item.benchmark,
                 item.targets["test"]) for item in self.task_data]

    def _best_proxy_fields(self, best: Any, simplified: str) -> dict[str, Any]:
        from greenmachine.report.multitask import multi_task_proxy_fields

        return {
            **self._best_proxy_record(best, simplified, self.tasks[0].space, [self.tasks[0].dataset],
                                      self.task_data[0].raw["search"]),
            **multi_task_proxy_fields(self.profile, self.tasks, self.cells),
        }

    def _hall_rows(self, hall: list[Any], texts: list[str]) -> list[HallOfFameRow]:
        return [HallOfFameRow.from_entry(e, text) for e, text in zip(hall, texts)]

    def _write_cost_front(self, rows: list[HallOfFameRow], best: Any, simplified: str) -> dict[str, Any] | None:
        return None  # several spaces: no one cost table

    def _report_options(self) -> dict[str, Any]:
        return {"validation_results": self.validation_results}

    def _finish_report(self, report: dict[str, Any], cost: dict[str, Any] | None,
                       render: Callable[[dict[str, Any]], str]) -> tuple[dict[str, Any], str]:
        from greenmachine.report.multitask import multi_task_report

        report = multi_task_report(report, self.profile, self.task_data, self.cells)
        return report, render(report)


def _cell(item: TaskData, tree: Any, evolved: dict, baselines: dict, validation: dict, own_validation: dict,
          device: str) -> dict[str, Any]:
    """One row of the per-cell table: evolved vs the baseline with the best validation tau."""
    best_name = _best_baseline(validation)
    search = score_proxy(tree, item.tables["search"], item.targets["search"].numpy(), device)
    cell = {
        "task": item.task.label, "space": item.task.space, "dataset": item.task.dataset,
        "ground_truth": item.benchmark.search_space.metric_columns[item.task.dataset],
        "stratified_on": item.task.stratify_on, "n_test": int(item.raw["test"].num_networks),
        "evolved": {"search_tau": search["kendall_tau"], "validation_tau": own_validation["kendall_tau"],
                    "test_tau": evolved["kendall_tau"], "test_rho": evolved["spearman_rho"]},
        "best_baseline": None,
    }
    if best_name is not None:
        test = baselines[best_name]
        cell["best_baseline"] = {"name": best_name, "chosen_by": "validation tau",
                                 "validation_tau": validation[best_name]["kendall_tau"],
                                 "test_tau": test["kendall_tau"], "test_rho": test["spearman_rho"]}
        if test["kendall_tau"] is not None:
            cell["margin"] = evolved["kendall_tau"] - test["kendall_tau"]
            cell["evolved_wins"] = bool(cell["margin"] > 0)
    return cell
