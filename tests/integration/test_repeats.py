"""Seed repeats: ``gm run PROFILE --seeds/--repeat/--probe-seeds``, the folder's summary and ``gm summary``.

The fast tests make one tiny repeat folder (2 evolution seeds x probe seed 0, the 32 TSS
networks of the shared tiny sample, batch 8, 4 generations of 12 trees) whose second run is
stopped after one generation and then resumed, from the module's copy of the session's tiny
probe cache (``tiny_probe_cache`` in ``tests/conftest.py``); the statistics are checked
against figures recomputed from each run's own files. The slow test runs the 2 x 2 grid
through ``gm`` in a subprocess and interrupts it with Ctrl-C.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau
from typer.testing import CliRunner

from greenmachine.errors import GMError
from greenmachine.events import GenerationDone, ListSink, LogMessage
from greenmachine.repeats.runner import (
    PLAN_FILE,
    RepeatRunner,
    parse_repeat,
    parse_seed_list,
    plan_from_options,
    prepare_folder,
)
from greenmachine.repeats.summary import SUMMARY_JSON_FILE, SUMMARY_MD_FILE, energy_label, mean_and_sd, summarize
from greenmachine.rundir.directory import REPORT_JSON_FILE, RunDirectory
from greenmachine.tui.cli import app

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "sampling.search=12", "sampling.validation=10", "sampling.test=10", "probe.batch_size=8",
    "evolution.population=12", "evolution.generations=4", "energy.enabled=false",
]
TINY_ARGUMENTS = sum((["--set", override] for override in TINY), [])
runner = CliRunner()


@pytest.fixture(scope="module")
def cache_dir(tiny_probe_cache):
    return tiny_probe_cache


def stop_in_second_run(holder):
    """A sink that stops the repeat after the first generation of its second run."""
    sink = ListSink()

    def watch(event):
        sink(event)
        started = [e for e in sink.of_type(LogMessage) if "starting" in e.message]
        if len(started) == 2 and isinstance(event, GenerationDone) and event.generation == 1:
            holder["runner"].request_stop()

    return watch, sink


@pytest.fixture(scope="module")
def interrupted(cache_dir, tmp_path_factory):
    """A folder of ``--repeat 2`` whose second run was stopped after one generation, and its partial summary."""
    folder = tmp_path_factory.mktemp("repeats") / "seeds"
    plan = plan_from_options("quick", TINY, None, "2", None)
    holder = {}
    watch, _ = stop_in_second_run(holder)
    holder["runner"] = RepeatRunner(plan, folder, watch)  # energy.enabled = false: the meter of `gm run`
    summary = holder["runner"].run()
    return folder, summary


@pytest.fixture(scope="module")
def resumed(interrupted, tmp_path_factory):
    """The interrupted folder copied and finished by rerunning the same ``gm run`` command."""
    folder = tmp_path_factory.mktemp("repeats") / "resumed"
    shutil.copytree(interrupted[0], folder)
    before = (folder / "evolution-0-probe-0" / REPORT_JSON_FILE).stat().st_mtime_ns
    result = runner.invoke(app, ["run", "quick", *TINY_ARGUMENTS, "--repeat", "2", "--out", str(folder)])
    return folder, result, before


# -- parsing and bad input -----------------------------------------------------------------------


def test_seed_lists_parse():
    assert parse_seed_list("0,1,2", "--seeds") == (0, 1, 2)
    assert parse_seed_list(" 7 , 3", "--seeds") == (7, 3)
    assert parse_repeat("3") == 3


@pytest.mark.parametrize(
    "arguments, fragment",
    [
        (["--seeds", "0,1", "--repeat", "2"], "either --seeds or --repeat"),
        (["--repeat", "-1"], "must be 1 or more"),
        (["--repeat", "0"], "must be 1 or more"),
        (["--repeat", "two"], "expected a whole number"),
        (["--seeds", "0,x"], "'x' is not a seed"),
        (["--seeds", "0,,2"], "empty item"),
        (["--seeds", "1,2,1"], "seed 1 is given twice"),
        (["--seeds", "-3"], "seed -3 is negative"),
        (["--seeds", "99999999999"], "above"),
        (["--probe-seeds", "0,0"], "--probe-seeds '0,0': seed 0 is given twice"),
        (["--seeds", ""], "comma-separated list"),
        (["--seeds", "0", "--set", "evolution.seed=4"], "the evolution seeds come from --seeds"),
        (["--probe-seeds", "1", "--set", "probe.seed=4"], "the probe seeds come from --probe-seeds"),
    ],
)
def test_bad_seed_input_is_one_line_and_writes_nothing(tmp_path, arguments, fragment):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "quick", *arguments, "--out", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gm: error:") and fragment in lines[0], result.output
    assert not out.exists()


def test_resume_option_with_seeds_is_one_line():
    result = runner.invoke(app, ["run", "--resume", "somewhere", "--repeat", "2"])
    assert result.exit_code == 2 and "--resume is for one run" in result.output


def test_out_folder_that_is_not_a_repeat_folder_is_refused(tmp_path):
    (tmp_path / "other.txt").write_text("keep me")
    result = runner.invoke(app, ["run", "quick", "--repeat", "2", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "holds no plan.json" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt"]


def test_rerun_with_other_settings_or_seeds_is_refused(interrupted):
    folder = interrupted[0]
    with pytest.raises(GMError, match="other settings"):
        prepare_folder(folder, plan_from_options("quick", [*TINY, "evolution.population=13"], None, "2", None))
    with pytest.raises(GMError, match="give the same seeds"):
        prepare_folder(folder, plan_from_options("quick", TINY, None, "3", None))
    # where the probes run changes no figure: a rerun with other workers resumes
    assert prepare_folder(folder, plan_from_options("quick", [*TINY, "probe.workers=2"], None, "2", None)) is True


def test_mean_and_sd_is_the_sample_sd_over_defined_values():
    values = [0.5, 0.25, None, 0.75, float("nan")]
    result = mean_and_sd(values)
    assert result["n"] == 3
    assert math.isclose(result["mean"], statistics.mean([0.5, 0.25, 0.75]))
    assert math.isclose(result["sd"], statistics.stdev([0.5, 0.25, 0.75]))
    assert mean_and_sd([0.3]) == {"mean": 0.3, "sd": None, "n": 1}
    assert mean_and_sd([None]) == {"mean": None, "sd": None, "n": 0}


def test_energy_label_follows_the_report_methods():
    assert energy_label({"cpu": "measured (RAPL)", "gpu": "measured (NVML energy counter)", "ram": "absent"}) == "measured"
    assert energy_label({"cpu": "estimated (codecarbon CPU-load model)", "ram": "estimated (codecarbon RAM model)",
                         "gpu": "absent (no GPU)"}) == "estimated"
    assert energy_label({"cpu": "estimated (x)", "gpu": "measured (y)"}) == "estimated: cpu; measured: gpu"
    assert energy_label({"cpu": "not measured", "gpu": "not measured"}) == "not measured"


# -- the interrupted folder and its partial summary ------------------------------------------------


def test_stopped_repeat_keeps_finished_runs_and_writes_a_partial_summary(interrupted):
    folder, summary = interrupted
    assert RunDirectory(folder / "evolution-0-probe-0").is_completed()
    second = RunDirectory(folder / "evolution-1-probe-0")
    assert second.is_run_directory() and not second.is_completed() and second.has_checkpoint()
    written = json.loads((folder / SUMMARY_JSON_FILE).read_text())
    assert written == json.loads(json.dumps(summary))
    assert (written["complete"], written["planned"], written["finished"]) == (False, 2, 1)
    assert [row["name"] for row in written["missing"]] == ["evolution-1-probe-0"]
    assert written["missing"][0]["status"].startswith("incomplete")
    markdown = (folder / SUMMARY_MD_FILE).read_text()
    assert "Partial summary: 1 of 2 runs finished" in markdown and "evolution-1-probe-0 (incomplete" in markdown


def test_rerun_skips_finished_runs_and_resumes_the_stopped_one(resumed):
    folder, result, before = resumed
    assert result.exit_code == 0, result.output
    assert "run 1/2 evolution-0-probe-0: already complete, skipped" in result.output
    assert "resumed after generation 1" in result.output
    assert (folder / "evolution-0-probe-0" / REPORT_JSON_FILE).stat().st_mtime_ns == before
    summary = json.loads((folder / SUMMARY_JSON_FILE).read_text())
    assert (summary["complete"], summary["finished"], summary["missing"]) == (True, 2, [])
    assert result.output.strip().splitlines()[-1] == str(folder / SUMMARY_MD_FILE)


# -- the statistics against each run's own files ---------------------------------------------------


def test_summary_statistics_match_the_runs_own_files(resumed):
    folder = resumed[0]
    summary = summarize(folder)
    rows = {row["name"]: row for row in summary["combinations"]}
    assert sorted(rows) == ["evolution-0-probe-0", "evolution-1-probe-0"]
    tests, validations = [], []
    baseline_tests = {}
    for name, row in rows.items():
        directory = RunDirectory(folder / name)
        scores = directory.read_test_scores()
        accuracy = np.array([score.accuracy for score in scores])
        evolved = kendalltau([score.evolved for score in scores], accuracy).statistic
        assert math.isclose(row["test"]["cifar10"]["evolved"], evolved, abs_tol=1e-9)
        for baseline in ("naswot", "synflow"):
            value = kendalltau([score.baselines[baseline] for score in scores], accuracy).statistic
            baseline_tests.setdefault(baseline, []).append(value)
        best = directory.read_best_proxy()
        assert math.isclose(row["validation"]["cifar10"]["evolved"], best["validation_tau"], abs_tol=1e-9)
        assert row["formula"] in (best["simplified"], best["formula"])
        assert (row["evolution_seed"], row["probe_seed"]) == (directory.read_profile().evolution.seed, 0)
        tests.append(evolved)
        validations.append(best["validation_tau"])
    statistics_ = summary["statistics"]["cifar10"]
    assert statistics_["evolved"]["test"]["n"] == 2
    assert math.isclose(statistics_["evolved"]["test"]["mean"], statistics.mean(tests))
    assert math.isclose(statistics_["evolved"]["test"]["sd"], statistics.stdev(tests))
    assert math.isclose(statistics_["evolved"]["validation"]["mean"], statistics.mean(validations))
    for baseline, values in baseline_tests.items():
        assert math.isclose(statistics_[baseline]["test"]["mean"], statistics.mean(values), abs_tol=1e-9)
        assert statistics_[baseline]["validation"]["n"] == 2
    context = summary["context"]
    assert context["sampling"]["sizes"] == {"search": 12, "validation": 10, "test": 10}
    assert (context["evolution_seeds"], context["probe_seeds"], context["probe_batch_size"]) == ([0, 1], [0], 8)
    assert context["bank_versions"] and summary["energy"]["labels"] == ["not measured"]


def test_summary_markdown_states_the_context(resumed):
    markdown = (resumed[0] / SUMMARY_MD_FILE).read_text()
    for fragment in ("All 2 runs finished", "search n=12, validation n=10, test n=10", "probe seeds (minibatch and weights) 0",
                     "evolution seeds 0, 1", "fewer than the 3 x 2 the field reports", "(n=2)", "| **evolved** |"):
        assert fragment in markdown


def test_gm_summary_rebuilds_the_same_summary(resumed, tmp_path):
    folder = resumed[0]
    expected = json.loads((folder / SUMMARY_JSON_FILE).read_text())
    (folder / SUMMARY_JSON_FILE).unlink()
    result = runner.invoke(app, ["summary", str(folder)])
    assert result.exit_code == 0, result.output
    assert "## Kendall τ over runs — cifar10" in result.output
    assert json.loads((folder / SUMMARY_JSON_FILE).read_text()) == expected
    # run directories gathered without a plan: summarised over the run directories inside
    gathered = tmp_path / "gathered"
    for name in ("evolution-0-probe-0", "evolution-1-probe-0"):
        shutil.copytree(folder / name, gathered / name)
    assert summarize(gathered)["statistics"] == expected["statistics"]


def test_gm_summary_of_a_folder_without_runs_is_one_line(tmp_path):
    result = runner.invoke(app, ["summary", str(tmp_path)])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "nothing to summarise" in result.output
    (tmp_path / PLAN_FILE).write_text("{broken")
    result = runner.invoke(app, ["summary", str(tmp_path)])
    assert result.exit_code == 2 and "plan.json is corrupt" in result.output


# -- the whole grid through gm, interrupted with Ctrl-C ---------------------------------------------


@pytest.mark.slow
def test_ctrl_c_keeps_finished_runs_then_the_rerun_completes_the_grid(cache_dir, tmp_path):
    folder = tmp_path / "grid"
    arguments = [sys.executable, "-m", "greenmachine.tui.cli", "run", "quick", *TINY_ARGUMENTS, "--seeds", "0,1",
                 "--probe-seeds", "0,1", "--out", str(folder)]
    environment = dict(os.environ, GM_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    deadline = time.monotonic() + 600
    while not (folder / "evolution-0-probe-1" / REPORT_JSON_FILE).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 3, stderr
    assert "partial summary" in stderr
    partial = json.loads((folder / SUMMARY_JSON_FILE).read_text())
    assert not partial["complete"] and partial["finished"] >= 2
    result = subprocess.run(arguments, capture_output=True, text=True, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr
    summary = json.loads((folder / SUMMARY_JSON_FILE).read_text())
    assert summary["complete"] and summary["finished"] == 4
    assert summary["statistics"]["cifar10"]["evolved"]["test"]["n"] == 4
    assert {(row["evolution_seed"], row["probe_seed"]) for row in summary["combinations"]} == {
        (0, 0), (0, 1), (1, 0), (1, 1)}
