"""Taking a proxy away: loading proxies, scoring any PyTorch model, ``gm score`` and ``gm proxies``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from greenmachine.errors import GMError
from greenmachine.proxies import ProxyError, load_proxy, shipped_proxy_names
from greenmachine.proxy.tree import Apply, LayerStatistic, NetworkStatistic

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "models.py"


def _proxy_file(folder: Path) -> Path:
    tree = Apply("multiply", (NetworkStatistic("naswot"), Apply("sum", (LayerStatistic("fisher"),))))
    path = folder / "best_proxy.json"
    path.write_text(json.dumps({"tree": tree.to_dict(), "space": "tss", "datasets": ["cifar10"],
                                "probe": {"batch_size": 8, "seed": 0}}))
    return path


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here probes on one torch thread (see conftest.py)."""


def test_lazy_score_equals_the_full_probe(tmp_path):
    import examples_models

    from greenmachine.probe.engine import probe_model
    from greenmachine.probe.initialisation import initialise

    proxy = load_proxy(_proxy_file(tmp_path))
    assert proxy.passes == {"structure", "main"}
    generator = torch.Generator().manual_seed(0)
    images, labels = torch.randn(8, 3, 32, 32, generator=generator), torch.randint(0, 10, (8,), generator=generator)
    lazy = proxy.score(examples_models.ResNet(16, 1), images, labels)
    full_statistics = probe_model(initialise(examples_models.ResNet(16, 1), 0), images, labels, 0)
    assert lazy == proxy.scores_of([full_statistics])[0] and math.isfinite(lazy)
    scores = proxy.rank(examples_models.candidates(), images, labels)
    assert len(scores) == 4 and all(math.isfinite(s) for s in scores) and len(set(scores)) == 4
    pair = proxy.score(examples_models.resnet_with_features(), images, labels)
    assert pair == lazy  # the same network, read through its (features, logits) output


@pytest.mark.parametrize("model, fragment", [
    (nn.Sequential(nn.Flatten(), nn.Identity()), "has no Conv2d or Linear layer"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(5, 4, 3)), "failed on an input of shape (1, 3, 32, 32)"),
    (nn.Sequential(nn.Conv2d(3, 4, 3)), "returns (1, 4, 30, 30)"),
    ("not a model", "expected a torch.nn.Module, got str"),
])
def test_unreadable_models_are_one_line_naming_the_module(tmp_path, model, fragment):
    proxy = load_proxy(_proxy_file(tmp_path))
    with pytest.raises(GMError) as caught:
        proxy.score(model, torch.randn(4, 3, 32, 32), torch.zeros(4, dtype=torch.long))
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_bad_proxy_sources_are_one_line(tmp_path):
    with pytest.raises(ProxyError, match="not a shipped proxy"):
        load_proxy("no-such-proxy")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tree": {"kind": "network_statistic", "name": "no_such_statistic"}}))
    with pytest.raises(ProxyError, match="no_such_statistic"):
        load_proxy(bad)
    bad.write_text("[1, 2")
    with pytest.raises(ProxyError, match="not valid JSON"):
        load_proxy(bad)


def test_shipped_proxies_load_and_list():
    from greenmachine.tui.cli import app

    assert "tss-cifar10" in shipped_proxy_names()
    for name in shipped_proxy_names():
        proxy = load_proxy(name)
        assert proxy.provenance["profile"] and "test_tau" in proxy.provenance
    result = CliRunner().invoke(app, ["proxies"])
    assert result.exit_code == 0, result.output
    for name in shipped_proxy_names():
        assert name in result.output
    # the probe cost of each proxy against the whole bank, with where the pass costs come from
    assert "J ratio" in result.output and "bench_passes.py --space tss" in result.output


def test_gm_score_on_the_example_models(tmp_path):
    from greenmachine.tui.cli import app

    out = tmp_path / "scores.json"
    result = CliRunner().invoke(app, ["score", "--proxy", str(_proxy_file(tmp_path)), "--model",
                                      f"{EXAMPLES}:candidates", "--batch", "8", "--no-energy", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert len(data["scores"]) == 4 and all(math.isfinite(s) for s in data["scores"])
    assert data["passes"] == ["main", "structure"] and data["seconds"] > 0 and data["joules"] is None
    assert "VGG" in result.output and "ResNet" in result.output
    bad = CliRunner().invoke(app, ["score", "--proxy", str(_proxy_file(tmp_path)), "--model", f"{EXAMPLES}:nothing"])
    assert bad.exit_code == 2 and "has no function 'nothing'" in bad.output


def test_commands_that_take_a_proxy_file_take_a_shipped_name(tmp_path, monkeypatch):
    from greenmachine.proxies import proxy_file
    from greenmachine.tui.cli import app

    assert proxy_file("tss-cifar10").is_file() and proxy_file("tss-cifar10").name == "tss-cifar10.json"
    (tmp_path / "tss-cifar10").mkdir()
    monkeypatch.chdir(tmp_path)
    assert proxy_file("tss-cifar10") == Path("tss-cifar10")  # an existing path wins
    monkeypatch.chdir(Path(__file__).parent)
    result = CliRunner().invoke(app, ["export", "sss-cifar10", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tree"] == json.loads(proxy_file("sss-cifar10").read_text())["tree"]
