"""Top-of-ranking figures: hand-made precisions, ties, NaN last, small sets, properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenmachine.stats.top_metrics import PRECISION_KEYS, TOP_KEYS, top_count, top_of_ranking, top_sizes


def test_top_count_rounds_up_with_integers_and_keeps_at_least_one():
    assert top_count(100, 1) == 1 and top_count(50, 1) == 1 and top_count(10, 1) == 1
    assert top_count(300, 5) == 15 and top_count(300, 10) == 30 and top_count(301, 10) == 31
    assert top_count(1000, 1) == 10 and top_count(15625, 1) == 157
    assert top_sizes(200) == {"1%": 2, "5%": 10, "10%": 20}
    with pytest.raises(ValueError):
        top_count(0, 5)


def test_hand_made_precisions_and_top_network():
    accuracy = np.arange(20, dtype=float)  # network 19 is the best
    scores = np.arange(20, dtype=float)
    scores[5] = 100.0  # network 5 (rank 15 of 20) scored second
    scores[19] = 200.0
    result = top_of_ranking(scores, accuracy)
    # 1 % and 5 % of 20 = 1 network: the best one, scored first
    assert result["precision_at_1pct"] == 1.0 and result["precision_at_5pct"] == 1.0
    # 10 % = 2 networks: {19, 5} against the true {19, 18}
    assert result["precision_at_10pct"] == 0.5
    assert (result["top1_accuracy"], result["top1_rank"], result["top1_tied"]) == (19.0, 1.0, 1)
    assert result["nonfinite_scores"] == 0

    degenerate = np.arange(20, dtype=float)
    degenerate[[0, 1]] = [50.0, 40.0]  # the two worst networks scored first
    result = top_of_ranking(degenerate, accuracy)
    assert result["precision_at_10pct"] == 0.0
    assert (result["top1_accuracy"], result["top1_rank"]) == (0.0, 20.0)


def test_top_ten_below_median_counts_poor_networks_scored_first():
    accuracy = np.arange(40, dtype=float)  # median 19.5: networks 0..19 are below it
    scores = accuracy.copy()
    assert top_of_ranking(scores, accuracy)["top10_below_median"] == 0.0
    scores[[0, 3, 7]] = [100.0, 99.0, 98.0]  # three poor networks put first, as a degenerate formula does
    assert top_of_ranking(scores, accuracy)["top10_below_median"] == 3.0
    assert top_of_ranking(-accuracy, accuracy)["top10_below_median"] == 10.0
    # a tie across the tenth place counts as its expected value: 2 places for 4 tied networks, 2 of them poor
    scores = accuracy.copy()
    scores[[1, 2, 38, 39]] = 50.0  # networks 1, 2 (poor) and 38, 39 (the best) tie above the rest
    scores[30:38] = np.arange(60.0, 68.0)  # eight good networks first
    assert top_of_ranking(scores, accuracy)["top10_below_median"] == 1.0
    # fewer than ten networks: all of them are the top
    small = top_of_ranking(np.arange(5.0), np.array([5.0, 4.0, 3.0, 2.0, 1.0]))
    assert small["top10_below_median"] == 2.0


def test_a_tie_is_its_expected_value_never_the_listing_order():
    accuracy = np.array([9.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.0])
    scores = np.array([5.0, 5.0, 0, 0, 0, 0, 0, 0, 0, 0])  # the best and the second worst tie first
    result = top_of_ranking(scores, accuracy)
    assert result["precision_at_10pct"] == 0.5  # k = 1: the best network wins the tie half the time
    assert result["top1_tied"] == 2
    assert result["top1_accuracy"] == 5.0 and result["top1_rank"] == (1 + 9) / 2
    swapped = top_of_ranking(scores[::-1].copy(), accuracy[::-1].copy())
    assert swapped == result

    # accuracy ties share the best of their ranks
    result = top_of_ranking(np.array([1.0, 2.0, 3.0]), np.array([5.0, 7.0, 7.0]))
    assert result["top1_rank"] == 1.0


def test_non_finite_scores_rank_last_and_are_counted():
    accuracy = np.arange(10, dtype=float)
    scores = np.arange(10, dtype=float)
    scores[9] = np.nan  # the best network's score is lost
    scores[0] = np.inf  # an overflow is not "predicted best"
    result = top_of_ranking(scores, accuracy)
    assert result["nonfinite_scores"] == 2
    assert result["precision_at_10pct"] == 0.0  # network 8 is scored first; the true top 1 is 9
    assert (result["top1_accuracy"], result["top1_rank"]) == (8.0, 2.0)


@pytest.mark.parametrize("scores, accuracy", [
    (np.ones(10), np.arange(10.0)),  # constant proxy
    (np.full(10, np.nan), np.arange(10.0)),  # every score non-finite
    (np.r_[np.ones(5), np.full(5, np.inf)], np.arange(10.0)),  # a finite constant and overflows: still one value
    (np.arange(10.0), np.ones(10)),  # constant ground truth
    (np.array([1.0]), np.array([2.0])),  # one network
])
def test_meaningless_rankings_are_undefined_not_numbers(scores, accuracy):
    result = top_of_ranking(scores, accuracy)
    assert all(result[key] is None for key in TOP_KEYS if key != "nonfinite_scores")


def test_small_sets_keep_at_least_one_network():
    accuracy = np.arange(50, dtype=float)
    result = top_of_ranking(accuracy.copy(), accuracy)
    assert all(result[key] == 1.0 for key in PRECISION_KEYS.values())
    result = top_of_ranking(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert result["precision_at_1pct"] == 0.0 and result["top1_rank"] == 2.0


def test_bad_input_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        top_of_ranking(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        top_of_ranking(np.arange(3.0), np.array([1.0, np.nan, 2.0]))


def _enumerated_inclusion(values: np.ndarray, size: int) -> np.ndarray:
    """Mean over every listing order of 'is among the first ``size`` by a stable descending sort'."""
    total = np.zeros(len(values))
    orders = list(itertools.permutations(range(len(values))))
    for order in orders:
        order = np.array(order)
        ranked = order[np.argsort(-values[order], kind="stable")]
        total[ranked[:size]] += 1
    return total / len(orders)


values_strategy = st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, math.nan, math.inf]), min_size=2, max_size=6)


@settings(max_examples=40, deadline=None)
@given(values_strategy, st.data())
def test_precision_is_the_mean_over_random_tie_breaking(scores, data):
    scores = np.array(scores)
    accuracy = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=len(scores),
                                           max_size=len(scores))))
    result = top_of_ranking(scores, accuracy)
    if result["top1_rank"] is None:
        return
    key = np.where(np.isfinite(scores), scores, -np.inf)
    for percent, name in PRECISION_KEYS.items():
        size = top_count(len(scores), percent)
        expected = (_enumerated_inclusion(key, size) * _enumerated_inclusion(accuracy, size)).sum() / size
        assert result[name] == pytest.approx(expected, abs=1e-12)


finite = st.floats(-1e6, 1e6, allow_nan=False)
score_values = finite | st.sampled_from([math.nan, math.inf, -math.inf])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(score_values, finite), min_size=2, max_size=120), st.randoms(use_true_random=False))
def test_bounds_and_permutation_invariance(pairs, random):
    scores = np.array([pair[0] for pair in pairs])
    accuracy = np.array([pair[1] for pair in pairs])
    result = top_of_ranking(scores, accuracy)
    order = list(range(len(pairs)))
    random.shuffle(order)
    shuffled = top_of_ranking(scores[order], accuracy[order])
    assert result["nonfinite_scores"] == int((~np.isfinite(scores)).sum())
    for key in TOP_KEYS:
        assert (result[key] is None) == (shuffled[key] is None)
        if result[key] is not None:
            assert shuffled[key] == pytest.approx(result[key], rel=1e-12, abs=1e-12)
    if result["top1_rank"] is None:
        return
    for name in PRECISION_KEYS.values():
        assert 0.0 <= result[name] <= 1.0
    assert 1.0 <= result["top1_rank"] <= len(pairs)
    assert accuracy.min() <= result["top1_accuracy"] <= accuracy.max()
    assert 1 <= result["top1_tied"] <= len(pairs)
    poor = int((accuracy < np.median(accuracy)).sum())
    assert 0.0 <= result["top10_below_median"] <= min(10, poor) + 1e-9
    # a strictly increasing map of the scores changes nothing
    squashed = np.where(np.isfinite(scores), np.arctan(scores / 1e6), scores)
    if len(np.unique(squashed[np.isfinite(squashed)])) == len(np.unique(scores[np.isfinite(scores)])):
        assert top_of_ranking(squashed, accuracy)["precision_at_10pct"] == pytest.approx(result["precision_at_10pct"])
