"""Rank correlations between proxy scores and ground-truth accuracy, batched on torch.

:func:`kendall_tau_b` is the fitness of evolution: Kendall's tau-b, with ties handled exactly
as :func:`scipy.stats.kendalltau` (variant ``b``), for a whole population at once
(``(P, N)`` scores against one ``(N,)`` target) in ``O(P N log N)``: the networks are put in
(target, score) order once per row and the discordant pairs are counted as inversions by a
bottom-up merge count (``log2 N`` vectorised passes with ``torch.searchsorted``). All pair
counts are exact integers, so a tau never depends on batch composition or device.

:func:`spearman_rho` (average ranks for ties, as :func:`scipy.stats.spearmanr`) is reported
next to tau. :func:`multi_dataset_fitness` is the minimum tau over several datasets.

Worst fitness: a row whose scores contain NaN or infinity (float64 overflow in a formula),
or are constant (tau undefined), gets :data:`WORST_FITNESS` ``= -1.0``, the lowest value
tau can take, so such a proxy never wins a tournament against a valid one with the same
parsimony penalty.

Called by :mod:`greenmachine.evolution` (every generation), the engine and ``gm eval`` (test-sample
reports), the baselines, the benchmark script and the tests.
"""

from __future__ import annotations

from typing import Sequence

import torch

WORST_FITNESS = -1.0
"""Fitness of non-finite or constant scores (the minimum possible tau)."""


def _as_rows(scores: torch.Tensor) -> torch.Tensor:
    scores = torch.as_tensor(scores)
    if scores.dim() == 1:
        scores = scores.unsqueeze(0)
    if scores.dim() != 2:
        raise ValueError(f"scores must be (P, N) or (N,), got shape {tuple(scores.shape)}")
    return scores.to(torch.float64)


def _dense_ranks(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense integer ranks (0 = smallest) of each row, and the number of tied pairs per row."""
    ordered, order = rows.sort(dim=-1, stable=True)
    new = torch.ones_like(ordered, dtype=torch.bool)
    new[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    dense_sorted = new.to(torch.int64).cumsum(dim=-1) - 1
    ranks = torch.empty_like(dense_sorted).scatter_(-1, order, dense_sorted)
    return ranks, _tied_pairs(new)


def _tied_pairs(new_group: torch.Tensor) -> torch.Tensor:
    """Sum over groups of c (c - 1) / 2, from the 'starts a new group' flags of sorted rows."""
    position = torch.arange(new_group.shape[-1], device=new_group.device).expand_as(new_group)
    start = torch.where(new_group, position, torch.zeros_like(position)).cummax(dim=-1).values
    return (position - start).sum(dim=-1)


def _inversions(values: torch.Tensor) -> torch.Tensor:
    """Number of pairs i < j with values[i] > values[j] (strictly), per row; int64."""
    rows, count = values.shape
    width = 1
    while width < count:
        width *= 2
    if width > count:  # pad with values larger than any: adds no inversion
        pad = values.max() + 1 if values.numel() else 0
        values = torch.cat([values, torch.full((rows, width - count), int(pad), dtype=values.dtype, device=values.device)], 1)
    total = torch.zeros(rows, dtype=torch.int64, device=values.device)
    block = 1
    while block < width:
        pairs = values.reshape(rows, width // (2 * block), 2, block)
        left = pairs[:, :, 0, :].contiguous()
        right = pairs[:, :, 1, :].contiguous()
        not_greater = torch.searchsorted(left, right, right=True)  # left elements <= each right one
        total += (block - not_greater).sum(dim=(1, 2))
        values = pairs.reshape(rows, width // (2 * block), 2 * block).sort(dim=-1).values.reshape(rows, width)
        block *= 2
    return total


def kendall_tau_b(scores: torch.Tensor, target: torch.Tensor, invalid: float = WORST_FITNESS) -> torch.Tensor:
    """Kendall's tau-b of each row of ``scores`` against ``target``.

    Parameters
    ----------
    scores : torch.Tensor
        ``(P, N)`` (or ``(N,)``) proxy scores.
    target : torch.Tensor
        ``(N,)`` ground truth (e.g. test accuracy).
    invalid : float
        Value for rows with a NaN/inf score, constant rows, or a constant target
        (default :data:`WORST_FITNESS`).

    Returns
    -------
    torch.Tensor
        float64 ``(P,)`` on the scores' device; equal to
        ``scipy.stats.kendalltau(row, target).statistic`` wherever that is defined.
    """
    rows = _as_rows(scores)
    device = rows.device
    target = torch.as_tensor(target, dtype=torch.float64).to(device).reshape(-1)
    count = rows.shape[1]
    if target.shape[0] != count:
        raise ValueError(f"scores have {count} networks but the target has {target.shape[0]}")
    result = torch.full((rows.shape[0],), float(invalid), dtype=torch.float64, device=device)
    if count < 2 or rows.shape[0] == 0:
        return result
    valid = torch.isfinite(rows).all(dim=1)
    rows = torch.where(torch.isfinite(rows), rows, torch.zeros((), dtype=torch.float64, device=device))
    # order by target once; dense target ranks give the target ties
    target_order = target.argsort(stable=True)
    target_ranks, target_ties = _dense_ranks(target[target_order].unsqueeze(0))
    target_ranks = target_ranks[0]
    rows = rows[:, target_order]
    score_ranks, score_ties = _dense_ranks(rows)
    # lexicographic (target, score) order: discordant pairs are strict inversions of the scores
    key = target_ranks.unsqueeze(0) * count + score_ranks
    key_sorted, key_order = key.sort(dim=-1)
    new = torch.ones_like(key_sorted, dtype=torch.bool)
    new[:, 1:] = key_sorted[:, 1:] != key_sorted[:, :-1]
    joint_ties = _tied_pairs(new)
    discordant = _inversions(score_ranks.gather(1, key_order))
    total = count * (count - 1) // 2
    numerator = total - target_ties - score_ties + joint_ties - 2 * discordant
    denominator = torch.sqrt(((total - target_ties) * (total - score_ties)).to(torch.float64))
    ok = valid & (denominator > 0)
    tau = numerator.to(torch.float64) / torch.where(ok, denominator, torch.ones_like(denominator))
    return torch.where(ok, tau.clamp(-1.0, 1.0), result)


def _average_ranks(rows: torch.Tensor) -> torch.Tensor:
    """1-based average ranks of each row (ties share the mean of their positions)."""
    ordered, order = rows.sort(dim=-1, stable=True)
    count = rows.shape[-1]
    new = torch.ones_like(ordered, dtype=torch.bool)
    new[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    last = torch.ones_like(new)
    last[..., :-1] = new[..., 1:]
    position = torch.arange(count, device=rows.device).expand_as(ordered)
    start = torch.where(new, position, torch.zeros_like(position)).cummax(dim=-1).values
    end = torch.where(last, position, torch.full_like(position, count)).flip(-1).cummin(dim=-1).values.flip(-1)
    average = (start + end).to(torch.float64) / 2 + 1
    return torch.empty_like(average).scatter_(-1, order, average)


def spearman_rho(scores: torch.Tensor, target: torch.Tensor, invalid: float = WORST_FITNESS) -> torch.Tensor:
    """Spearman's rho of each row of ``scores`` against ``target`` (as :func:`scipy.stats.spearmanr`).

    Parameters
    ----------
    scores : torch.Tensor
        ``(P, N)`` (or ``(N,)``) proxy scores.
    target : torch.Tensor
        ``(N,)`` ground truth.
    invalid : float
        Value for rows with NaN/inf scores or constant rows / target.

    Returns
    -------
    torch.Tensor
        float64 ``(P,)``.
    """
    rows = _as_rows(scores)
    device = rows.device
    target = torch.as_tensor(target, dtype=torch.float64).to(device).reshape(1, -1)
    if target.shape[1] != rows.shape[1]:
        raise ValueError(f"scores have {rows.shape[1]} networks but the target has {target.shape[1]}")
    result = torch.full((rows.shape[0],), float(invalid), dtype=torch.float64, device=device)
    if rows.shape[1] < 2 or rows.shape[0] == 0:
        return result
    valid = torch.isfinite(rows).all(dim=1)
    rows = torch.where(torch.isfinite(rows), rows, torch.zeros((), dtype=torch.float64, device=device))
    a = _average_ranks(rows)
    b = _average_ranks(target)
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    denominator = torch.sqrt((a * a).sum(dim=1) * (b * b).sum(dim=1))
    ok = valid & (denominator > 0)
    rho = (a * b).sum(dim=1) / torch.where(ok, denominator, torch.ones_like(denominator))
    return torch.where(ok, rho.clamp(-1.0, 1.0), result)


def multi_dataset_fitness(
    scores: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], invalid: float = WORST_FITNESS
) -> torch.Tensor:
    """Minimum Kendall tau-b over datasets.

    Parameters
    ----------
    scores : sequence of torch.Tensor
        One ``(P, N_d)`` score tensor per dataset (same ``P`` trees, in the same order).
    targets : sequence of torch.Tensor
        One ``(N_d,)`` target per dataset.

    Returns
    -------
    torch.Tensor
        float64 ``(P,)``: for each tree, its worst tau over the datasets.
    """
    if len(scores) == 0 or len(scores) != len(targets):
        raise ValueError("need one score tensor per target, and at least one dataset")
    taus = [kendall_tau_b(s, t, invalid).cpu() for s, t in zip(scores, targets)]
    return torch.stack(taus).amin(dim=0)
