"""The run controller end to end on a tiny real-data slice.

The module's copy of the session's tiny probe cache (``tiny_probe_cache`` in
``tests/conftest.py``: the 32 TSS networks of the sample, batch 8, probed once per session)
makes every run's probes cache hits. Covers: the run directory contract,
report contents, energy spans (fake meter), stop + resume equals an uninterrupted run,
and a seeded golden formula on real data.
"""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest

from greenmachine.rundir import directory as rundir
from greenmachine.energy.testing import FakeMeter
from greenmachine.run.factory import make_controller, resume_controller
from greenmachine.events import EnergySample, GenerationDone, ListSink, ProbeProgress, RunFinished, RunStarted
from greenmachine.report.build import rebuild_report
from greenmachine.settings.profile import load_profile
from greenmachine.stats.top_metrics import TOP_KEYS, top_of_ranking

TINY = [
    "sampling.search=12",
    "sampling.validation=10",
    "sampling.test=10",
    "probe.batch_size=8",
    "evolution.population=12",
    "evolution.generations=4",
    "evolution.seed=0",
]


@pytest.fixture(scope="module")
def cache_dir(tiny_probe_cache):
    return tiny_probe_cache


def tiny_profile(cache_dir, *extra):
    return load_profile("quick", [*TINY, f"probe.cache_dir='{cache_dir}'", *extra])


def run(profile, run_dir, sink=None, **kwargs):
    sink = sink or ListSink()
    # constant watts on the real clock: span energies follow the real durations
    controller = make_controller(profile, sink, run_dir=run_dir, meter=FakeMeter(clock=time.perf_counter), **kwargs)
    return controller, controller.run(), sink


@pytest.fixture(scope="module")
def first_run(cache_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "first"
    controller, path, sink = run(tiny_profile(cache_dir), run_dir)
    return controller, path, sink


def test_run_directory_contract(first_run):
    _, run_dir, sink = first_run
    for name in (
        rundir.PROFILE_FILE, rundir.EVENTS_FILE, rundir.CHECKPOINT_FILE, rundir.HALL_OF_FAME_FILE,
        rundir.ENERGY_FILE, rundir.BEST_PROXY_FILE, rundir.REPORT_JSON_FILE, rundir.REPORT_MD_FILE,
    ):
        assert (run_dir / name).is_file(), name
    events = rundir.RunDirectory(run_dir).read_events()
    assert [type(e) for e in events] == [type(e) for e in sink.events]
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"
    progress = [e for e in events if isinstance(e, ProbeProgress)]
    assert progress[-1].done == progress[-1].total == 32
    generations = [e for e in events if isinstance(e, GenerationDone)]
    assert [e.generation for e in generations] == [1, 2, 3, 4]
    hall = rundir.RunDirectory(run_dir).read_hall_of_fame()
    sizes = [row.size for row in hall]
    assert all(row.tree and row.simplified for row in hall)
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)


def test_report_carries_context_and_baselines(first_run):
    _, run_dir, _ = first_run
    report = json.loads((run_dir / rundir.REPORT_JSON_FILE).read_text())
    assert report["sampling"]["mode"] == "stratified"
    assert report["sampling"]["sizes"] == {"search": 12, "validation": 10, "test": 10}
    assert report["probe"]["batch_size"] == 8
    test = report["test"]["cifar10"]
    assert test["n"] == 10
    assert -1.0 <= test["evolved"]["kendall_tau"] <= 1.0
    assert {"synflow", "naswot", "snip", "params", "jacob_cov", "zen"} <= set(test["baselines"])
    energy = report["energy"]
    assert energy["methods"]["cpu"] and energy["phases"]["generation"]["spans"] == 4
    markdown = (run_dir / rundir.REPORT_MD_FILE).read_text()
    assert "n = 10" in markdown and "Kendall" in markdown and "estimated" not in markdown.split("## Energy")[0]
    assert "| P@1% | P@5% | P@10% | top-1 acc | top-1 rank | top-10 < median |" in markdown and "(1 / 1 / 1 of the 10 networks)" in markdown


def test_report_gives_the_top_of_ranking_of_every_proxy(first_run):
    _, run_dir, _ = first_run
    directory = rundir.RunDirectory(run_dir)
    report = directory.read_report()
    for part in ("test", "validation"):
        result = report[part]["cifar10"]
        assert result["top_sizes"] == {"1%": 1, "5%": 1, "10%": 1}  # 10 networks: at least one
        for row in [result["evolved"], *result["baselines"].values()]:
            assert set(TOP_KEYS) <= set(row) and {"kendall_tau", "spearman_rho"} <= set(row)
    # the figures are those of the saved test scores
    rows = directory.read_test_scores()
    accuracy = np.array([row.accuracy for row in rows])
    test = report["test"]["cifar10"]
    assert top_of_ranking(np.array([row.evolved for row in rows]), accuracy) == pytest.approx(
        {key: value for key, value in test["evolved"].items() if key in TOP_KEYS})
    naswot = top_of_ranking(np.array([row.baselines["naswot"] for row in rows]), accuracy)
    assert naswot == {key: test["baselines"]["naswot"][key] for key in TOP_KEYS}
    if naswot["top1_tied"] == 1:
        assert naswot["top1_rank"] == 1 + int((accuracy > naswot["top1_accuracy"]).sum())


@pytest.mark.usefixtures("no_figures")
@pytest.mark.parametrize("metric, label", [("weighted_kendall", "weighted Kendall τ (top-weighted fitness)"),
                                           ("kendall_top", "(top-guarded fitness)")])
def test_a_top_aware_fitness_run_names_its_metric(first_run, cache_dir, tmp_path, metric, label):
    """fitness.metric = weighted_kendall or kendall_top runs on the one-space controller (the probes are cache hits)."""
    controller, run_dir, _ = run(tiny_profile(cache_dir, f"fitness.metric='{metric}'"), tmp_path / metric)
    assert controller.evolution.metric == metric and first_run[0].evolution.metric == "kendall"
    report = rundir.RunDirectory(run_dir).read_report()
    assert report["best_proxy"]["fitness_metric"] == metric
    assert report["profile"]["fitness"]["metric"] == metric
    assert f"{label} search" in (run_dir / rundir.REPORT_MD_FILE).read_text()
    assert first_run[0].directory.read_report()["best_proxy"]["fitness_metric"] == "kendall"


def test_energy_spans_nest_and_are_written(first_run):
    _, run_dir, sink = first_run
    samples = [e for e in sink.events if isinstance(e, EnergySample)]
    phases = [e.phase for e in samples]
    assert phases[0] == "probe" and phases[-1] == "run" and phases.count("generation") == 4
    run_energy = samples[-1].energy_joules
    assert run_energy >= sum(e.energy_joules for e in samples[:-1]) - 1e-9
    with open(run_dir / rundir.ENERGY_FILE, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(samples)
    # report: the phases plus "outside phases" add up to the whole run
    phases = json.loads((run_dir / rundir.REPORT_JSON_FILE).read_text())["energy"]["phases"]
    assert list(phases)[-2:] == ["outside phases", "run"]
    parts = [row for name, row in phases.items() if name != "run"]
    assert phases["outside phases"]["duration_s"] > 0 and phases["generation"]["energy_joules"] > 0
    assert sum(row["duration_s"] for row in parts) == pytest.approx(phases["run"]["duration_s"])
    assert sum(row["energy_joules"] for row in parts) == pytest.approx(phases["run"]["energy_joules"])


def test_report_rebuilds_from_run_directory(first_run):
    _, run_dir, _ = first_run
    original = json.loads((run_dir / rundir.REPORT_JSON_FILE).read_text())
    report, markdown = rebuild_report(run_dir)
    assert report["energy"]["total_joules"] == pytest.approx(original["energy"]["total_joules"], rel=1e-6)
    assert "## Energy" in markdown and original["best_proxy"]["formula"] in markdown


@pytest.mark.usefixtures("no_figures")
def test_second_run_is_all_cache_hits(cache_dir, tmp_path, first_run):
    _, _, sink = run(tiny_profile(cache_dir), tmp_path / "again")
    progress = sink.of_type(ProbeProgress)
    assert progress[-1].cache_hits == progress[-1].total


@pytest.mark.usefixtures("no_figures")
def test_same_seed_same_best_formula_golden(first_run, cache_dir, tmp_path):
    """Seeded golden test on a fixed real-data slice (TSS, cifar10, stratified seed 0)."""
    _, run_dir, _ = first_run
    best = json.loads((run_dir / rundir.BEST_PROXY_FILE).read_text())
    _, again, _ = run(tiny_profile(cache_dir), tmp_path / "golden")
    assert json.loads((again / rundir.BEST_PROXY_FILE).read_text())["tree"] == best["tree"]
    assert best["formula"] == GOLDEN_FORMULA


#: Bank 4 (graph statistics added): the tiny run's best is a graph statistic; under bank 3 it was ``zico``.
GOLDEN_FORMULA = "weighted_path_count_log"


@pytest.mark.usefixtures("no_figures")
def test_stop_then_resume_equals_uninterrupted(first_run, cache_dir, tmp_path):
    _, run_dir, _ = first_run
    uninterrupted = json.loads((run_dir / rundir.BEST_PROXY_FILE).read_text())
    holder = {}

    def stop_after_two(event):
        if isinstance(event, GenerationDone) and event.generation == 2:
            holder["controller"].request_stop()

    stopped_dir = tmp_path / "stopped"
    controller = make_controller(tiny_profile(cache_dir), stop_after_two, run_dir=stopped_dir, meter=FakeMeter())
    holder["controller"] = controller
    controller.run()
    finished = [e for e in rundir.RunDirectory(stopped_dir).read_events() if isinstance(e, RunFinished)]
    assert finished[-1].status == "stopped"
    assert not (stopped_dir / rundir.REPORT_JSON_FILE).exists()
    sink = ListSink()
    resume_controller(stopped_dir, sink, meter=FakeMeter()).run()
    assert [e.generation for e in sink.of_type(GenerationDone)] == [3, 4]
    resumed = json.loads((stopped_dir / rundir.BEST_PROXY_FILE).read_text())
    assert resumed["tree"] == uninterrupted["tree"]


def test_resume_without_checkpoint_is_clear_error(tmp_path):
    from greenmachine.errors import GMError

    with pytest.raises(GMError, match="not a GreenMachine run directory"):
        resume_controller(tmp_path, ListSink())


@pytest.mark.usefixtures("no_figures")
def test_meter_startup_is_resolved_and_closed_by_the_run(cache_dir, tmp_path, first_run):
    from greenmachine.energy import MeterStartup

    startup = MeterStartup(False)
    controller = make_controller(tiny_profile(cache_dir), ListSink(), run_dir=tmp_path / "startup", meter=startup)
    controller.run()
    assert controller.meter is startup.result()
    assert controller.meter.open_spans() == []
    with pytest.raises(RuntimeError, match="closed"):
        controller.meter.start("after close")  # the run owned the meter and closed it


def test_meter_that_cannot_start_writes_nothing(cache_dir, tmp_path):
    from greenmachine.energy import EnergyMeterError, MeterStartup

    run_dir = tmp_path / "never"
    controller = make_controller(tiny_profile(cache_dir), ListSink(), run_dir=run_dir,
                               meter=MeterStartup(True, "XXX", gpu=False))
    with pytest.raises(EnergyMeterError, match="country"):
        controller.run()
    assert not run_dir.exists()


def test_hall_of_fame_report_and_figure_carry_the_probe_cost(first_run):
    _, run_dir, _ = first_run
    directory = rundir.RunDirectory(run_dir)
    for row in directory.read_hall_of_fame():
        assert row.probe_joules is not None and row.probe_joules > 0 and "structure" in row.probe_passes
        assert row.probe_energy in ("estimated", "measured")
    candidates = [row for row, _ in directory.read_cost_front()]
    best = max(row.validation_tau for row in candidates)
    near = [row for row in candidates if row.validation_tau >= best - 0.01]
    cheapest = directory.read_report()["probe_cost"]["cheapest_within"]
    assert cheapest["joules_per_network"] == pytest.approx(min(row.probe_joules for row in near), abs=1e-3)
    assert set(cheapest["test_tau"]) == {"cifar10"}
    assert "## Probe cost of the formulas" in (run_dir / rundir.REPORT_MD_FILE).read_text()
    assert (run_dir / "figures" / "cost_front.png").is_file()
