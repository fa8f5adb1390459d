"""Custom-space networks the probe cannot score meaningfully: one clear error line, non-zero exit.

Audit rows E2 (a builder returning 200 classes for a 10-class dataset: scored without a
word) and E3 (a builder whose networks output NaN: every statistic silently 0), through the
probe (:func:`greenmachine.probe.probe_many`) and through ``gm probe``.
"""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from greenmachine.errors import GMError
from greenmachine.settings.profile import load_profile

BUILDER = '''
from torch import nn


class Net(nn.Module):
    def __init__(self, classes, scale):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, classes)
        self.scale = scale

    def forward(self, x):
        return self.head(self.conv(x).relu().mean((2, 3))) * self.scale


def healthy(arch, num_classes):
    return Net(num_classes, 1.0)


def too_many_classes(arch, num_classes):
    return Net(200, 1.0)


def not_finite(arch, num_classes):
    return Net(num_classes, 1.0 if arch == "n0" else float("nan"))


def infinite(arch, num_classes):
    return Net(num_classes, float("inf"))
'''


def _profile(folder, builder):
    (folder / "space.py").write_text(BUILDER)
    with open(folder / "space.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "cifar10"])
        writer.writerows([[f"n{n}", 50 + n / 10] for n in range(60)])
    path = folder / "space.toml"
    path.write_text("\n".join([
        'name = "space"', "[benchmark]", 'space = "custom"', 'datasets = ["cifar10"]', 'table = "space.csv"',
        f'builder = "space.py:{builder}"', "[sampling]", 'mode = "random"', "search = 20", "validation = 10",
        "test = 20", "seed = 0", "[probe]", "batch_size = 4", "seed = 0", f'cache_dir = "{folder / "cache"}"',
        "[energy]", "enabled = false"]) + "\n")
    return path


@pytest.mark.parametrize("builder, fragment", [
    ("too_many_classes", "network 0 ('n0') on cifar10: model Net gives 200 logits per image, but the dataset has "
                         "10 classes"),
    ("not_finite", "network 1 ('n1') on cifar10: its logits on the minibatch are not finite (40 NaN, 0 inf of 40"),
    ("infinite", "network 0 ('n0') on cifar10: its logits on the minibatch are not finite (0 NaN, 40 inf of 40"),
])
def test_custom_networks_without_meaningful_logits_are_one_line(tmp_path, builder, fragment, one_torch_thread):
    from greenmachine.probe import probe_many

    profile = load_profile(str(_profile(tmp_path, builder)))
    with pytest.raises(GMError) as caught:
        probe_many(profile.search_space, list(range(3)), "cifar10", 4, 0, "cpu", None)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    healthy = load_profile(str(_profile(tmp_path, "healthy")))
    assert len(probe_many(healthy.search_space, list(range(3)), "cifar10", 4, 0, "cpu", None)) == 3


@pytest.mark.parametrize("builder", ["too_many_classes", "not_finite"])
def test_gm_probe_of_such_a_space_exits_with_one_error_line(tmp_path, builder, one_torch_thread):
    from greenmachine.tui.cli import app

    result = CliRunner().invoke(app, ["probe", str(_profile(tmp_path, builder)), "--no-energy"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("gm: error:")]
    assert len(errors) == 1 and ("200 logits" in errors[0] or "not finite" in errors[0])
    assert "Traceback" not in result.output
