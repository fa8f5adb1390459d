"""Coarse scores: far fewer distinct scores than networks whose statistics differ (label-free)."""

from __future__ import annotations

import math

import numpy as np
import torch

from greenmachine.proxy.evaluate import evaluate_population
from greenmachine.proxy.generate import synthetic_table
from greenmachine.proxy.tree import Apply, Constant, NetworkStatistic
from greenmachine.stats.resolution import (COARSE_MINIMUM_ROWS, COARSE_SHARE, coarse_on_table, distinct_count,
                                           distinct_rows, is_coarse, table_rows)


def test_distinct_count_counts_nan_and_each_infinity_once():
    assert distinct_count(np.array([1.0, 1.0, 2.0, -0.0, 0.0])) == 3
    assert distinct_count(np.array([math.nan, math.nan, math.inf, math.inf, -math.inf, 1.0])) == 4
    assert distinct_count(np.array([])) == 0


def test_distinct_rows_tells_apart_values_and_lengths():
    rows = [np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.array([1.0, 2.0, 0.0]), np.array([2.0, 1.0])]
    assert distinct_rows(rows) == 3
    assert distinct_rows([np.array([0.0, 1.0]), np.array([-0.0, 1.0])]) == 1
    assert distinct_rows([]) == 0


def test_is_coarse_threshold_and_minimum():
    assert is_coarse(4, 100) and is_coarse(49, 100)
    assert not is_coarse(50, 100) and not is_coarse(100, 100)
    assert not is_coarse(1, COARSE_MINIMUM_ROWS - 1)  # too few rows to tell
    assert is_coarse(1, COARSE_MINIMUM_ROWS)
    assert COARSE_SHARE == 0.5


def _swamped(statistic: str, scale: float):
    """``statistic * scale + exp(50)``: the protected exponential's clamp swallows most of the statistic."""
    return Apply("add", (Apply("multiply", (NetworkStatistic(statistic), Constant(scale))),
                         Apply("exponential", (Constant(60.0),))))


def test_a_huge_addend_makes_scores_coarse_on_a_table():
    table = synthetic_table(200, 3, 3, 4, 8, seed=1, extreme=False)
    name = table.network_statistic_names[0]
    column = table.network_statistic(name).numpy()
    assert len(np.unique(column)) == 200  # the statistic tells every network apart
    # spread the statistic over about 8 float64 steps of e**50 (one step is 2**20)
    scale = 8 * 2.0 ** 20 / float(column.max() - column.min())
    swamped = _swamped(name, scale)
    scores = evaluate_population([swamped], table)[0]
    taken = distinct_count(scores.numpy())
    assert 2 <= taken <= 12
    assert coarse_on_table(scores, table, {name})
    plain = NetworkStatistic(name)
    assert not coarse_on_table(evaluate_population([plain], table)[0], table, {name})


def test_table_rows_leave_the_layer_padding_out():
    table = synthetic_table(30, 3, 3, 2, 8, seed=2, extreme=False)
    layer = table.layer_statistic_names[0]
    network = table.network_statistic_names[0]
    rows = table_rows(table, {layer, network})
    lengths = table.layer_mask.sum(dim=1).tolist()
    assert [len(row) for row in rows] == [n + 1 for n in lengths]
    assert len(set(lengths)) > 1  # networks of different depths
    assert rows[0][-1] == float(table.network_statistic(network)[0])  # names in sorted order: layer_* first
