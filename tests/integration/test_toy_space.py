"""A third search space defined only in the tests runs through the whole product.

``tests/toy_space.py`` is the space (one module); its table is written here. The benchmark
loader, the probe, evolution (a whole ``RunController`` run), ``gm eval`` and
``gm baselines`` use it through the registry, with no change to GreenMachine's code.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from greenmachine.benchmark.tables import load_benchmark
from greenmachine.errors import ArchStringError, GMError
from greenmachine.events import ListSink
from greenmachine.settings.profile import profile_from_mapping
from greenmachine.spaces import get_space, register_space, space_names, unregister_space

from toy_space import ToySpace, write_table

PROFILE = {
    "name": "toy",
    "benchmark": {"space": "toy", "datasets": ["cifar10"]},
    "sampling": {"mode": "random", "search": 16, "validation": 12, "test": 12, "seed": 0},
    "probe": {"batch_size": 8, "seed": 0},
    "evolution": {"population": 12, "generations": 3, "seed": 0},
    "energy": {"enabled": False},
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    space = register_space(ToySpace(write_table(folder / "toy_space.csv.gz")))
    yield space, folder
    unregister_space("toy")


def _profile_file(folder, cache):
    lines = []
    for section, values in PROFILE.items():
        if not isinstance(values, dict):
            lines.insert(0, f'{section} = "{values}"')
            continue
        lines.append(f"[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {json.dumps(value)}" if not isinstance(value, bool) else f"{key} = {str(value).lower()}")
        if section == "probe":
            lines.append(f'cache_dir = "{cache}"')
    path = folder / "toy.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_registry_knows_the_toy_space(toy):
    space, _ = toy
    assert "toy" in space_names() and get_space("toy") is space
    with pytest.raises(GMError, match="already registered"):
        register_space(ToySpace(space.table))
    with pytest.raises(ArchStringError, match="invalid toy arch"):
        space.parse("w9-d1-k3")
    benchmark = load_benchmark("toy")
    assert len(benchmark) == 64 and benchmark.arch(5) == "w4-d2-k3"
    assert benchmark.accuracy("cifar10").shape == (64,)
    with pytest.raises(GMError, match="unknown dataset"):
        profile_from_mapping({**PROFILE, "benchmark": {"space": "toy", "datasets": ["cifar100"]}})


def test_evolution_eval_and_baselines_run_on_the_toy_space(toy, tmp_path):
    from greenmachine.run.factory import make_controller
    from greenmachine.settings.profile import load_profile
    from greenmachine.tui.cli import app

    cache = tmp_path / "cache"
    profile_path = _profile_file(tmp_path, cache)
    profile = load_profile(str(profile_path))
    run_dir = make_controller(profile, ListSink(), run_dir=tmp_path / "run").run()
    report = json.loads((run_dir / "report.json").read_text())
    assert report["space"] == "toy"
    assert report["ground_truth_note"] == ToySpace.ground_truth_note
    assert report["probe"]["networks"] == 16 + 12 + 12
    assert report["evolution"]["generations"] == 3
    test = report["test"]["cifar10"]
    assert test["n"] == 12
    assert -1.0 <= test["evolved"]["kendall_tau"] <= 1.0
    assert "naswot" in test["baselines"] and "synflow" in test["baselines"]

    runner = CliRunner()
    result = runner.invoke(app, ["baselines", str(profile_path)])
    assert result.exit_code == 0, result.output
    assert "naswot" in result.output and "n=12" in result.output
    result = runner.invoke(app, ["eval", str(run_dir / "best_proxy.json"), "--space", "toy",
                                 "--dataset", "cifar10", "--sample", "random", "--n", "20"])
    assert result.exit_code == 0, result.output
    assert "n=20" in result.output


def test_layer_order_comes_from_the_forward_pass(toy):
    import torch

    from greenmachine.probe.engine import probe_model
    from greenmachine.probe.initialisation import initialise
    from greenmachine.spaces import forward_layers, weighted_layers

    space, _ = toy
    model = initialise(space.build("w8-d2-k3", "cifar10"), 0)
    images = torch.randn(4, 3, 32, 32)
    registered = [name for name, _ in weighted_layers(model)]
    forward = [name for name, _ in forward_layers(model, images[:1])]
    assert registered[0] == "head" and forward == ["stem", "body.0", "body.3", "head"]
    statistics = probe_model(model, images, torch.tensor([0, 1, 2, 3]), 0)
    assert statistics.layer_names == tuple(forward)
    assert statistics.layer_statistics["input_channel_count"].tolist() == [3, 8, 8, 8]


def test_a_package_registers_a_space_through_an_entry_point(monkeypatch, tmp_path):
    import importlib.metadata

    import greenmachine.spaces.registry as spaces  # the plug-in state lives in the registry

    class FakeEntryPoint:
        name, value = "toy-plugin", "toy_space:ToySpace"

        def load(self):
            return lambda: type("PluginSpace", (ToySpace,), {"name": "toy-plugin"})(write_table(tmp_path / "t.csv.gz"))

    class BrokenEntryPoint:
        name, value = "broken-plugin", "nowhere:Space"

        def load(self):
            raise ImportError("No module named 'nowhere'")

    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [FakeEntryPoint()] if group == spaces.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(spaces, "_entry_points_loaded", False)
    try:
        assert "toy-plugin" in space_names()
        assert len(load_benchmark("toy-plugin")) == 64
    finally:
        unregister_space("toy-plugin")
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [BrokenEntryPoint()] if group == spaces.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(spaces, "_entry_points_loaded", False)
    with pytest.raises(GMError, match="plug-in 'broken-plugin' .* failed to load: ImportError"):
        space_names()
