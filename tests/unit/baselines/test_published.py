"""Tests of the published baselines computed from probe statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from greenmachine.baselines.published import (BASELINES, baseline_correlations, baseline_names, baseline_scores,
                            describe_baselines, rank_correlations)
from greenmachine.probe import probe_network, statistic_names
from greenmachine.probe.registry import NETWORK
from greenmachine.spaces import build_network, count_flops, count_parameters
from greenmachine.stats.table import NetworkStatistics, StatisticTable

SMALL = "|skip_connect~0|+|none~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"
LARGE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
EXPECTED = ("params", "flops", "grad_norm", "snip", "grasp", "fisher", "synflow", "jacob_cov",
            "naswot", "zen", "meco", "zico", "swap")


@pytest.fixture(scope="module")
def probed():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [probe_network("tss", arch, "cifar10", 8, 0, "cpu") for arch in (SMALL, LARGE)]
    finally:
        torch.set_num_threads(previous)


def test_every_published_baseline_is_registered_with_a_reference():
    for name in EXPECTED:
        assert name in BASELINES
    network_statistics = set(statistic_names(NETWORK, grasp=True))
    for name, description, reference in describe_baselines():
        assert description and reference
        assert BASELINES[name].statistic in network_statistics
    assert baseline_names()[0] == "params"


def test_baselines_are_finite_and_costs_match_the_networks(probed):
    scores = baseline_scores(probed)
    assert set(scores) == set(EXPECTED) - {"grasp"} | {"logsynflow"}
    for name, values in scores.items():
        assert values.shape == (2,) and np.all(np.isfinite(values)), name
    for column, arch in enumerate((SMALL, LARGE)):
        model = build_network("tss", arch, "cifar10")
        assert scores["params"][column] == count_parameters(model)
        assert scores["flops"][column] == count_flops(model, (1, 3, 32, 32))
    # expected signs on a toy pair: the all-3x3-conv cell is bigger and more expressive
    for name in ("params", "flops", "synflow", "naswot", "snip"):
        assert scores[name][1] > scores[name][0], name


def test_scores_read_the_table_rows():
    def fake(value: float) -> NetworkStatistics:
        network = {name: value for name in statistic_names(NETWORK)}
        return NetworkStatistics(("a",), {}, network)

    table = StatisticTable.from_networks([fake(1.0), fake(3.0), fake(2.0)])
    assert "grasp" not in baseline_scores(table)
    with pytest.raises(KeyError, match="grasp=True"):
        baseline_scores(table, names=["grasp"])
    scores = baseline_scores(table, names=["synflow", "zen"])
    assert set(scores) == {"synflow", "zen"}
    np.testing.assert_array_equal(scores["synflow"], [1.0, 3.0, 2.0])
    with pytest.raises(KeyError):
        baseline_scores(table, names=["nonexistent"])


def test_rank_correlations():
    accuracy = np.array([1.0, 2.0, 3.0, 4.0])
    assert rank_correlations(np.array([10.0, 20.0, 30.0, 40.0]), accuracy) == pytest.approx((1.0, 1.0))
    assert rank_correlations(-accuracy, accuracy) == pytest.approx((-1.0, -1.0))
    tau, rho = rank_correlations(np.array([1.0, 1.0, 1.0, 1.0]), accuracy)
    assert math.isnan(tau) and math.isnan(rho)
    tau, _ = rank_correlations(np.array([1.0, 1.0, 2.0, 3.0]), accuracy)  # tau-b with a tie
    assert tau == pytest.approx(0.9128709, abs=1e-6)
    both = baseline_correlations({"a": accuracy, "b": -accuracy}, accuracy)
    assert both["a"][0] == pytest.approx(1.0) and both["b"][1] == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        rank_correlations(np.ones(3), accuracy)
