"""Design from few labels (``sampling.labels``, ``gm run --labels N``): settings, split, nesting, disjointness.

The draws are checked on the real TSS CIFAR-10 ground truth (embedded copy); the end-to-end
run uses the toy space of ``tests/toy_space.py`` (64 networks).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from greenmachine.benchmark.tables import load_benchmark
from greenmachine.errors import GMError, ProfileError
from greenmachine.sampling.few_labels import MIN_LABELS, labelled_order, split_labelled, split_sizes
from greenmachine.sampling.samples import draw_samples, stratum_of
from greenmachine.settings.profile import SamplingSettings, load_profile, load_profile_text

from toy_space import ToySpace, write_table


@pytest.fixture(scope="module")
def accuracy():
    return load_benchmark("tss").accuracy("cifar10")


def _labelled(samples):
    return np.union1d(samples.search, samples.validation)


# ----------------------------------------------------------------------------- settings


def test_labels_key_validates_and_round_trips():
    profile = load_profile("quick", ["sampling.labels=25"])
    assert profile.sampling.labels == 25
    assert "labels = 25" in profile.to_toml()
    assert load_profile_text(profile.to_toml(), "copy") == profile
    # off by default, and then not written (run folders written before the key read the same)
    assert "labels" not in load_profile("quick").to_toml()


@pytest.mark.parametrize("value,fragment", [
    ("9", "sampling.labels must be 0 (off) or at least 10"),
    ("1", "sampling.labels must be 0 (off) or at least 10"),
    ("-3", "sampling.labels must be >= 0"),
    ("many", "sampling.labels must be an integer"),
])
def test_too_few_labels_is_one_clear_error(value, fragment):
    with pytest.raises(ProfileError) as error:
        load_profile("quick", [f"sampling.labels={value}"])
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_stratified_labels_need_at_least_one_label_per_stratum():
    with pytest.raises(ProfileError, match=r"sampling.strata \(20\) must not exceed the smallest sample size \(12\)"):
        load_profile("quick", ["sampling.labels=12", "sampling.strata=20"])
    assert load_profile("quick", ["sampling.labels=12", "sampling.strata=20", "sampling.mode=random"]).sampling.labels == 12


# ----------------------------------------------------------------------------- split


@pytest.mark.parametrize("labels,expected", [(10, (5, 5)), (12, (7, 5)), (25, (17, 8)), (50, (33, 17)),
                                             (100, (67, 33)), (200, (133, 67)), (400, (267, 133))])
def test_split_sizes_are_two_thirds_search_with_a_minimum_validation(labels, expected):
    assert split_sizes(labels) == expected


def test_split_sizes_refuse_too_few_labels():
    with pytest.raises(GMError, match="at least 10"):
        split_sizes(MIN_LABELS - 1)


def test_validation_spans_the_labelled_accuracy_range(accuracy):
    rng = np.random.default_rng(4)
    labelled = rng.choice(len(accuracy), size=25, replace=False)
    search, validation = split_labelled(labelled, accuracy, rng)
    assert (len(search), len(validation)) == (17, 8)
    assert np.array_equal(np.union1d(search, validation), np.sort(labelled))
    assert len(np.intersect1d(search, validation)) == 0
    # one validation network per block of the labelled networks in accuracy order
    ranked = labelled[np.argsort(accuracy[labelled], kind="stable")]
    blocks = np.linspace(0, 25, 9).round().astype(int)
    positions = np.sort([int(np.flatnonzero(ranked == v)[0]) for v in validation])
    assert all(start <= position < stop for position, start, stop in zip(positions, blocks[:-1], blocks[1:]))


# ----------------------------------------------------------------------------- draws


@pytest.mark.parametrize("mode", ["random", "stratified"])
def test_labelled_pools_are_nested_and_the_test_sample_is_fixed(accuracy, mode):
    previous = None
    test = None
    for labels in (25, 50, 100, 200):
        samples = draw_samples(accuracy, SamplingSettings(mode=mode, labels=labels, test=300, seed=7))
        labelled = _labelled(samples)
        assert (len(samples.search), len(samples.validation)) == split_sizes(labels)
        assert len(labelled) == labels
        assert samples.test_mode == "random" and len(samples.test) == 300
        assert not np.isin(samples.test, labelled).any()
        if previous is not None:
            assert np.isin(previous, labelled).all()
            assert np.array_equal(samples.test, test)
        previous, test = labelled, samples.test
    again = draw_samples(accuracy, SamplingSettings(mode=mode, labels=200, test=300, seed=7))
    assert np.array_equal(again.search, samples.search) and np.array_equal(again.validation, samples.validation)
    other = draw_samples(accuracy, SamplingSettings(mode=mode, labels=200, test=300, seed=8))
    assert not np.array_equal(other.test, samples.test)


def test_test_is_the_rest_of_the_space_when_few_networks_are_left(accuracy):
    small = accuracy[:500]
    samples = draw_samples(small, SamplingSettings(mode="random", labels=50, test=1000, seed=0))
    assert samples.test_mode == "rest"
    assert len(samples.test) == 450
    assert np.array_equal(np.union1d(samples.test, _labelled(samples)), np.arange(500))
    assert "every unlabelled network of the space (500 less the 50 labelled" in samples.describe()
    assert samples.sampling_record()["labels"] == 50


def test_too_many_labels_leave_no_test(accuracy):
    with pytest.raises(GMError, match="50 labelled networks leave 5 for the test"):
        draw_samples(accuracy[:55], SamplingSettings(mode="random", labels=50, test=1000, seed=0), "the table")


def test_every_prefix_of_a_stratified_order_is_stratified(accuracy):
    order = labelled_order(accuracy, 57, "stratified", np.random.default_rng(1), np.ones(len(accuracy), bool), 10,
                           "equal_width")
    strata = stratum_of(accuracy, 10, "equal_width")
    population = np.bincount(strata, minlength=10)
    counts = np.bincount(strata[order], minlength=10)
    assert len(np.unique(order)) == 57
    # sparse strata give all they have, the others are within one of each other
    short = counts < counts.max() - 1
    assert np.array_equal(counts[short], population[short])
    assert counts[~short].max() - counts[~short].min() <= 1


# ----------------------------------------------------------------------------- end to end


@pytest.fixture
def toy(tmp_path):
    from greenmachine.spaces import register_space, unregister_space

    space = register_space(ToySpace(write_table(tmp_path / "toy_space.csv.gz")))
    yield space
    unregister_space("toy")


def test_gm_run_labels_designs_a_proxy_on_the_toy_space(toy, tmp_path):
    from greenmachine.tui.cli import app

    profile = tmp_path / "toy.toml"
    profile.write_text(
        'name = "toy"\n[benchmark]\nspace = "toy"\ndatasets = ["cifar10"]\n'
        '[sampling]\nmode = "random"\ntest = 12\nseed = 0\n'
        f'[probe]\nbatch_size = 8\nseed = 0\ncache_dir = "{tmp_path / "cache"}"\n'
        '[evolution]\npopulation = 12\ngenerations = 2\nseed = 0\nhall_of_fame = 5\n'
        '[energy]\nenabled = false\n[export]\nsimplify_timeout = 0.5\n'
    )
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(profile), "--labels", "5", "--out", str(tmp_path / "none")])
    assert result.exit_code == 2 and "sampling.labels must be 0 (off) or at least 10" in result.output
    assert not (tmp_path / "none").exists()
    result = runner.invoke(app, ["run", str(profile), "--labels", "25", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    sampling = report["sampling"]
    assert sampling["labels"] == 25 and sampling["test_mode"] == "random"
    assert sampling["sizes"] == {"search": 17, "validation": 8, "test": 12}
    assert report["test"]["cifar10"]["n"] == 12
    assert "uniform random of the space's 64 networks, seed 0, drawn before the 25 labelled" in result.output
    assert "designed from 25 labelled networks" in (tmp_path / "run" / "report.md").read_text()
    # the run directory's profile draws the same networks again (gm eval excludes them)
    from greenmachine.evaluation.evaluate import proxy_own_networks

    own, _ = proxy_own_networks(tmp_path / "run", {}, "toy")
    scored = json.loads((tmp_path / "run" / "best_proxy.json").read_text())
    assert len(own) == 25 and scored["search_tau"] is not None
    test_rows = (tmp_path / "run" / "test_scores.csv").read_text().splitlines()[1:]
    assert len(test_rows) == 12
    assert report["probe"]["networks"] == 25 + 12


# ----------------------------------------------------------------------------- the study (scripts/few_labels.py)


def _script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "few_labels.py"
    spec = importlib.util.spec_from_file_location("few_labels_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mode", ["random", "stratified"])
def test_study_test_set_is_fixed_and_never_labelled(mode):
    from greenmachine.repeats.few_labels import plan_study

    profile = load_profile("quick", [f"sampling.mode={mode}", "sampling.test=300", "sampling.seed=3"])
    plan = plan_study(profile, [100, 25, 50])
    assert plan.counts == (25, 50, 100) and plan.nested
    assert len(plan.common_test) == 300
    for count in plan.counts:
        assert np.array_equal(plan.draws[count].test, plan.common_test)
        assert len(plan.labelled(count)) == count
    assert not np.isin(plan.common_test, plan.all_labelled()).any()
    assert np.array_equal(plan.all_labelled(), plan.labelled(100))
    assert plan.context()["labels"]["25"] == {"search": 17, "validation": 8, "own_test_n": 300}


def test_study_of_the_rest_of_a_small_space_tests_outside_the_largest_labelled_set(toy, tmp_path):
    from greenmachine.repeats.few_labels import plan_study

    profile_path = tmp_path / "toy.toml"
    profile_path.write_text('name = "toy"\n[benchmark]\nspace = "toy"\ndatasets = ["cifar10"]\n'
                            '[sampling]\nmode = "random"\ntest = 1000000\nseed = 0\n')
    plan = plan_study(load_profile(str(profile_path)), [10, 20])
    assert plan.draws[10].test_mode == "rest" and len(plan.draws[10].test) == 54
    assert len(plan.common_test) == 44
    assert np.array_equal(np.union1d(plan.common_test, plan.labelled(20)), np.arange(64))
    assert "outside the 20 labelled networks of the largest N" in plan.test_description()


@pytest.mark.parametrize("text,fragment", [("25,x", "comma-separated list"), ("25,25", "given twice"),
                                           ("9,25", "at least 10")])
def test_study_label_counts_are_checked(text, fragment):
    from greenmachine.repeats.few_labels import parse_counts

    with pytest.raises(GMError, match=fragment):
        parse_counts(text)


def test_study_options_become_profile_overrides():
    script = _script()
    arguments = script.parse_arguments(["quick", "--labels", "25,50", "--test", "all", "--population", "30",
                                        "--generations", "4", "--no-energy", "--set", "probe.batch_size=8"])
    overrides = script.study_overrides(arguments)
    assert overrides == ["sampling.test=1000000", "sampling.mode=random", "evolution.population=30",
                         "evolution.generations=4", "energy.enabled=false", "probe.batch_size=8"]
    with pytest.raises(GMError, match="the labels come from --labels"):
        script.study_overrides(script.parse_arguments(["quick", "--labels", "25", "--set", "sampling.labels=30"]))


@pytest.mark.slow
def test_study_script_runs_end_to_end_on_the_toy_space(toy, tmp_path):
    script = _script()
    profile_path = tmp_path / "toy.toml"
    profile_path.write_text(
        'name = "toy"\n[benchmark]\nspace = "toy"\ndatasets = ["cifar10"]\n[sampling]\nseed = 0\n'
        f'[probe]\nbatch_size = 8\nseed = 0\ncache_dir = "{tmp_path / "cache"}"\nworkers = 1\n'
        '[export]\nsimplify_timeout = 0.5\n')
    out = tmp_path / "study"
    assert script.main([str(profile_path), "--labels", "10,20", "--seeds", "0,1", "--test", "all", "--population",
                        "8", "--generations", "2", "--no-energy", "--out", str(out)]) == 0
    data = json.loads((out / "few_labels.json").read_text())
    assert data["context"]["test"]["n"] == 44 and data["context"]["nested"]
    assert set(data["per_labels"]) == {"10", "20"}
    for row in data["per_labels"].values():
        assert row["test_tau"]["n"] == 2 and len(row["seeds"]) == 2
    assert "synflow" in data["baselines"]
    assert (out / "few_labels.png").is_file() and (out / "few_labels.md").is_file()


def test_tui_header_shows_the_labelled_split_before_the_run_starts():
    from types import SimpleNamespace

    from greenmachine.tui.screens.run import RunScreen

    shown = {}
    screen = SimpleNamespace(header=SimpleNamespace(set_run=lambda **values: shown.update(values)))
    RunScreen.show_profile(screen, load_profile("quick", ["sampling.labels=25", "sampling.mode=random"]))
    assert shown["sampling_mode"] == "25 labelled networks drawn random"
    assert (shown["sample_sizes"]["search"], shown["sample_sizes"]["validation"]) == (17, 8)
