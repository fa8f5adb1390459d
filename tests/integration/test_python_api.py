"""The Python API (``greenmachine.design``, ``evaluate``, ``search``, ``baselines``, ``resume``).

The example script ``examples/python_api.py`` runs every call on a tiny TSS sample (in a
subprocess, as a user runs it); the toy space of ``tests/toy_space.py`` carries the interrupt
and resume test (its networks probe in milliseconds). The keyword settings are checked to be
exactly the ``--set`` overrides of the command line.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import greenmachine as gm
from greenmachine.errors import GMError, ProfileError
from greenmachine.events import GenerationDone, RunFinished
from greenmachine.settings.profile import SamplingSettings, load_profile
from greenmachine.spaces import register_space, unregister_space

from toy_space import ToySpace, write_table

REPO = Path(__file__).resolve().parents[2]

TOY = dict(
    sampling={"mode": "random", "search": 16, "validation": 12, "test": 12, "seed": 0},
    probe={"batch_size": 8, "seed": 0, "workers": 1},
    evolution={"population": 12, "generations": 3, "seed": 0},
    energy={"enabled": False},
)


@pytest.fixture(scope="module")
def toy(tmp_path_factory, module_probe_cache):
    folder = tmp_path_factory.mktemp("toy")
    space = register_space(ToySpace(write_table(folder / "toy_space.csv.gz")))
    yield space
    unregister_space("toy")


def test_example_script_runs_every_call(tmp_path):
    env = {**os.environ, "GM_CACHE_DIR": str(tmp_path / "cache"), "GM_PROBE_WORKERS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(REPO / "examples" / "python_api.py"), str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for start in ("  generation 2/2", "formula:", "test tau:", "hall of fame:", "evaluate: tau", "search: found",
                  "baselines:", "load_proxy:"):
        assert any(line.startswith(start) for line in lines), (start, done.stdout[-3000:])
    assert (tmp_path / "out" / "design" / "report.json").is_file()
    assert (tmp_path / "out" / "search" / "report.json").is_file()
    assert "Total:" in done.stdout  # the energy report of design().summary()


def test_keyword_settings_are_the_set_overrides():
    by_keyword = gm.make_profile("quick", evolution={"population": 24, "seed": 3}, sampling={"mode": "random"})
    by_set = load_profile("quick", ["evolution.population=24", "evolution.seed=3", "sampling.mode=random"])
    assert by_keyword == by_set
    assert gm.make_profile("quick", "cifar100").benchmark.datasets == ("cifar100",)
    profile = gm.make_profile(by_set, probe={"batch_size": 4})  # a Profile object, overridden again
    assert (profile.probe.batch_size, profile.evolution.population) == (4, 24)


def test_a_space_name_starts_from_the_default_settings():
    profile = gm.make_profile("sss", "cifar100")
    assert (profile.name, profile.benchmark.space, profile.benchmark.datasets) == ("sss-cifar100", "sss", ("cifar100",))
    assert profile.evolution.population == 100 and profile.sampling.test == 1000


@pytest.mark.parametrize("settings, message", [
    ({"evolutoin": {"population": 5}}, "unknown settings section"),
    ({"evolution": 5}, "give a mapping"),
    ({"evolution": {"populaton": 5}}, "unknown key evolution.populaton"),
    ({"evolution": {"population": {"a": 1}}}, "cannot use"),
])
def test_bad_settings_are_one_profile_error(settings, message):
    with pytest.raises(ProfileError, match=message):
        gm.make_profile("quick", **settings)


def test_unknown_profile_or_space_names_both():
    with pytest.raises(ProfileError, match="unknown profile or space 'nope'.*quick.*tss"):
        gm.make_profile("nope")


def test_labels_map_to_sampling_labels():
    if "labels" in {item.name for item in dataclasses.fields(SamplingSettings)}:
        assert gm.make_profile("quick", labels=25).sampling.labels == 25
    else:
        with pytest.raises(ProfileError, match="sampling.labels"):
            gm.make_profile("quick", labels=25)


def test_design_refuses_a_non_empty_out(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(GMError, match="exists and is not empty"):
        gm.design("quick", out=tmp_path / "taken")


def test_search_and_baselines_are_callable_packages():
    import greenmachine.search.run as search_run  # the packages stay packages

    from greenmachine.search import run_search

    assert callable(gm.search) and callable(gm.baselines)
    assert gm.search.run_search is run_search is search_run.run_search
    with pytest.raises(GMError, match="unknown strategy"):
        gm.search("random", budget=5, strategy="nope")


def test_a_proxy_without_a_file_is_one_error():
    proxy = dataclasses.replace(gm.load_proxy("tss-cifar10"), name="made in memory")
    with pytest.raises(GMError, match="no file to read it from"):
        gm.evaluate(proxy)


def test_interrupt_leaves_a_resumable_run(toy, tmp_path):
    """A first interrupt stops after the generation; resume() ends as an uninterrupted run."""
    events = []
    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN under a background job

    def interrupt_once(event):
        events.append(event)
        if isinstance(event, GenerationDone) and event.generation == 1:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends: stop after this generation

    with pytest.raises(gm.RunInterrupted) as stopped:
        gm.design("toy", "cifar10", out=tmp_path / "stopped", on_event=interrupt_once, **TOY)
    run_dir = stopped.value.run_dir
    assert run_dir == tmp_path / "stopped" and (run_dir / "checkpoint.json").is_file()
    assert not (run_dir / "report.json").exists()
    assert [e.status for e in events if isinstance(e, RunFinished)] == ["stopped"]
    assert signal.getsignal(signal.SIGINT) == before  # the caller's handler is put back

    resumed = gm.resume(run_dir)
    whole = gm.design("toy", "cifar10", out=tmp_path / "whole", **TOY)
    assert resumed.formula == whole.formula and resumed.test_tau == whole.test_tau
    assert resumed.report["evolution"]["generations"] == 3
    assert {row["sample"] for row in whole.rows()} == {"validation", "test"}
    assert whole.hall_of_fame and set(whole.hall_of_fame[0]) >= {"size", "validation_tau", "formula"}
    assert "tree" not in whole.hall_of_fame[0]
    scores = gm.baselines("toy", "cifar10", **TOY)[0]
    assert scores.proxy is None and scores.n == 12 and scores.rows()[0]["proxy"] in scores.baselines
