"""Per-task normalisation of statistics (``fitness.normalise``), within the sample being scored.

Called by the multi-task run controller (:mod:`greenmachine.run.multitask`), :mod:`greenmachine.evaluation.evaluate`
(``gm eval`` of a normalised proxy) and :class:`greenmachine.proxies.Proxy` (scoring with a normalised proxy).

Normalisation (``fitness.normalise``) rewrites every statistic *within the sample being
scored* -- never using accuracy -- so one formula fits spaces whose statistics have
different scales:

* ``rank``: each value becomes its average rank among the sample's values of that
  statistic (every valid layer of every network, for a per-layer statistic), scaled to
  ``(0, 1)`` as ``(rank - 0.5) / count``; NaN stays NaN.
* ``zscore``: ``(value - mean) / standard deviation`` over the sample's finite values of
  that statistic (a constant statistic becomes 0); NaN and infinities stay as they are.

Both are strictly increasing maps of each statistic within one sample, so a normalised
formula scores a *set* of networks, not one network alone.
"""

from __future__ import annotations

import numpy as np
import torch

from greenmachine.errors import GMError
from greenmachine.stats.table import StatisticTable

NORMALISATIONS = ("none", "rank", "zscore")
"""Accepted values of ``fitness.normalise``."""


def normalise_values(values: np.ndarray, how: str) -> np.ndarray:
    """Normalise one statistic's values (a 1-D array of one sample) by ``how``.

    Parameters
    ----------
    values : numpy.ndarray
        Every value of the statistic in the sample (float64).
    how : {"none", "rank", "zscore"}
        See the module docstring.

    Returns
    -------
    numpy.ndarray
        float64 of the same shape.
    """
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=np.float64)
    if how == "none":
        return values.copy()
    result = values.copy()
    if how == "rank":
        present = ~np.isnan(values)
        count = int(present.sum())
        if count:
            result[present] = (rankdata(values[present], method="average") - 0.5) / count
        return result
    if how == "zscore":
        finite = np.isfinite(values)
        if finite.any():
            kept = values[finite]
            # equal values are 0 (their float mean can differ from them in the last bit, which
            # would make a spread of rounding noise and scores of +-1)
            spread = kept.std() if kept.max() > kept.min() else 0.0
            result[finite] = (kept - kept.mean()) / spread if spread > 0 else 0.0
        return result
    raise GMError(f"unknown normalisation {how!r} (choose from {', '.join(NORMALISATIONS)})")


def normalise_table(table: StatisticTable, how: str) -> StatisticTable:
    """Return ``table`` with every statistic normalised within its networks (see module docstring).

    A per-layer statistic is normalised over every valid layer of every network of the
    table; padded positions stay 0. ``how = "none"`` returns ``table`` itself.
    """
    if how == "none":
        return table
    if how not in NORMALISATIONS:
        raise GMError(f"unknown normalisation {how!r} (choose from {', '.join(NORMALISATIONS)})")
    mask = table.layer_mask.cpu().numpy()
    layer = table.layer_values.cpu().numpy().copy()
    for row in range(layer.shape[0]):
        layer[row][mask] = normalise_values(layer[row][mask], how)
    network = table.network_values.cpu().numpy().copy()
    for row in range(network.shape[0]):
        network[row] = normalise_values(network[row], how)
    device = table.layer_values.device
    return StatisticTable(table.layer_statistic_names, table.network_statistic_names,
                          torch.from_numpy(layer).to(device), table.layer_mask,
                          torch.from_numpy(network).to(device))
