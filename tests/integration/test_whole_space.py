"""Whole-space probing and evaluation on the 64-network toy space.

``gm probe --all`` fills the cache for every network and resumes from it; ``gm eval --sample
all`` scores a run's proxy on every network except that run's search and validation
networks, and no sample mode ever includes them.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from typer.testing import CliRunner

from greenmachine.evaluation.evaluate import profile_samples, proxy_own_networks
from greenmachine.rundir.directory import RunDirectory
from greenmachine.settings.profile import profile_from_mapping
from greenmachine.spaces import register_space, unregister_space
from greenmachine.tui.cli import app
from toy_space import ToySpace, write_table

pytestmark = pytest.mark.skipif(not os.environ.get("GM_DATA_DIR"), reason="needs the CIFAR-10 images (GM_DATA_DIR)")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy-whole")
    space = register_space(ToySpace(write_table(folder / "toy_space.csv.gz")))
    yield space
    unregister_space("toy")


@pytest.fixture()
def run_dir(toy, tmp_path, monkeypatch):
    """A run directory of the toy space: its profile and a proxy (the shipped tree)."""
    monkeypatch.setenv("GM_CACHE_DIR", str(tmp_path / "cache"))
    profile = profile_from_mapping({
        "name": "toy", "benchmark": {"space": "toy", "datasets": ["cifar10"]},
        "sampling": {"mode": "stratified", "strata": 4, "search": 16, "validation": 12, "test": 12, "seed": 0},
        "probe": {"batch_size": 4, "seed": 0},
    })
    directory = RunDirectory(tmp_path / "run")
    directory.write_profile(profile)
    shipped = json.loads(open("core/proxies/tss-cifar10.json").read())
    directory.write_best_proxy({key: shipped[key] for key in ("tree", "formula", "simplified", "statistics")}
                               | {"space": "toy", "datasets": ["cifar10"], "probe": {"batch_size": 4, "seed": 0}})
    return tmp_path / "run", profile


def test_eval_never_includes_the_runs_own_networks(run_dir, tmp_path):
    path, profile = run_dir
    _, samples = profile_samples(profile)
    own = set(samples.search) | set(samples.validation)
    assert set(proxy_own_networks(path, {}, "toy")[0]) == own and len(own) == 28
    runner = CliRunner()
    result = runner.invoke(app, ["eval", str(path / "best_proxy.json"), "--sample", "all", "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    assert "n=36, the whole space minus 28 search/validation networks" in result.output
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["n"] == 36 and data["sampling"]["excluded"] == 28 and data["probe"] == {"batch_size": 4, "seed": 0}
    # a random sample as large as what is left is exactly the rest of the space
    result = runner.invoke(app, ["eval", str(path), "--sample", "random", "--n", "36", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["proxy"]["kendall_tau"] == data["proxy"]["kendall_tau"]
    result = runner.invoke(app, ["eval", str(path), "--sample", "random", "--n", "37"])
    assert result.exit_code == 2 and "only 36 are left" in result.output


def test_probe_all_fills_the_cache_and_resumes(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("GM_CACHE_DIR", str(tmp_path / "cache"))
    runner = CliRunner()
    result = runner.invoke(app, ["probe", "--all", "--space", "toy", "--dataset", "cifar10", "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    assert "probed 64 networks (0 were cached)" in result.output
    # the probe's energy on this machine, per probed network, with how it was obtained
    assert re.search(r"energy [0-9.]+ J \([0-9.]+ Wh\), [0-9.]+ J per probed network on this machine \(cpu: ",
                     result.output), result.output
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 64
    result = runner.invoke(app, ["probe", "--all", "--space", "toy", "--dataset", "cifar10", "--batch-size", "4",
                                 "--no-energy"])
    assert "probed 64 networks (64 were cached)" in result.output
    assert "time " in result.output and "energy" not in result.output
    result = runner.invoke(app, ["probe", "quick", "--all"])
    assert result.exit_code == 2 and "--all takes no PROFILE" in result.output
