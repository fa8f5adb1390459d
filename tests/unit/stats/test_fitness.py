"""Fitness: batched Kendall tau-b / Spearman rho / weighted tau equal scipy (ties included); worst fitness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau, spearmanr, weightedtau

from greenmachine.stats.fitness import (WORST_FITNESS, guarded_kendall_tau, kendall_tau_b, multi_dataset_fitness,
                                        rank_fitness, spearman_rho, top_below_median_share, weighted_kendall_tau)
from greenmachine.stats.top_metrics import top_count

torch.set_num_threads(1)


def _scipy(function, rows, target):
    values = []
    for row in rows:
        with np.errstate(all="ignore"):
            value = function(row, target).statistic
        values.append(WORST_FITNESS if np.isnan(value) else value)
    return np.array(values)


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
@pytest.mark.parametrize("trial", range(12))
def test_kendall_and_spearman_equal_scipy_with_ties(trial):
    rng = np.random.default_rng(trial)
    count = int(rng.integers(2, 300))
    target = rng.integers(0, 6, count).astype(float) if trial % 2 else rng.normal(size=count)
    rows = rng.integers(0, 5, (6, count)).astype(float)  # heavy ties
    rows[1] = rng.normal(size=count)
    rows[2] = target * 3 + rng.integers(0, 2, count)  # ties within target ties
    rows[3] = -target
    rows[4, : count // 2] = 1e300  # huge but finite
    mine = kendall_tau_b(torch.tensor(rows), torch.tensor(target)).numpy()
    np.testing.assert_allclose(mine, _scipy(kendalltau, rows, target), rtol=0, atol=1e-12)
    rho = spearman_rho(torch.tensor(rows), torch.tensor(target)).numpy()
    np.testing.assert_allclose(rho, _scipy(spearmanr, rows, target), rtol=0, atol=1e-12)


def test_worst_fitness_for_constant_and_non_finite_scores():
    target = torch.arange(10, dtype=torch.float64)
    scores = torch.stack([
        torch.full((10,), 3.0, dtype=torch.float64),
        torch.arange(10, dtype=torch.float64).where(torch.arange(10) != 4, torch.tensor(float("nan"), dtype=torch.float64)),
        torch.arange(10, dtype=torch.float64).where(torch.arange(10) != 2, torch.tensor(float("inf"), dtype=torch.float64)),
        torch.arange(10, dtype=torch.float64),
        -torch.arange(10, dtype=torch.float64),
    ])
    tau = kendall_tau_b(scores, target)
    assert tau.tolist() == [WORST_FITNESS, WORST_FITNESS, WORST_FITNESS, 1.0, -1.0]
    rho = spearman_rho(scores, target)
    assert rho[:3].tolist() == [WORST_FITNESS] * 3 and rho[3] == pytest.approx(1.0)
    assert kendall_tau_b(scores, torch.zeros(10, dtype=torch.float64)).tolist() == [WORST_FITNESS] * 5
    assert kendall_tau_b(scores[3], target).shape == (1,)
    with pytest.raises(ValueError, match="networks"):
        kendall_tau_b(scores, target[:5])


def test_multi_dataset_fitness_is_minimum():
    rng = np.random.default_rng(3)
    a_scores, b_scores = torch.tensor(rng.normal(size=(4, 50))), torch.tensor(rng.normal(size=(4, 70)))
    a_target, b_target = torch.tensor(rng.normal(size=50)), torch.tensor(rng.normal(size=70))
    combined = multi_dataset_fitness([a_scores, b_scores], [a_target, b_target])
    expected = torch.minimum(kendall_tau_b(a_scores, a_target), kendall_tau_b(b_scores, b_target))
    assert torch.equal(combined, expected)


def test_large_batch_matches_scipy_sample():
    rng = np.random.default_rng(9)
    target = np.round(rng.normal(size=1000), 2)
    rows = np.round(rng.normal(size=(40, 1000)) + target * np.linspace(0, 3, 40)[:, None], 1)
    mine = kendall_tau_b(torch.tensor(rows), torch.tensor(target)).numpy()
    for index in (0, 13, 39):
        assert mine[index] == pytest.approx(kendalltau(rows[index], target).statistic, abs=1e-12)


def _weighted_scipy(rows, target):
    return _scipy(lambda row, truth: weightedtau(row, truth), rows, target)


@pytest.mark.parametrize("trial", range(10))
def test_weighted_kendall_equals_scipy_weightedtau_with_ties(trial):
    rng = np.random.default_rng(100 + trial)
    count = int(rng.integers(2, 300))
    target = rng.integers(0, 6, count).astype(float) if trial % 2 else rng.normal(size=count)
    rows = rng.integers(0, 5, (6, count)).astype(float)  # heavy ties
    rows[1] = rng.normal(size=count)
    rows[2] = target * 3 + rng.integers(0, 2, count)  # ties within target ties
    rows[3] = -target
    rows[4, : count // 2] = 1e300
    mine = weighted_kendall_tau(torch.tensor(rows), torch.tensor(target)).numpy()
    np.testing.assert_allclose(mine, _weighted_scipy(rows, target), rtol=0, atol=1e-12)
    assert torch.equal(rank_fitness(torch.tensor(rows), torch.tensor(target), "weighted_kendall"), torch.tensor(mine))


def test_weighted_kendall_invalid_rows_and_bounds():
    target = torch.arange(10, dtype=torch.float64)
    scores = torch.stack([
        torch.full((10,), 3.0, dtype=torch.float64),
        torch.arange(10, dtype=torch.float64).where(torch.arange(10) != 4, torch.tensor(float("nan"), dtype=torch.float64)),
        torch.arange(10, dtype=torch.float64).where(torch.arange(10) != 2, torch.tensor(float("-inf"), dtype=torch.float64)),
        torch.arange(10, dtype=torch.float64),
        -torch.arange(10, dtype=torch.float64),
    ])
    tau = weighted_kendall_tau(scores, target)
    assert tau[:3].tolist() == [WORST_FITNESS] * 3 and tau[3] == pytest.approx(1.0) and tau[4] == pytest.approx(-1.0)
    assert weighted_kendall_tau(scores, torch.zeros(10, dtype=torch.float64)).tolist() == [WORST_FITNESS] * 5
    assert weighted_kendall_tau(scores[3:4, :1], target[:1]).tolist() == [WORST_FITNESS]
    with pytest.raises(ValueError, match="networks"):
        weighted_kendall_tau(scores, target[:5])
    with pytest.raises(ValueError, match="unknown fitness metric"):
        rank_fitness(scores, target, "pearson")
    assert torch.equal(rank_fitness(scores, target), kendall_tau_b(scores, target))


def test_weighted_kendall_punishes_poor_networks_scored_first_more_than_tau():
    """Three of 300 poor networks scored first: tau barely moves, the weighted tau drops."""
    target = torch.arange(300, dtype=torch.float64)
    degenerate = target.clone()
    degenerate[:3] = 1000.0 + torch.arange(3, dtype=torch.float64)  # the three worst scored highest
    tau = kendall_tau_b(degenerate, target).item()
    weighted = weighted_kendall_tau(degenerate, target).item()
    assert tau > 0.95 and weighted < 0.75  # measured: 0.960 and 0.691


def test_guarded_kendall_is_tau_pulled_towards_minus_one_by_the_poor_share_of_the_best_scored_tenth():
    target = torch.arange(300, dtype=torch.float64)
    degenerate = target.clone()
    degenerate[:3] = 1000.0 + torch.arange(3, dtype=torch.float64)  # the three worst scored highest
    tau = kendall_tau_b(degenerate, target).item()
    # the best-scored tenth is 30 networks, 3 of them below the median
    assert top_below_median_share(degenerate, target).item() == pytest.approx(3 / 30, abs=1e-15)
    assert guarded_kendall_tau(degenerate, target).item() == pytest.approx(tau - 0.1 * (1 + tau), abs=1e-12)
    assert guarded_kendall_tau(degenerate, target).item() < 0.77  # measured: tau 0.960 -> 0.764
    assert guarded_kendall_tau(target, target).item() == pytest.approx(1.0)
    assert guarded_kendall_tau(-target, target).item() == pytest.approx(-1.0)  # never below the invalid value
    assert torch.equal(rank_fitness(degenerate, target, "kendall_top"), guarded_kendall_tau(degenerate, target))


def test_guarded_kendall_invalid_rows_ties_and_bad_input():
    target = torch.arange(10, dtype=torch.float64)
    scores = torch.stack([
        torch.full((10,), 3.0, dtype=torch.float64),
        torch.arange(10, dtype=torch.float64).where(torch.arange(10) != 4, torch.tensor(float("nan"), dtype=torch.float64)),
        torch.arange(10, dtype=torch.float64),
    ])
    guarded = guarded_kendall_tau(scores, target)
    assert guarded[:2].tolist() == [WORST_FITNESS] * 2 and guarded[2] == pytest.approx(1.0)
    assert guarded_kendall_tau(scores, torch.zeros(10, dtype=torch.float64)).tolist() == [WORST_FITNESS] * 3
    with pytest.raises(ValueError, match="networks"):
        guarded_kendall_tau(scores, target[:5])
    # k = 1 of 10; networks 0 (poor) and 9 (best) tie first: the poor one is first half the time
    tied = torch.zeros(10, dtype=torch.float64)
    tied[[0, 9]] = 5.0
    assert top_below_median_share(tied, target).item() == 0.5


@pytest.mark.parametrize("trial", range(6))
def test_top_below_median_share_matches_the_top_of_ranking_figure_definition(trial):
    """The batched share equals a plain count over a stable sort where there is no tie at the k-th place."""
    rng = np.random.default_rng(300 + trial)
    count = int(rng.integers(2, 400))
    target = rng.normal(size=count)
    rows = rng.normal(size=(4, count))
    size = top_count(count, 10)
    shares = top_below_median_share(torch.tensor(rows), torch.tensor(target)).numpy()
    for row, share in zip(rows, shares):
        first = np.argsort(-row, kind="stable")[:size]
        assert share == pytest.approx(float((target[first] < np.median(target)).mean()), abs=1e-12)
