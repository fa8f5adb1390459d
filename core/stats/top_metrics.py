"""Top-of-ranking figures of a proxy: does it put the best networks first?

A rank correlation over a whole sample (Kendall tau, Spearman rho) barely moves when a
proxy ranks a handful of poor networks first, yet a search returns exactly those. The
figures here look at the top only, as the zero-cost-proxy literature reports them:

* ``precision_at_{1,5,10}pct``: of the ``k`` networks the proxy scores highest, the share
  that is also among the ``k`` most accurate networks of the same set, with
  ``k = ceil(p % of n)`` and at least 1 (top 1 % of 100 networks: 1; of 50: 1; 5 % of 300:
  15). 1 is perfect; a random ranking expects ``k / n``.
* ``top1_accuracy`` and ``top1_rank``: the true accuracy of the network the proxy scores
  highest, and its rank among the ``n`` networks of the set by accuracy (1 = the best;
  networks of equal accuracy share the best of their ranks).
* ``top1_tied``: how many networks share the highest score (1 for a proxy without a tie
  at the top), and ``nonfinite_scores``: how many scores are NaN or infinite.
* ``top10_below_median``: how many of the 10 networks the proxy scores highest (all of them
  in a set of fewer than 10) are less accurate than the set's median network: 0 is what a
  searcher needs, and it is what Kendall tau cannot see when a proxy puts a handful of
  degenerate networks first.

Ties and non-finite scores, honestly: a score that is NaN or +-inf (a formula that
overflowed) ranks *last*, tied with every other non-finite score. Ties (in the scores or in
the accuracies) are broken uniformly at random and every figure is its *expected value*
under that random order, computed exactly: a network tied across the top-``k`` boundary
counts as in the top with probability (free places) / (tied networks), and a tie at the
very top gives the mean accuracy and mean rank of the tied networks. So a tie never favours
nor punishes a proxy by the order the networks happen to be listed in, and the figures do
not change when the networks are permuted. A proxy whose scores carry no ranking of their own
(fewer than two distinct finite scores: every score equal, or equal but for overflows), a
constant ground truth, or fewer than two networks give ``None`` for every figure: such a
score is undefined, never a number.

Called by :mod:`greenmachine.evaluation.evaluate` (the evolved proxy and every baseline in run reports,
``gm eval`` and ``gm baselines``) and the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TOP_PERCENTS: tuple[int, ...] = (1, 5, 10)
"""The top fractions reported, in percent of the set."""

PRECISION_KEYS: dict[int, str] = {percent: f"precision_at_{percent}pct" for percent in TOP_PERCENTS}
"""The JSON key of each top fraction's precision."""

TOP_COUNT: int = 10
"""How many best-scored networks ``top10_below_median`` looks at."""

TOP_KEYS: tuple[str, ...] = (*PRECISION_KEYS.values(), "top1_accuracy", "top1_rank", "top1_tied",
                             "top10_below_median", "nonfinite_scores")
"""Every key :func:`top_of_ranking` returns, in order."""


def top_count(count: int, percent: int) -> int:
    """Number of networks in the top ``percent`` % of ``count``: ``ceil(percent * count / 100)``, at least 1.

    Integer arithmetic (``5 % of 300`` is exactly 15, never 16 by a rounding error).
    """
    if count < 1:
        raise ValueError(f"a top fraction needs at least one network, got {count}")
    return max(1, -(-int(percent) * int(count) // 100))


def top_sizes(count: int) -> dict[str, int]:
    """``{"1%": k1, "5%": k5, "10%": k10}``: the top sizes of a set of ``count`` networks (JSON context)."""
    return {f"{percent}%": top_count(count, percent) for percent in TOP_PERCENTS}


def _inclusion(values: np.ndarray, size: int) -> np.ndarray:
    """Probability of each network being among the ``size`` highest ``values``, ties broken at random."""
    threshold = np.sort(values)[::-1][size - 1]
    above = values > threshold
    at = values == threshold
    chance = above.astype(np.float64)
    chance[at] = (size - int(above.sum())) / int(at.sum())
    return chance


def top_of_ranking(scores: Any, accuracy: Any) -> dict[str, float | int | None]:
    """Top-of-ranking figures of ``scores`` (higher = predicted better) against ``accuracy``.

    Parameters
    ----------
    scores : array_like
        ``(N,)`` proxy scores; NaN and +-inf rank last (see the module docstring).
    accuracy : array_like
        ``(N,)`` ground truth of the same networks (finite).

    Returns
    -------
    dict
        :data:`TOP_KEYS`: the precisions (0..1) and ``top1_accuracy`` / ``top1_rank``
        (floats: expected values over random tie-breaking; ``None`` where undefined),
        ``top1_tied`` (int or ``None``), ``top10_below_median`` (float: expected count, or
        ``None``) and ``nonfinite_scores`` (int).

    Raises
    ------
    ValueError
        Shapes differ, or an accuracy is not finite.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    accuracy = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if scores.shape != accuracy.shape:
        raise ValueError(f"scores {scores.shape} and accuracy {accuracy.shape} differ in shape")
    if not np.all(np.isfinite(accuracy)):
        raise ValueError("the ground-truth accuracy must be finite for every network")
    finite = np.isfinite(scores)
    result: dict[str, float | int | None] = {key: None for key in TOP_KEYS}
    result["nonfinite_scores"] = int((~finite).sum())
    count = scores.shape[0]
    # every non-finite score becomes one tie group below every finite one
    key = np.where(finite, scores, -np.inf)
    if count < 2 or len(np.unique(scores[finite])) < 2 or np.all(accuracy == accuracy[0]):
        return result
    for percent, name in PRECISION_KEYS.items():
        size = top_count(count, percent)
        result[name] = float(np.clip((_inclusion(key, size) * _inclusion(accuracy, size)).sum() / size, 0.0, 1.0))
    first = key == key.max()
    better = np.sort(accuracy)[::-1]
    # rank = 1 + number of networks strictly more accurate
    ranks = 1 + np.searchsorted(-better, -accuracy[first], side="left")
    result["top1_accuracy"] = float(accuracy[first].mean())
    result["top1_rank"] = float(ranks.mean())
    result["top1_tied"] = int(first.sum())
    below = accuracy < np.median(accuracy)
    result["top10_below_median"] = float((_inclusion(key, min(TOP_COUNT, count)) * below).sum())
    return result


__all__ = ["PRECISION_KEYS", "TOP_COUNT", "TOP_KEYS", "TOP_PERCENTS", "top_count", "top_of_ranking", "top_sizes"]
