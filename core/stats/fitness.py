"""Rank correlations between proxy scores and ground-truth accuracy, batched on torch.

:func:`kendall_tau_b` is the fitness of evolution: Kendall's tau-b, with ties handled exactly
as :func:`scipy.stats.kendalltau` (variant ``b``), for a whole population at once
(``(P, N)`` scores against one ``(N,)`` target) in ``O(P N log N)``: the networks are put in
(target, score) order once per row and the discordant pairs are counted as inversions by a
bottom-up merge count (``log2 N`` vectorised passes with ``torch.searchsorted``). All pair
counts are exact integers, so a tau never depends on batch composition or device.

:func:`spearman_rho` (average ranks for ties, as :func:`scipy.stats.spearmanr`) is reported
next to tau. :func:`multi_dataset_fitness` is the minimum tau over several datasets.

:func:`weighted_kendall_tau` (``fitness.metric = "weighted_kendall"``, via
:func:`rank_fitness`) is a top-weighted alternative fitness: the hyperbolically weighted tau
of :func:`scipy.stats.weightedtau`, batched the same way, which weighs most the pairs that
involve a proxy's first choices or the truly best networks. :func:`guarded_kendall_tau`
(``fitness.metric = "kendall_top"``) is tau pulled towards -1 by the share of the proxy's
best-scored tenth that is below the sample's median accuracy: it punishes exactly the failure
a search meets, a few poor networks scored first.

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

from greenmachine.stats.top_metrics import top_count

WORST_FITNESS = -1.0
"""Fitness of non-finite or constant scores (the minimum possible tau)."""


def _as_rows(scores: torch.Tensor) -> torch.Tensor:
    scores = torch.as_tensor(scores)
    if scores.dim() == 1:
        scores = scores.unsqueeze(0)
    if scores.dim() != 2:
        raise ValueError(f"scores must be (P, N) or (N,), got shape {tuple(scores.shape)}")
    return scores.to(torch.float64)


def _prepare(scores: torch.Tensor, target: torch.Tensor, invalid: float):
    """The common start of the batched correlations: ``(rows, target, result, valid)``.

    ``rows``: the scores as float64 ``(P, N)`` with NaN/inf set to 0 (their rows are not
    ``valid``); ``target``: float64 ``(N,)`` on the rows' device; ``result``: ``invalid`` for
    every row; ``valid``: None when no correlation can be computed (fewer than two networks
    or no rows), else which rows are finite.

    Raises
    ------
    ValueError
        The scores and the target name different numbers of networks.
    """
    rows = _as_rows(scores)
    device = rows.device
    target = torch.as_tensor(target, dtype=torch.float64).to(device).reshape(-1)
    count = rows.shape[1]
    if target.shape[0] != count:
        raise ValueError(f"scores have {count} networks but the target has {target.shape[0]}")
    result = torch.full((rows.shape[0],), float(invalid), dtype=torch.float64, device=device)
    if count < 2 or rows.shape[0] == 0:
        return rows, target, result, None
    valid = torch.isfinite(rows).all(dim=1)
    rows = torch.where(torch.isfinite(rows), rows, torch.zeros((), dtype=torch.float64, device=device))
    return rows, target, result, valid


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
    rows, target, result, valid = _prepare(scores, target, invalid)
    if valid is None:
        return result
    count = rows.shape[1]
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


def _inversion_partners(values: torch.Tensor) -> torch.Tensor:
    """For each position of each row, the number of positions it forms a strict inversion with.

    ``values[i] > values[j]`` for ``i < j`` is one inversion, counted for both ``i`` and ``j``
    (so a row's counts add up to twice :func:`_inversions`). Bottom-up merge in ``log2 N``
    vectorised passes: at each level, an element of a right block counts the elements of its
    left block that are greater, and an element of a left block the elements of its right
    block that are smaller; the blocks are then merged, carrying each element's position.
    """
    rows, count = values.shape
    width = 1
    while width < count:
        width *= 2
    positions = torch.arange(width, device=values.device).expand(rows, width)
    if width > count:  # pad with values larger than any: no inversion with a real element
        pad = values.max() + 1 if values.numel() else 0
        values = torch.cat([values, torch.full((rows, width - count), int(pad), dtype=values.dtype, device=values.device)], 1)
    partners = torch.zeros(rows, width, dtype=torch.int64, device=values.device)
    block = 1
    while block < width:
        shape = (rows, width // (2 * block), 2, block)
        pairs, owners = values.reshape(shape), positions.reshape(shape)
        left, right = pairs[:, :, 0, :].contiguous(), pairs[:, :, 1, :].contiguous()
        greater_on_left = block - torch.searchsorted(left, right, right=True)
        smaller_on_right = torch.searchsorted(right, left, right=False)
        partners.scatter_add_(1, owners[:, :, 1, :].reshape(rows, -1), greater_on_left.reshape(rows, -1))
        partners.scatter_add_(1, owners[:, :, 0, :].reshape(rows, -1), smaller_on_right.reshape(rows, -1))
        merged, order = pairs.reshape(rows, width // (2 * block), 2 * block).sort(dim=-1, stable=True)
        values = merged.reshape(rows, width)
        positions = owners.reshape(rows, width // (2 * block), 2 * block).gather(-1, order).reshape(rows, width)
        block *= 2
    return partners[:, :count]


def _group_sizes(ranks: torch.Tensor) -> torch.Tensor:
    """For each element, the size of its tie group (``ranks``: dense ranks ``0..N-1`` per row)."""
    sizes = torch.zeros_like(ranks).scatter_add_(-1, ranks, torch.ones_like(ranks))
    return sizes.gather(-1, ranks)


def weighted_kendall_tau(scores: torch.Tensor, target: torch.Tensor, invalid: float = WORST_FITNESS) -> torch.Tensor:
    """Top-weighted Kendall tau of each row of ``scores`` against ``target``.

    Vigna's weighted tau with additive hyperbolic weights, exactly as
    :func:`scipy.stats.weightedtau` with its defaults (``rank=True``, ``weigher(r) = 1 / (r + 1)``,
    ``additive=True``): a pair of networks weighs ``w(r_i) + w(r_j)``, where ``r`` is a
    network's place (0 = first) in the ranking by decreasing score (accuracy breaking ties);
    the tau-b-like statistic over these weights is averaged with the one whose places come
    from decreasing accuracy (score breaking ties). So both a proxy's own first choices and
    the truly best networks count most: a few poor networks scored first, which a plain tau
    over a whole sample barely sees, lower it markedly. Ties are handled as scipy does.

    Batched for a population: ``O(P N log N)`` (per-network discordant-partner counts by a
    vectorised merge count; every other term is a sum over tie groups).

    Parameters
    ----------
    scores : torch.Tensor
        ``(P, N)`` (or ``(N,)``) proxy scores.
    target : torch.Tensor
        ``(N,)`` ground truth.
    invalid : float
        Value for rows with a NaN/inf score, constant rows, or a constant target
        (default :data:`WORST_FITNESS`).

    Returns
    -------
    torch.Tensor
        float64 ``(P,)``; equal to ``scipy.stats.weightedtau(row, target).statistic`` (to
        rounding) wherever that is defined.
    """
    rows, target, result, valid = _prepare(scores, target, invalid)
    if valid is None:
        return result
    device, count = rows.device, rows.shape[1]
    target_order = target.argsort(stable=True)
    target_ranks = _dense_ranks(target[target_order].unsqueeze(0))[0][0]
    score_ranks = _dense_ranks(rows[:, target_order])[0]
    # every network in (target, score) order: discordant pairs are strict inversions of the scores
    joint = target_ranks.unsqueeze(0) * count + score_ranks
    joint_sorted, joint_order = joint.sort(dim=-1)
    score_ranks = score_ranks.gather(1, joint_order)
    target_ranks = target_ranks.expand_as(score_ranks).gather(1, joint_order)
    discordant = _inversion_partners(score_ranks).to(torch.float64)
    new = torch.ones_like(joint_sorted, dtype=torch.bool)
    new[:, 1:] = joint_sorted[:, 1:] != joint_sorted[:, :-1]
    # tie-group sizes less one: each network's partners tied in score, in target, in both
    score_tied = (_group_sizes(score_ranks) - 1).to(torch.float64)
    target_tied = (_group_sizes(target_ranks) - 1).to(torch.float64)
    joint_tied = (_group_sizes(new.to(torch.int64).cumsum(dim=-1) - 1) - 1).to(torch.float64)
    place = torch.arange(count, device=device).expand_as(score_ranks)
    # places (0 = most important) by decreasing (target, score): the reverse of the current order
    by_target = (count - 1 - place).to(torch.float64)
    score_order = (score_ranks * count + target_ranks).argsort(dim=-1, stable=True)
    by_score = (count - 1 - torch.empty_like(place).scatter_(1, score_order, place)).to(torch.float64)

    def one_side(places: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weight = 1.0 / (places + 1.0)
        total = (count - 1) * weight.sum(dim=1)
        score_ties = (weight * score_tied).sum(dim=1)
        target_ties = (weight * target_tied).sum(dim=1)
        both_ties = (weight * joint_tied).sum(dim=1)
        numerator = total - (target_ties + score_ties - both_ties) - 2.0 * (weight * discordant).sum(dim=1)
        denominator = (total - score_ties).clamp(min=0).sqrt() * (total - target_ties).clamp(min=0).sqrt()
        ok = denominator > 0
        tau = numerator / torch.where(ok, denominator, torch.ones_like(denominator))
        return tau.clamp(-1.0, 1.0), ok

    first, first_ok = one_side(by_score)
    second, second_ok = one_side(by_target)
    ok = valid & first_ok & second_ok
    return torch.where(ok, (first + second) / 2.0, result)


TOP_FRACTION_PERCENT = 10
"""The best-scored share of a sample that :func:`guarded_kendall_tau` checks, in percent."""


def top_below_median_share(scores: torch.Tensor, target: torch.Tensor, percent: int = TOP_FRACTION_PERCENT
                           ) -> torch.Tensor:
    """Share of each row's ``percent`` % best-scored networks whose target is below the median target.

    ``k`` is :func:`greenmachine.stats.top_metrics.top_count` (``ceil(percent % of N)``, at least 1); a tie across the k-th place counts as its
    expected value under a random tie-break (as :mod:`greenmachine.stats.top_metrics`), so
    the share never depends on the order the networks are listed in. The median is the
    midpoint of the two middle targets for an even ``N``. Rows must be finite.

    Parameters
    ----------
    scores : torch.Tensor
        ``(P, N)`` (or ``(N,)``) finite proxy scores.
    target : torch.Tensor
        ``(N,)`` ground truth.
    percent : int
        The top share checked, in percent.

    Returns
    -------
    torch.Tensor
        float64 ``(P,)`` in ``[0, 1]``.
    """
    rows = _as_rows(scores)
    target = torch.as_tensor(target, dtype=torch.float64).to(rows.device).reshape(-1)
    count = rows.shape[1]
    size = top_count(count, percent)
    ordered = target.sort().values
    median = (ordered[(count - 1) // 2] + ordered[count // 2]) / 2.0
    below = (target < median).to(torch.float64)
    threshold = rows.sort(dim=1, descending=True).values[:, size - 1:size]
    above = rows > threshold
    at = rows == threshold
    places_left = size - above.sum(dim=1, keepdim=True)
    chance = above.to(torch.float64) + at.to(torch.float64) * places_left / at.sum(dim=1, keepdim=True)
    return ((chance * below).sum(dim=1) / size).clamp(0.0, 1.0)


def guarded_kendall_tau(scores: torch.Tensor, target: torch.Tensor, invalid: float = WORST_FITNESS) -> torch.Tensor:
    """Kendall tau-b pulled towards -1 by the share of the best-scored tenth below the median accuracy.

    ``tau - share * (1 + tau)`` with ``share = top_below_median_share(row)``: a proxy whose
    first tenth is all above the sample's median keeps its tau; one whose first tenth is all
    below it gets -1, whatever its tau; in between, each poor network among the first tenth
    moves the fitness the same fraction of the way from tau to -1. Three poor networks of 300
    scored first cost a tau of 0.96 about 0.2 (to 0.76), where tau itself loses 0.04. Range
    ``[-1, 1]`` like tau, so the rows :func:`kendall_tau_b` cannot score (``invalid``, by
    default the minimum -1) never beat a valid row.

    Parameters
    ----------
    scores, target, invalid :
        As :func:`kendall_tau_b`.

    Returns
    -------
    torch.Tensor
        float64 ``(P,)``.
    """
    rows, target, result, valid = _prepare(scores, target, invalid)
    if valid is None:
        return result
    tau = kendall_tau_b(rows, target, invalid)
    # the rows tau is defined for: finite, not constant, against a target that is not constant
    ok = valid & (rows.amax(dim=1) > rows.amin(dim=1)) & bool(target.max() > target.min())
    if not bool(ok.any()):
        return result
    share = top_below_median_share(rows, target)
    return torch.where(ok, tau - share * (1.0 + tau), result)


FITNESS_METRICS: tuple[str, ...] = ("kendall", "weighted_kendall", "kendall_top")
"""Accepted values of ``fitness.metric``: :func:`kendall_tau_b`, :func:`weighted_kendall_tau` or
:func:`guarded_kendall_tau`."""


def rank_fitness(scores: torch.Tensor, target: torch.Tensor, metric: str = "kendall",
                 invalid: float = WORST_FITNESS) -> torch.Tensor:
    """The evolution's per-table fitness of each row of ``scores``: the correlation ``metric`` names.

    Parameters
    ----------
    scores, target, invalid :
        As :func:`kendall_tau_b`.
    metric : {"kendall", "weighted_kendall", "kendall_top"}
        :func:`kendall_tau_b` (the default), the top-weighted :func:`weighted_kendall_tau` or
        :func:`guarded_kendall_tau` (tau pulled towards -1 by the best-scored tenth's share below the median).

    Raises
    ------
    ValueError
        An unknown metric.
    """
    if metric == "kendall":
        return kendall_tau_b(scores, target, invalid)
    if metric == "weighted_kendall":
        return weighted_kendall_tau(scores, target, invalid)
    if metric == "kendall_top":
        return guarded_kendall_tau(scores, target, invalid)
    raise ValueError(f"unknown fitness metric {metric!r} (choose from {', '.join(FITNESS_METRICS)})")


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
