"""Figures of a run (greenmachine.report.figures), ``gm plot`` and ``test_scores.csv`` on a tiny real run."""

from __future__ import annotations

import math
import shutil
import time
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from typer.testing import CliRunner

from greenmachine.rundir import directory as rundir
from greenmachine.baselines.published import rank_correlations
from greenmachine.energy.testing import FakeMeter
from greenmachine.run.factory import make_controller
from greenmachine.errors import GMError
from greenmachine.events import ListSink, LogMessage, RunFinished
from greenmachine.rundir.directory import RunDirectory, TestScoreRow
from greenmachine.settings.profile import load_profile
from greenmachine.tui.cli import app

TINY = ["sampling.search=12", "sampling.validation=10", "sampling.test=10", "probe.batch_size=8",
        "evolution.population=12", "evolution.generations=3", "evolution.seed=0"]
FIGURES = ("tau", "energy", "test_scatter", "hall_of_fame", "cost_front")
runner = CliRunner()


@pytest.fixture(scope="module")
def cache(tiny_probe_cache):
    return tiny_probe_cache


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, cache):
    profile = load_profile("quick", [*TINY, f"probe.cache_dir='{cache}'"])
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    sink = ListSink()
    make_controller(profile, sink, run_dir=run_dir, meter=FakeMeter(clock=time.perf_counter)).run()
    return run_dir, sink


def assert_valid_figure(folder, stem):
    png = (folder / f"{stem}.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000, stem
    root = ElementTree.parse(folder / f"{stem}.svg").getroot()
    assert root.tag.endswith("svg")
    return "".join(root.itertext())


def test_run_writes_every_figure_with_its_context(tiny_run):
    run_dir, sink = tiny_run
    assert sink.events[-1].status == "completed"
    assert not [e for e in sink.events if isinstance(e, LogMessage) and e.level == "warning"]
    folder = run_dir / rundir.FIGURES_FOLDER
    for stem in FIGURES:
        text = assert_valid_figure(folder, stem)
        for context in ("TSS", "cifar10", "stratified (equal_width, 10 strata)", "seed 0 (sampling)"):
            assert context in text, (stem, context)
    assert "test n = 10" in assert_valid_figure(folder, "test_scatter")
    assert "n = 12/10/10" in assert_valid_figure(folder, "tau")
    assert "How obtained:" in assert_valid_figure(folder, "energy")
    markdown = (run_dir / rundir.REPORT_MD_FILE).read_text(encoding="utf-8")
    for stem in FIGURES:
        assert f"](figures/{stem}.png)" in markdown


def test_test_scores_match_the_report(tiny_run):
    run_dir, _ = tiny_run
    directory = RunDirectory(run_dir)
    rows = directory.read_test_scores()
    report = directory.read_report()
    assert len(rows) == report["test"]["cifar10"]["n"] == 10
    assert all(row.dataset == "cifar10" and row.arch.startswith("|") for row in rows)
    accuracy = np.array([row.accuracy for row in rows])
    evolved_tau = rank_correlations(np.array([row.evolved for row in rows]), accuracy)[0]
    assert evolved_tau == pytest.approx(report["test"]["cifar10"]["evolved"]["kendall_tau"], abs=1e-9)
    naswot_tau = rank_correlations(np.array([row.baselines["naswot"] for row in rows]), accuracy)[0]
    assert naswot_tau == pytest.approx(report["test"]["cifar10"]["baselines"]["naswot"]["kendall_tau"], abs=1e-9)


def test_test_scores_round_trip(tmp_path):
    rows = [TestScoreRow("cifar10", 7, "|nor_conv_3x3~0|+|none~0|skip_connect~1|", 91.5, 1.25e17,
                         {"naswot": 3.5, "zen": math.nan}),
            TestScoreRow("cifar10", 9, "|a~0|", 10.0, -2.0, {"naswot": -1.0, "zen": 0.5})]
    directory = RunDirectory(tmp_path)
    assert not directory.has_test_scores()
    directory.write_test_scores(rows)
    back = directory.read_test_scores()
    assert back[1] == rows[1]
    assert back[0].evolved == rows[0].evolved and back[0].baselines["naswot"] == 3.5
    assert math.isnan(back[0].baselines["zen"])
    (tmp_path / rundir.TEST_SCORES_FILE).write_text("dataset,arch\ncifar10,x\n", encoding="utf-8")
    with pytest.raises(GMError, match="unexpected header"):
        directory.read_test_scores()
    (tmp_path / rundir.TEST_SCORES_FILE).write_text(
        "dataset,network_index,arch,accuracy,evolved\ncifar10,1,|a~0|,high,1\n", encoding="utf-8")
    with pytest.raises(GMError, match="test_scores.csv:2 is corrupt"):
        directory.read_test_scores()


def test_gm_plot_redraws_and_says_what_it_cannot_draw(tiny_run, tmp_path):
    copy = tmp_path / "old-run"
    shutil.copytree(tiny_run[0], copy)
    (copy / rundir.TEST_SCORES_FILE).unlink()  # as a run made before test scores were saved
    result = runner.invoke(app, ["plot", str(copy)])
    assert result.exit_code == 0, result.output
    assert "not drawn: test_scatter: no test_scores.csv" in result.output
    assert not (copy / rundir.FIGURES_FOLDER / "test_scatter.svg").exists()
    for stem in ("tau", "energy", "hall_of_fame"):
        assert_valid_figure(copy / rundir.FIGURES_FOLDER, stem)
    assert not (copy / rundir.FIGURES_FOLDER / "test_scatter.png").exists()
    markdown = (copy / rundir.REPORT_MD_FILE).read_text(encoding="utf-8")
    assert "](figures/tau.png)" in markdown and "test_scatter" not in markdown


def test_gm_plot_skips_a_corrupt_event_line_and_says_so(tiny_run, tmp_path):
    target = tmp_path / "target"
    shutil.copytree(tiny_run[0], target)
    events = target / rundir.EVENTS_FILE
    events.write_text("{not json\n" + events.read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(app, ["plot", str(target)])
    assert result.exit_code == 0, result.output
    assert "not drawn: events: " in result.output and "events.jsonl:1 is corrupt" in result.output
    assert_valid_figure(target / rundir.FIGURES_FOLDER, "tau")


@pytest.mark.parametrize("make", ["missing", "not_a_run", "corrupt_hall_of_fame"])
def test_gm_plot_bad_input_is_one_error_line(tiny_run, tmp_path, make):
    target = tmp_path / "target"
    if make == "not_a_run":
        target.mkdir()
    elif make == "corrupt_hall_of_fame":
        shutil.copytree(tiny_run[0], target)
        (target / rundir.HALL_OF_FAME_FILE).write_text("size,x\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["plot", str(target)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gm: error:") and "Traceback" not in result.output


def test_a_figure_failure_is_a_warning_not_a_failed_run(tmp_path, monkeypatch, tiny_run, cache):
    import greenmachine.report.build

    def broken(run_dir, skipped=None):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(greenmachine.report.build, "draw_and_embed", broken)
    profile = load_profile("quick", [*TINY, "evolution.generations=1", f"probe.cache_dir='{cache}'"])
    sink = ListSink()
    make_controller(profile, sink, run_dir=tmp_path / "run", meter=FakeMeter(clock=time.perf_counter)).run()
    warnings = [e.message for e in sink.events if isinstance(e, LogMessage) and e.level == "warning"]
    assert warnings == ["figures not drawn: RuntimeError: no fonts"]
    assert isinstance(sink.events[-1], RunFinished) and sink.events[-1].status == "completed"


def test_one_scatter_per_dataset_of_a_multi_dataset_run(tiny_run, tmp_path):
    copy = tmp_path / "two-datasets"
    shutil.copytree(tiny_run[0], copy)
    directory = RunDirectory(copy)
    rows = directory.read_test_scores()
    directory.write_test_scores(rows + [TestScoreRow("cifar100", r.network_index, r.arch, r.accuracy / 2, r.evolved,
                                                     r.baselines) for r in rows])
    result = runner.invoke(app, ["plot", str(copy)])
    assert result.exit_code == 0, result.output
    folder = copy / rundir.FIGURES_FOLDER
    for dataset in ("cifar10", "cifar100"):
        assert f"· {dataset} ·" in assert_valid_figure(folder, f"test_scatter_{dataset}")
    markdown = (copy / rundir.REPORT_MD_FILE).read_text(encoding="utf-8")
    assert "](figures/test_scatter_cifar100.png)" in markdown and "— cifar100" in markdown
    assert not (folder / "test_scatter.png").exists()  # the single-dataset figure of the first drawing is gone
