"""The energy-quality front of gm eval results: panels, costs from the pass-cost table, the front,
the figure, and ``gm proxies --plot`` with its one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from greenmachine.errors import GMError
from greenmachine.probe.costs import probe_cost
from greenmachine.proxies import load_proxy
from greenmachine.report.energy_front import draw_energy_front, energy_front_panels, front_names, panel_lines


def _evaluation(proxy: str, dataset: str, tau: float, baselines: dict[str, float], n: int = 15000) -> dict:
    """A gm eval --json result, reduced to what the front reads."""
    return {"space": "tss", "dataset": dataset, "n": n, "proxy": {"source": proxy, "kendall_tau": tau},
            "proxies": {name: {"kendall_tau": value} for name, value in baselines.items()}}


def test_front_keeps_points_no_cheaper_or_equal_point_beats():
    points = [{"name": "a", "joules": 1.0, "tau": 0.5}, {"name": "b", "joules": 1.0, "tau": 0.6},
              {"name": "c", "joules": 2.0, "tau": 0.55}, {"name": "d", "joules": 3.0, "tau": 0.7},
              {"name": "e", "joules": None, "tau": 0.9}]
    assert front_names(points) == {"b", "d"}


def test_panels_average_baselines_and_cost_each_scorer_by_its_passes():
    evaluations = [_evaluation("tss-cifar10-random", "cifar10", 0.82, {"params": 0.57, "meco": 0.69}),
                   _evaluation("tss-imagenet16-random", "cifar10", 0.81, {"params": 0.59, "meco": 0.70}, n=14795),
                   _evaluation("tss-imagenet16-random", "ImageNet16-120", 0.78, {"params": 0.52, "meco": 0.61})]
    panels = energy_front_panels(evaluations)
    assert list(panels) == ["tss/ImageNet16-120", "tss/cifar10"]
    cifar = {point["name"]: point for point in panels["tss/cifar10"]["points"]}
    assert panels["tss/cifar10"]["n"] == [15000, 14795]
    assert cifar["params"]["tau"] == pytest.approx(0.58) and cifar["params"]["range"] == [0.57, 0.59]
    assert cifar["meco"]["kind"] == "baseline" and cifar["tss-cifar10-random"]["kind"] == "designed"
    expected = probe_cost(load_proxy("tss-cifar10-random").statistics, "tss")
    assert (cifar["tss-cifar10-random"]["seconds"], cifar["tss-cifar10-random"]["joules"]) == expected[:2]
    assert cifar["params"]["passes"] == ["structure"]  # params needs the structure pass alone
    assert cifar["params"]["joules"] < cifar["meco"]["joules"]
    # params is the cheapest; the designed proxies beat every baseline at their cost
    assert {name for name, point in cifar.items() if point["front"]} >= {"params", "tss-cifar10-random"}
    assert not cifar["meco"]["front"]
    energies = [point["joules"] for point in panels["tss/cifar10"]["points"]]
    assert energies == sorted(energies)
    lines = panel_lines(panels)
    assert any(line.startswith("tss-cifar10-random") and line.endswith("*") for line in lines)


def test_panels_refuse_a_file_that_is_not_an_evaluation_and_a_proxy_that_is_gone(tmp_path):
    with pytest.raises(GMError, match="evaluation 1 is not a gm eval result"):
        energy_front_panels([{"space": "tss"}])
    with pytest.raises(GMError, match="is gone"):
        energy_front_panels([_evaluation(str(tmp_path / "missing" / "best_proxy.json"), "cifar10", 0.5, {})])


def test_the_figure_is_written_and_a_bad_suffix_is_refused(tmp_path):
    panels = energy_front_panels([_evaluation("tss-cifar10-random", "cifar10", 0.82, {"params": 0.57})])
    out = draw_energy_front(panels, tmp_path / "front.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(GMError, match=r"\.png or \.svg"):
        draw_energy_front(panels, tmp_path / "front.jpg")


def test_gm_proxies_plot(tmp_path):
    from greenmachine.tui.cli import app

    good = tmp_path / "eval.json"
    good.write_text(json.dumps(_evaluation("tss-cifar10-random", "cifar10", 0.82, {"params": 0.57, "swap": 0.65})))
    runner = CliRunner()
    result = runner.invoke(app, ["proxies", "--plot", str(tmp_path / "f.png"), "--evaluation", str(good)])
    assert result.exit_code == 0, result.output
    assert "tss/cifar10: n = 15000-15000" in result.output and (tmp_path / "f.png").is_file()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for arguments, message in (
            (["--plot", str(tmp_path / "g.png")], "--plot needs one or more --evaluation files"),
            (["--evaluation", str(good)], "--evaluation needs --plot"),
            (["--plot", str(tmp_path / "g.png"), "--evaluation", str(bad)], "not a gm eval --json file"),
            (["--plot", str(tmp_path / "g.png"), "--evaluation", str(tmp_path / "none.json")], "no such file")):
        result = runner.invoke(app, ["proxies", *arguments])
        assert result.exit_code == 2 and message in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
