"""Multi-task runs end to end on two toy spaces (tests/toy_space.py), and bit-identity of old profiles.

Two registered toy spaces (the same 64 tiny CNNs, different made-up accuracies) are two
tasks; the whole file probes 20 toy networks per space once into a module cache.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import torch

from greenmachine.events import ListSink
from greenmachine.settings.profile import profile_from_mapping
from greenmachine.spaces import register_space, unregister_space

from toy_space import ToySpace, write_table


class OtherToySpace(ToySpace):
    """The toy space again under another name, with other made-up accuracies (scaled)."""

    name = "toyb"
    metric_columns = MappingProxyType({"cifar10": "cifar10"})


def _profile(cache: Path, benchmark: dict, fitness: dict | None = None):
    data = {
        "name": "toy-tasks",
        "benchmark": benchmark,
        "sampling": {"mode": "random", "search": 10, "validation": 10, "test": 10, "seed": 0},
        "probe": {"batch_size": 8, "seed": 0, "workers": 1, "cache_dir": str(cache)},
        "evolution": {"population": 10, "generations": 3, "seed": 0, "elitism": 1},
        "energy": {"enabled": False},
        "export": {"simplify_timeout": 0.5},
    }
    if fitness is not None:
        data["fitness"] = fitness
    return profile_from_mapping(data, source="toy-tasks")


@pytest.fixture(autouse=True)
def no_figures(monkeypatch):
    """Figures are drawn by every run and tested elsewhere; here they would only cost time."""
    from greenmachine.run.controller import RunController

    monkeypatch.setattr(RunController, "_draw_figures", lambda self: None)


@pytest.fixture(scope="module")
def spaces(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toys")
    register_space(ToySpace(write_table(folder / "toy.csv.gz", seed=0)))
    register_space(OtherToySpace(write_table(folder / "toyb.csv.gz", seed=1)))
    yield folder / "cache"
    unregister_space("toy")
    unregister_space("toyb")


def _run(profile, run_dir, controller_class=None):
    from greenmachine.run.factory import make_controller

    controller = (controller_class or make_controller)(profile, ListSink(), run_dir=run_dir)
    controller.run()
    return controller, run_dir


def _hall(run_dir: Path) -> list[dict]:
    """The hall of fame without the sympy text (its simplification has a time limit)."""
    with open(run_dir / "hall_of_fame.csv", newline="") as handle:
        return [{key: value for key, value in row.items() if key != "simplified"} for row in csv.DictReader(handle)]


def test_default_fitness_is_bit_identical(spaces, tmp_path):
    """Old profiles run as before; the multi-task machinery with min / none gives the same hall of fame."""
    from greenmachine.run.multitask import MultiTaskRunController

    plain = _profile(spaces, {"space": "toy", "datasets": ["cifar10"]})
    explicit = _profile(spaces, {"space": "toy", "datasets": ["cifar10"]}, {"aggregate": "min", "normalise": "none"})
    tasks = _profile(spaces, {"tasks": ["toy/cifar10"]}, {"aggregate": "min", "normalise": "none"})
    assert explicit == plain and explicit.to_toml() == plain.to_toml()
    base, first = _run(plain, tmp_path / "plain")
    assert type(base).__name__ == "RunController"
    _, through_tasks = _run(plain, tmp_path / "tasks-controller", MultiTaskRunController)
    _, listed = _run(tasks, tmp_path / "listed")
    reference = _hall(first)
    assert reference and _hall(through_tasks) == reference and _hall(listed) == reference
    best = json.loads((first / "best_proxy.json").read_text())
    assert json.loads((listed / "best_proxy.json").read_text())["tree"] == best["tree"]


def test_multi_task_run_reports_each_cell(spaces, tmp_path):
    from greenmachine.evaluation.evaluate import baseline_rows
    from greenmachine.proxies import ProxyError, load_proxy

    profile = _profile(spaces, {"tasks": ["toy/cifar10", "toyb/cifar10"]}, {"aggregate": "mean", "normalise": "rank"})
    controller, run_dir = _run(profile, tmp_path / "run")
    assert type(controller).__name__ == "MultiTaskRunController"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["datasets"] == ["toy/cifar10", "toyb/cifar10"]
    assert report["fitness"] == {"aggregate": "mean", "normalise": "rank"}
    assert [cell["task"] for cell in report["cells"]] == ["toy/cifar10", "toyb/cifar10"]
    for cell, item in zip(report["cells"], controller.task_data):
        validation = baseline_rows(item.raw["validation"], item.targets["validation"].numpy())
        taus = {name: row["kendall_tau"] for name, row in validation.items() if row["kendall_tau"] is not None}
        assert cell["best_baseline"]["name"] == max(taus, key=taus.get)  # chosen on validation, not test
        test = report["test"][cell["task"]]
        assert cell["best_baseline"]["test_tau"] == test["baselines"][cell["best_baseline"]["name"]]["kendall_tau"]
        assert cell["evolved"]["test_tau"] == test["evolved"]["kendall_tau"] and cell["n_test"] == 10
        # a validation part per task, as a single-task run has (top-of-ranking figures included)
        part = report["validation"][cell["task"]]
        assert part["n"] == item.raw["validation"].num_networks
        assert part["evolved"]["kendall_tau"] == cell["evolved"]["validation_tau"]
        assert "top10_below_median" in part["evolved"] and set(part["baselines"]) == set(validation)
        assert part["baselines"][cell["best_baseline"]["name"]]["kendall_tau"] == cell["best_baseline"]["validation_tau"]
    # the fitness is the mean of the per-task search taus of the final proxy
    best = json.loads((run_dir / "best_proxy.json").read_text())
    per_task = [best["task_taus"][task]["search_tau"] for task in best["tasks"]]
    assert best["search_tau"] == pytest.approx(np.mean(per_task))
    assert best["normalise"] == "rank" and best["tasks"] == ["toy/cifar10", "toyb/cifar10"]
    markdown = (run_dir / "report.md").read_text()
    assert "## Per task: evolved vs the best baseline" in markdown and "| toyb/cifar10 | 10 |" in markdown
    with open(run_dir / "test_scores.csv", newline="") as handle:
        assert {row["dataset"] for row in csv.DictReader(handle)} == {"toy/cifar10", "toyb/cifar10"}
    proxy = load_proxy(run_dir)
    assert proxy.normalise == "rank" and proxy.tasks == ("toy/cifar10", "toyb/cifar10")
    # the proxy scores a set of networks as the run did (normalised within them); one alone is an error
    from greenmachine.evaluation.evaluate import network_scores

    item = controller.task_data[1]
    statistics = _network_statistics(item.raw["test"])
    expected = network_scores(item.tables["test"], proxy.tree)["evolved"]
    np.testing.assert_allclose(proxy.scores_of(statistics), expected, rtol=1e-9, equal_nan=True)
    with pytest.raises(ProxyError, match="ranks a set of two or more networks"):
        proxy.scores_of(statistics[:1])


def test_margin_fitness_is_half_the_worst_lead_over_each_task_best_baseline(spaces, tmp_path):
    from greenmachine.stats.aggregate import aggregate_taus

    profile = _profile(spaces, {"tasks": ["toy/cifar10", "toyb/cifar10"]}, {"aggregate": "margin", "normalise": "rank"})
    controller, run_dir = _run(profile, tmp_path / "run")
    best = json.loads((run_dir / "best_proxy.json").read_text())
    report = json.loads((run_dir / "report.json").read_text())
    assert report["fitness"]["aggregate"] == "margin"
    # the validation fitness of the final proxy: half the smallest (task tau - task's best baseline tau)
    leads = [cell["evolved"]["validation_tau"] - cell["best_baseline"]["validation_tau"] for cell in report["cells"]]
    assert best["validation_tau"] == pytest.approx(min(leads) / 2, abs=1e-9)
    options = controller._evolution_options()
    assert [round(v, 12) for v in options["offsets"]["validation"]] == [
        round(cell["best_baseline"]["validation_tau"], 12) for cell in report["cells"]]
    taus = [torch.tensor([cell["evolved"]["search_tau"]], dtype=torch.float64) for cell in report["cells"]]
    assert best["search_tau"] == pytest.approx(float(aggregate_taus(taus, "margin", options["offsets"]["search"])))
    assert "smallest margin over tasks" in (run_dir / "report.md").read_text()


def test_seed_summary_of_multi_task_runs_has_each_task_validation_tau(spaces, tmp_path):
    from greenmachine.repeats.runner import RepeatPlan, RepeatRunner
    from greenmachine.repeats.summary import summarize

    profile = _profile(spaces, {"tasks": ["toy/cifar10", "toyb/cifar10"]}, {"aggregate": "min", "normalise": "rank"})
    folder = tmp_path / "seeds"
    RepeatRunner(RepeatPlan(profile, (0, 1), (0,)), folder, ListSink()).run()
    summary = summarize(folder)
    for row in summary["combinations"]:
        report = json.loads((folder / row["run_dir"] / "report.json").read_text())
        for cell in report["cells"]:
            validation = row["validation"][cell["task"]]
            assert validation["evolved"] == cell["evolved"]["validation_tau"]
            assert validation[cell["best_baseline"]["name"]] == cell["best_baseline"]["validation_tau"]
    for task in ("toy/cifar10", "toyb/cifar10"):
        assert summary["statistics"][task]["evolved"]["validation"]["n"] == 2


def _network_statistics(table):
    from greenmachine.stats.table import NetworkStatistics

    result = []
    for column in range(table.num_networks):
        mask = table.layer_mask[column].numpy()
        count = int(mask.sum())
        result.append(NetworkStatistics(
            tuple(f"layer{i}" for i in range(count)),
            {name: table.layer_values[row, column].numpy()[mask] for row, name in enumerate(table.layer_statistic_names)},
            {name: float(table.network_values[row, column]) for row, name in enumerate(table.network_statistic_names)}))
    return result


def test_gm_eval_scores_a_multi_task_proxy_per_task(spaces, tmp_path, monkeypatch):
    from greenmachine.evaluation.evaluate import evaluate_saved_proxy

    monkeypatch.setenv("GM_CACHE_DIR", str(spaces))
    profile = _profile(spaces, {"tasks": ["toy/cifar10", "toyb/cifar10"]}, {"normalise": "zscore"})
    _, run_dir = _run(profile, tmp_path / "run")
    results = {}
    for space in ("toy", "toyb"):
        results[space] = evaluate_saved_proxy(run_dir, ListSink(), space=space, dataset="cifar10", n=12, seed=5,
                                              workers=1)
        result = results[space]
        assert result["space"] == space and result["proxy"]["normalise"] == "zscore"
        assert result["sampling"]["excluded"] == 20  # the task's own search and validation networks
    assert results["toy"]["proxy"]["kendall_tau"] is not None


def test_gm_probe_and_baselines_cover_every_task(spaces):
    from greenmachine.evaluation.evaluate import probe_profile, profile_baselines

    profile = _profile(spaces, {"tasks": ["toy/cifar10", "toyb/cifar10"]})
    phase = probe_profile(profile, ListSink())
    assert phase.counts["done"] == 60  # 30 networks per task, both tasks
    rows = profile_baselines(profile, ListSink())
    assert [row["task"] for row in rows] == ["toy/cifar10", "toyb/cifar10"] and all(row["n"] == 10 for row in rows)


def test_stopped_multi_task_run_resumes_to_the_same_proxy(spaces, tmp_path):
    from greenmachine.events import GenerationDone
    from greenmachine.run.factory import make_controller, resume_controller

    profile = _profile(spaces, {"tasks": ["toy/cifar10", "toyb/cifar10"]}, {"aggregate": "mean", "normalise": "rank"})
    _, whole = _run(profile, tmp_path / "whole")
    holder = {}

    def stop_after_one(event):
        if isinstance(event, GenerationDone) and event.generation == 1:
            holder["controller"].request_stop()

    stopped = tmp_path / "stopped"
    holder["controller"] = make_controller(profile, stop_after_one, run_dir=stopped)
    holder["controller"].run()
    assert not (stopped / "report.json").exists()
    sink = ListSink()
    resumed = resume_controller(stopped, sink)
    assert type(resumed).__name__ == "MultiTaskRunController"
    resumed.run()
    assert [event.generation for event in sink.of_type(GenerationDone)] == [2, 3]
    assert (json.loads((stopped / "best_proxy.json").read_text())["tree"]
            == json.loads((whole / "best_proxy.json").read_text())["tree"])
    assert _hall(stopped) == _hall(whole)
