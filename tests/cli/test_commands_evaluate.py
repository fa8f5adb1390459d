"""The commands of :mod:`greenmachine.tui.commands.evaluate`: ``gm eval PROXY --profile P`` (any proxy
applied to any space, a user's own included) and ``gm probe`` (what probing cost).

A custom space of 30 small plain convolutional networks (a CSV and a builder file written
here, widths and depths as arch strings) stands for a user's space: a shipped proxy is
scored on the profile's test sample next to the baselines. The built-in NAS-Bench-Macro
space is exercised the same way in a slow test. Every misuse of the options is one error
line. ``gm probe`` prints the time and energy core measured
(:func:`greenmachine.evaluation.probe_cost.metered_probe`), here through a fake meter of
known watts, so the figures are checked exactly; ``--no-energy`` (the time only) is checked on
the session's tiny probe cache (``tiny_probe_cache``), whose networks are all cached.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenmachine.tui.cli import app

runner = CliRunner()

BUILDER = '''
from torch import nn


def build(arch, num_classes):
    width, depth = (int(part) for part in arch.split("x"))
    layers = [nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes)]
    return nn.Sequential(*layers)
'''


def _parameters(width: int, depth: int, classes: int = 10) -> int:
    """Parameters of the builder's network (convolutions with bias, affine BatchNorm, linear head)."""
    first = 27 * width + width + 2 * width
    return first + (depth - 1) * (9 * width * width + 3 * width) + width * classes + classes


def _custom_profile(folder: Path) -> Path:
    archs = [(width, depth) for width in range(4, 24, 2) for depth in (1, 2, 3)]
    # accuracy rises with the parameter count, so the params baseline must rank it exactly
    by_size = sorted(archs, key=lambda arch: _parameters(*arch))
    rows = ["arch,cifar10"] + [f"{width}x{depth},{40 + by_size.index((width, depth))}" for width, depth in archs]
    (folder / "my_space.csv").write_text("\n".join(rows) + "\n")
    (folder / "my_space.py").write_text(BUILDER)
    profile = folder / "my_space.toml"
    profile.write_text("\n".join([
        'name = "my-space"', "[benchmark]", 'space = "custom"', 'table = "my_space.csv"',
        'builder = "my_space.py:build"', 'datasets = ["cifar10"]',
        "[sampling]", 'mode = "random"', "search = 10", "validation = 10", "test = 10", "seed = 0",
        "[probe]", "batch_size = 8", "seed = 0", f'cache_dir = "{folder / "cache"}"', "workers = 1",
        "[energy]", "enabled = false",
    ]) + "\n")
    return profile


def test_shipped_proxy_on_a_custom_space(tmp_path: Path) -> None:
    profile = _custom_profile(tmp_path)
    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["eval", "tss-cifar10", "--profile", str(profile), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "n=10" in result.output and "EVOLVED" in result.output and "naswot" in result.output
    data = json.loads(out.read_text())
    assert data["space"].startswith("custom-") and data["n"] == 10 and data["dataset"] == "cifar10"
    assert data["sampling"]["sample"] == "test" and data["sampling"]["excluded"] == 0
    assert data["probe"] == {"batch_size": 8, "seed": 0}
    assert data["proxy"]["kendall_tau"] is not None and -1 <= data["proxy"]["kendall_tau"] <= 1
    assert {"params", "flops", "synflow", "swap"} <= set(data["proxies"])
    assert data["proxies"]["params"]["kendall_tau"] == pytest.approx(1.0)  # rows and networks stay aligned


def test_whole_custom_space_with_another_batch(tmp_path: Path) -> None:
    profile = _custom_profile(tmp_path)
    out = tmp_path / "all.json"
    result = runner.invoke(app, ["eval", "universal", "--profile", str(profile), "--sample", "all",
                                 "--batch-size", "4", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["n"] == 30 and data["probe"]["batch_size"] == 4 and data["proxy"]["normalise"] != "none"


@pytest.mark.parametrize("arguments,message", [
    (["--space", "tss"], "exclude each other"),
    (["--n", "20"], "--set sampling.test"),
    (["--seed", "1"], "--set sampling.test"),
    (["--sample", "random"], "test or all"),
    (["--dataset", "cifar100"], "not a dataset of the profile"),
    (["--batch-size", "0"], "at least 1"),
])
def test_misuse_is_one_line(tmp_path: Path, arguments, message) -> None:
    profile = _custom_profile(tmp_path)
    result = runner.invoke(app, ["eval", "tss-cifar10", "--profile", str(profile), *arguments])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_multi_task_profile_and_set_without_profile_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "tss-cifar10", "--profile", "universal"])
    assert result.exit_code == 2 and "single-space profile" in result.output
    result = runner.invoke(app, ["eval", "tss-cifar10", "--set", "probe.batch_size=8"])
    assert result.exit_code == 2 and "--set needs --profile" in result.output


@pytest.mark.slow
def test_shipped_proxy_on_nas_bench_macro(tmp_path: Path) -> None:
    out = tmp_path / "macro.json"
    result = runner.invoke(app, ["eval", "tss-cifar100", "--profile", "macro-cifar10",
                                 "--set", "sampling.test=12", "--set", f"probe.cache_dir={json.dumps(str(tmp_path))}",
                                 "--set", "energy.enabled=false", "--workers", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["space"] == "macro" and data["n"] == 12 and data["ground_truth"] == "test_acc_mean"


def _probe_with_fake_meter(monkeypatch, profile: Path, seconds: float):
    """``gm probe PROFILE`` with a constant-power fake meter whose clock moves ``seconds`` while probing."""
    import greenmachine.energy
    import greenmachine.evaluation.evaluate as evaluate
    from greenmachine.energy.testing import FakeMeter

    meter = FakeMeter(cpu_watts=10.0, ram_watts=5.0)
    probe_profile = evaluate.probe_profile

    def probe_and_wait(*args, **kwargs):
        phase = probe_profile(*args, **kwargs)
        meter.clock.advance(seconds)
        return phase

    monkeypatch.setattr(greenmachine.energy, "make_meter", lambda enabled: meter)
    monkeypatch.setattr(evaluate, "probe_profile", probe_and_wait)
    return runner.invoke(app, ["probe", str(profile)])


def test_probe_prints_the_energy_per_probed_network_core_measured(tmp_path: Path, monkeypatch) -> None:
    profile = _custom_profile(tmp_path)
    result = _probe_with_fake_meter(monkeypatch, profile, seconds=12.0)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[-2].startswith("probed 30 networks (0 were cached) into ") and "with 1 worker(s)" in lines[-2]
    # 15 W for 12 s over the 30 networks probed: 180 J, 6 J each
    assert lines[-1] == ("time 12.0 s, energy 180.0 J (0.050 Wh), 6.00 J per probed network on this machine "
                         "(cpu: fake (10 W constant); ram: fake (5 W constant); gpu: absent (no GPU: fake meter "
                         "without GPU))")
    again = _probe_with_fake_meter(monkeypatch, profile, seconds=2.0)
    assert again.exit_code == 0, again.output
    lines = again.stdout.strip().splitlines()
    assert lines[-2].startswith("probed 30 networks (30 were cached)")
    assert lines[-1].startswith("time 2.0 s, energy 30.0 J (0.008 Wh) on this machine (cpu: fake")  # none probed


def test_probe_without_energy_prints_the_time_only(tiny_probe_cache: Path) -> None:
    """On the tiny TSS sample of ``tests/conftest.py`` (``TINY_SAMPLE``): its module copy of the cache has them all."""
    sample = ["sampling.search=12", "sampling.validation=10", "sampling.test=10", "probe.batch_size=8"]
    result = runner.invoke(app, ["probe", "quick", *(part for item in sample for part in ("--set", item)), "--no-energy"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-2].startswith(f"probed 32 networks (32 were cached) into {tiny_probe_cache}")
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("time ") and last.endswith(" s") and "energy" not in last
