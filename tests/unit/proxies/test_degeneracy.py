"""No silently meaningless scores: degenerate scores are found, named and warned about.

:func:`greenmachine.proxies.degeneracy.diagnose` on hand-made scores and statistics (each kind of
degeneracy and the statistic it names), then the places that use it: ``Proxy.rank`` /
``gm score`` (a ``gm: warning:`` line), ``gm eval`` (a warning event and the JSON) and the
search's score bank.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from greenmachine.proxies.degeneracy import (DegenerateScoresWarning, diagnose, network_values, table_values,
                                     warn_if_degenerate)
from greenmachine.stats.table import NetworkStatistics, StatisticTable


def _networks():
    """Three networks of 2, 3 and 2 layers: ``zico`` differs, ``swap`` is 0 on the last two."""
    layers = ([1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 2.0])
    return [NetworkStatistics(tuple(f"l{i}" for i in range(len(values))), {"fisher": np.asarray(values)},
                              {"zico": float(n + 1), "swap": 0.0 if n else 5.0})
            for n, values in enumerate(layers)]


def test_healthy_scores_are_not_degenerate():
    values = network_values(_networks(), {"zico", "fisher"})
    assert diagnose([1.0, 2.0, 3.0], values) is None
    assert diagnose([], values) is None
    assert diagnose([0.5], {"zico": [np.asarray([1.0])]}) is None


def test_nan_from_an_undefined_statistic_names_it_the_networks_and_why():
    networks = _networks()
    undefined = [{}, {"swap": "no ReLU-family activation"}, {"swap": "no ReLU-family activation"}]
    found = diagnose([1.0, math.nan, math.nan], network_values(networks, {"swap", "zico"}), undefined=undefined,
                     labels=["model 0 (A)", "model 1 (B)", "model 2 (C)"], scorer="proxy p")
    assert found.problems == ("non-finite",) and found.statistics == ("swap",)
    assert found.message == ("proxy p: 2 of 3 scores are NaN: swap is undefined for model 1 (B), model 2 (C): "
                             "no ReLU-family activation")


def test_overflow_on_finite_statistics_names_the_largest():
    values = {"parameter_count": [np.asarray([1e6]), np.asarray([2e7])], "zico": [np.asarray([1.0])] * 2}
    found = diagnose([math.inf, 3.0], values)
    assert found.problems == ("non-finite",) and found.statistics == ("parameter_count",)
    assert "1 of 2 scores are infinite" in found.message and "overflows" in found.message


def test_exact_zeros_name_the_statistic_that_is_zero():
    found = diagnose([4.0, 0.0, -0.0], network_values(_networks(), {"swap", "zico"}))
    assert found.problems == ("zero",) and found.statistics == ("swap",)
    assert "2 of 3 scores are exactly 0 (network 1, network 2; swap is 0 on all of them)" in found.message


def test_mostly_tied_scores_name_the_constant_statistic_or_the_formula():
    networks = _networks()
    tied = diagnose([7.0, 7.0, 1.0, 7.0], {"fisher": [np.asarray([1.0, 2.0])] * 3 + [np.asarray([3.0])],
                                           "zico": [np.asarray([n]) for n in (1.0, 2.0, 3.0, 4.0)]})
    assert tied.problems == ("tied",) and tied.statistics == ()
    assert "3 of 4 scores are tied at 7" in tied.message and "the formula saturates" in tied.message
    constant = diagnose([2.0, 2.0, 3.0], {"fisher": [n.layer_statistics["fisher"]
                                                     for n in (networks[0], networks[2], networks[1])]})
    assert constant.statistics == ("fisher",) and "fisher takes one value on all of them" in constant.message
    assert diagnose([2.0, 2.0, 3.0, 4.0], {}) is None  # half tied is not "mostly"


def test_coarse_scores_say_how_many_values_they_take_over_how_many_networks():
    values = {"zico": [np.asarray([float(n)]) for n in range(40)]}  # 40 networks, all told apart
    scores = 5.184705528587111e21 + np.repeat(np.arange(4) * 2.0 ** 20, 10)  # 4 values, 10 networks each
    found = diagnose(scores, values, scorer="proxy p")
    assert found.problems == ("coarse",)
    assert found.message.startswith("proxy p: the scores take 4 distinct values over 40 networks whose statistics "
                                    "differ: the formula gives many of them one score (rounding, saturation or "
                                    "coinciding sums; |score| up to 5.18471e+21)")
    assert diagnose(np.arange(1.0, 41.0), values) is None  # one score per network
    assert diagnose(np.repeat(np.arange(1.0, 21.0), 2), values) is None  # half as many values: not coarse
    # a statistic that takes 4 values itself: 4 scores resolve it
    assert diagnose(np.repeat(np.arange(1.0, 5.0), 10), {"zico": [np.asarray([float(n // 10)]) for n in range(40)]}) is None


def test_table_values_leave_the_padding_out():
    networks = _networks()
    table = StatisticTable.from_networks(networks)
    from_table, direct = table_values(table, {"fisher", "swap"}), network_values(networks, {"fisher", "swap"})
    for name in direct:
        for a, b in zip(from_table[name], direct[name]):
            np.testing.assert_array_equal(a, b)


def test_warn_if_degenerate_warns_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert warn_if_degenerate([0.0, 0.0], {}) is not None
        assert warn_if_degenerate([1.0, 2.0], {}) is None
    assert [w.category for w in caught] == [DegenerateScoresWarning]


MODELS = '''
import torch
from torch import nn


class Healthy(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Linear(8, classes)

    def forward(self, x):
        return self.head(self.conv(x).relu().mean((2, 3)))


class NotFinite(Healthy):
    def forward(self, x):
        return super().forward(x) * float("nan")


class Smooth(Healthy):
    def forward(self, x):
        return self.head(torch.nn.functional.gelu(self.conv(x)).mean((2, 3)))


def mixed():
    return [Healthy(), NotFinite(), Healthy()]


def smooth():
    return [Healthy(), Smooth()]


def too_few_classes():
    return Healthy(5)


def too_many_classes():
    return [Healthy(), Healthy(200)]
'''


def _proxy(folder: Path, tree) -> Path:
    path = folder / "best_proxy.json"
    path.write_text(json.dumps({"tree": tree.to_dict(), "space": "tss", "datasets": ["cifar10"],
                                "probe": {"batch_size": 8, "seed": 0}}))
    return path


def _score(tmp_path, factory, tree):
    from greenmachine.tui.cli import app

    (tmp_path / "models.py").write_text(MODELS)
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(app, ["score", "--proxy", str(_proxy(tmp_path, tree)), "--model",
                                      f"{tmp_path / 'models.py'}:{factory}", "--no-energy", "--json", str(out)])
    return result, (json.loads(out.read_text()) if out.exists() else None)


def test_gm_score_of_non_finite_logits_is_nan_with_one_warning_line(tmp_path, one_torch_thread):
    """Audit W6: models whose logits are NaN scored 0/-0 and ranked above healthy ones."""
    from greenmachine.proxy.tree import Apply, LayerStatistic, NetworkStatistic

    tree = Apply("add", (NetworkStatistic("swap"), Apply("sum", (LayerStatistic("fisher"),))))
    result, data = _score(tmp_path, "mixed", tree)
    assert result.exit_code == 0, result.output
    scores = data["scores"]
    assert math.isfinite(scores[0]) and math.isnan(scores[1]) and math.isfinite(scores[2])
    warning = [line for line in result.output.splitlines() if line.startswith("gm: warning:")]
    assert len(warning) == 1 and "model 1 (NotFinite)" in warning[0] and "logits on the minibatch are not finite" in warning[0]
    assert "1 of 3 scores are NaN" in warning[0]


def test_gm_score_without_relu_says_which_statistic(tmp_path, one_torch_thread):
    from greenmachine.proxy.tree import NetworkStatistic

    result, data = _score(tmp_path, "smooth", NetworkStatistic("naswot"))
    assert result.exit_code == 0, result.output
    assert math.isfinite(data["scores"][0]) and math.isnan(data["scores"][1])
    assert "naswot is undefined for model 1 (Smooth): no ReLU-family activation" in result.output


@pytest.mark.parametrize("factory, fragment", [
    ("too_few_classes", "model Healthy gives 5 logits per image, but the dataset has 10 classes"),
    ("too_many_classes", "model Healthy gives 200 logits per image, but the dataset has 10 classes"),
])
def test_gm_score_of_a_model_with_the_wrong_classes_is_one_line(tmp_path, one_torch_thread, factory, fragment):
    """Audit T3 (an IndexError traceback) and E2 for ``gm score``."""
    from greenmachine.proxy.tree import NetworkStatistic

    result, _ = _score(tmp_path, factory, NetworkStatistic("naswot"))
    assert result.exit_code == 2 and fragment in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_probe_refuses_an_empty_batch_and_too_few_logits_in_one_line(tmp_path, one_torch_thread):
    """Audit T3 through the Python API: no IndexError/ValueError traceback from the loss."""
    from greenmachine.errors import GMError
    from greenmachine.probe.engine import probe_model
    from greenmachine.proxies import Proxy, ProxyError
    from greenmachine.proxy.tree import NetworkStatistic
    from greenmachine.spaces.custom import load_function

    (tmp_path / "models.py").write_text(MODELS)
    healthy = load_function(f"{tmp_path / 'models.py'}:Healthy", "model class")
    proxy = Proxy("p", NetworkStatistic("naswot"))
    images, labels = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 9])
    with pytest.raises(ProxyError, match="the minibatch is empty"):
        proxy.score(healthy(), images[:0], labels[:0])
    with pytest.raises(GMError, match="minibatch of at least one image"):
        probe_model(healthy(), images[:0], labels[:0], 0)
    with pytest.raises(GMError, match="gives 5 logits per image, but the minibatch has label 9"):
        proxy.score(healthy(5), images, labels)
    with pytest.raises(ProxyError, match="labels of shape"):
        proxy.score(healthy(), images, labels[:2])


class _Phase:
    """A probe phase that hands out a fixed table's networks by index (the search's ScoreBank reads it)."""

    def __init__(self, networks):
        self.networks = networks

    def table(self, indices, dataset):
        return StatisticTable.from_networks([self.networks[int(i)] for i in indices])


def test_the_search_score_bank_names_the_statistic_of_degenerate_scores():
    from greenmachine.search.guides import ScoreBank, resolve_guide

    guides = [resolve_guide("swap"), resolve_guide("random")]
    bank = ScoreBank(_Phase(_networks()), "cifar10", guides)
    indices = np.asarray([2, 0, 1])
    scores = bank.scorer(guides[0], 0)(indices)
    assert scores.tolist() == [0.0, 5.0, 0.0]
    found = bank.degeneracy(guides[0], indices, scores)
    assert found.statistics == ("swap",) and found.message.startswith("baseline swap: 2 of 3 scores are exactly 0")
    assert "network 2, network 1" in found.message
    assert bank.degeneracy(guides[1], indices, np.zeros(3)) is None  # random choice reads no statistic


@pytest.fixture
def toy(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from toy_space import ToySpace, write_table

    from greenmachine.spaces import register_space, unregister_space

    space = register_space(ToySpace(write_table(tmp_path / "toy_space.csv.gz")))
    yield space
    unregister_space("toy")


def test_gm_eval_warns_about_degenerate_scores_and_keeps_them_in_the_json(toy, tmp_path, monkeypatch):
    from greenmachine.proxy.tree import NetworkStatistic
    from greenmachine.tui.cli import app

    monkeypatch.setenv("GM_CACHE_DIR", str(tmp_path / "cache"))
    proxy = _proxy(tmp_path, NetworkStatistic("non_finite_value_count"))  # 0 on every healthy network
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(app, ["eval", str(proxy), "--space", "toy", "--n", "10", "--batch-size", "4",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert len(data["warnings"]) == 1  # the undefined tau and the statistic behind it, in one line
    assert "undefined on this sample" in data["warnings"][0]
    assert "10 of 10 scores are exactly 0" in data["warnings"][0]
    assert "non_finite_value_count is 0 on all of them" in data["warnings"][0]
    assert f"warning: {data['warnings'][0]}" in result.output
    assert result.output.count(data["warnings"][0]) == 1  # the warning event and the JSON's line, printed once


@pytest.mark.skipif(not __import__("os").environ.get("GM_DATA_DIR"), reason="needs GM_DATA_DIR (the TSS table)")
def test_gm_search_warns_about_a_degenerate_guide(tmp_path):
    from greenmachine.events import LogMessage
    from greenmachine.proxy.tree import NetworkStatistic
    from greenmachine.rundir.directory import RunDirectory
    from greenmachine.search import SearchSettings, run_search

    proxy = _proxy(tmp_path, NetworkStatistic("non_finite_value_count"))
    events = []
    run_search(SearchSettings(proxy=str(proxy), budget=3, compare_seeds=0, energy=False, figures=False, batch_size=4,
                              cache_dir=str(tmp_path / "cache"), workers=1), events.append, out=tmp_path / "run")
    warned = [event.message for event in events if isinstance(event, LogMessage) and event.level == "warning"]
    assert len(warned) == 1 and re.search(r"[23] of 3 scores are exactly 0", warned[0])
    assert "non_finite_value_count is 0 on all of them" in warned[0]
    assert RunDirectory(tmp_path / "run").read_report()["warnings"] == warned
