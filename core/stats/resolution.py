"""Does a proxy's ranking resolve the networks its own statistics tell apart?

A formula can rank well overall yet give only a few distinct scores: a huge addend (a
protected ``exp`` at its clamp, ``e**50``) swallows the rest of the formula in float64
rounding, or a saturating operator flattens it. Kendall tau barely notices (a handful of
score classes still rank in the right order), but a search guided by such a proxy picks
arbitrarily among the hundreds of networks that share its highest score. The figure here is
label-free: it compares the number of distinct scores with the number of networks whose
*statistics read by the formula* differ.

Called by :mod:`greenmachine.evolution.loop` (the run's best proxy is never a coarse formula)
and :mod:`greenmachine.proxies.degeneracy` (``gm eval``, ``gm score`` and ``gm search`` say so).
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import torch

from greenmachine.stats.table import StatisticTable

#: Scores are *coarse* when they take fewer distinct values than this share of the distinct
#: input rows (networks whose statistics read by the formula differ).
COARSE_SHARE = 0.5
#: Fewer distinct input rows than this are never called coarse (too few to tell).
COARSE_MINIMUM_ROWS = 10


def distinct_count(values: np.ndarray) -> int:
    """How many distinct values one score vector takes (NaN counted once, +-inf once each)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = values[np.isfinite(values)]
    return int(np.unique(finite).size + np.isnan(values).any() + np.isposinf(values).any()
               + np.isneginf(values).any())


def distinct_rows(rows: Iterable[np.ndarray]) -> int:
    """How many distinct rows (one float64 array per network, any lengths) there are (-0.0 is 0.0)."""
    return len({(row.shape, (row + 0.0).tobytes()) for row in
                (np.asarray(r, dtype=np.float64).reshape(-1) for r in rows)})


def value_rows(values: Mapping[str, Sequence[np.ndarray]], count: int) -> list[np.ndarray]:
    """Each of ``count`` networks' values of every statistic in ``values`` (names sorted) as one array."""
    names = sorted(values)
    return [np.concatenate([values[name][n] for name in names]) if names else np.zeros(0) for n in range(count)]


def table_rows(table: StatisticTable, names: Iterable[str]) -> list[np.ndarray]:
    """Each network's values of the statistics ``names`` as one array (layer padding left out)."""
    return value_rows(table.unpadded_values(names), table.num_networks)


def is_coarse(distinct_scores: int, distinct_inputs: int) -> bool:
    """True where scores take fewer than :data:`COARSE_SHARE` x as many values as the inputs have rows."""
    return distinct_inputs >= COARSE_MINIMUM_ROWS and distinct_scores < COARSE_SHARE * distinct_inputs


def coarse_on_table(scores: torch.Tensor | np.ndarray | Sequence[float], table: StatisticTable,
                    names: Iterable[str]) -> bool:
    """:func:`is_coarse` for one proxy's ``scores`` on ``table``, reading the statistics ``names``."""
    values = scores.detach().cpu().numpy() if isinstance(scores, torch.Tensor) else np.asarray(scores)
    return is_coarse(distinct_count(values), distinct_rows(table_rows(table, names)))


__all__ = ["COARSE_MINIMUM_ROWS", "COARSE_SHARE", "coarse_on_table", "distinct_count", "distinct_rows", "is_coarse",
           "table_rows", "value_rows"]
