"""One fitness from the taus of several tasks (``fitness.aggregate``): minimum, mean or margin.

Called by :class:`greenmachine.evolution.Evolution` (every generation of a run with several tasks or
datasets) and the tests.
"""

from __future__ import annotations

from typing import Sequence

import torch

from greenmachine.errors import GMError
from greenmachine.stats.fitness import WORST_FITNESS

AGGREGATES = ("min", "mean", "margin")
"""Accepted values of ``fitness.aggregate``."""


def aggregate_taus(taus: Sequence[torch.Tensor], how: str = "min",
                   offsets: Sequence[float] | None = None) -> torch.Tensor:
    """One fitness per tree from per-task taus: the minimum, the mean or the smallest margin.

    Parameters
    ----------
    taus : sequence of torch.Tensor
        One ``(P,)`` tensor per task.
    how : {"min", "mean", "margin"}
        ``margin``: half the smallest ``tau - offset`` over tasks, where ``offsets`` are the
        taus of each task's best baseline on the same sample; halved so that it lies in
        [-1, 1] like a tau. A tree whose tau is invalid (:data:`greenmachine.stats.fitness.WORST_FITNESS`)
        on any task keeps that value.
    offsets : sequence of float, optional
        One per task; needed by ``margin`` only.

    Returns
    -------
    torch.Tensor
        ``(P,)``; ``min`` is computed as successive :func:`torch.minimum` (exactly what a
        single-space run always did).

    Raises
    ------
    GMError
        No taus, an unknown ``how``, or ``margin`` without one offset per task.
    """
    if not taus:
        raise GMError("no task tau to aggregate")
    if how == "margin":
        if offsets is None or len(offsets) != len(taus):
            raise GMError("the margin aggregate needs the best baseline's tau of every task")
        smallest = aggregate_taus([tau - float(offset) for tau, offset in zip(taus, offsets)], "min") / 2.0
        invalid = aggregate_taus(list(taus), "min") <= WORST_FITNESS
        return torch.where(invalid, torch.full_like(smallest, WORST_FITNESS), smallest)
    if how == "min":
        result = taus[0]
        for tau in taus[1:]:
            result = torch.minimum(result, tau)
        return result
    if how == "mean":
        return torch.stack(list(taus)).mean(dim=0)
    raise GMError(f"unknown fitness aggregate {how!r} (choose from {', '.join(AGGREGATES)})")
