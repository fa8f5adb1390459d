"""Scoring a proxy and the baselines on one sample of networks whose statistics are already probed.

The lower half of evaluation: no probing, no profiles. Used by
:mod:`greenmachine.evaluation.evaluate` (which re-exports every name here), by
:mod:`greenmachine.evaluation.tasks` and by the run controllers (:mod:`greenmachine.run`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from greenmachine.stats.table import StatisticTable


def finite_or_none(value: float) -> float | None:
    """A correlation for JSON: ``None`` where it is undefined (NaN, e.g. a constant proxy)."""
    value = float(value)
    return value if np.isfinite(value) else None


def proxy_row(tau: float, rho: float, scores: Any, accuracy: Any) -> dict[str, Any]:
    """One proxy's row: ``kendall_tau``, ``spearman_rho`` (``None`` where undefined) and the
    top-of-ranking figures of :func:`greenmachine.stats.top_metrics.top_of_ranking` on the same networks."""
    from greenmachine.stats.top_metrics import top_of_ranking

    return {"kendall_tau": finite_or_none(tau), "spearman_rho": finite_or_none(rho),
            **top_of_ranking(scores, accuracy)}


def baseline_rows(table: StatisticTable, accuracy: np.ndarray) -> dict[str, dict[str, Any]]:
    """Kendall tau, Spearman rho and the top-of-ranking figures of every baseline on ``table``'s networks."""
    from greenmachine.baselines.published import baseline_correlations, baseline_scores

    accuracy = np.asarray(accuracy, dtype=np.float64)
    scores = baseline_scores(table)
    correlations = baseline_correlations(scores, accuracy)
    return {name: proxy_row(v[0], v[1], scores[name], accuracy) for name, v in correlations.items()}


def score_proxy(tree: Any, table: StatisticTable, accuracy: Any, device: str = "cpu",
                normalise: str = "none", invalid: float | None = None) -> dict[str, Any]:
    """Kendall tau, Spearman rho and the top-of-ranking figures of one proxy tree on ``table``'s networks.

    The top figures follow :func:`greenmachine.stats.top_metrics.top_of_ranking`.
    ``normalise``: each statistic normalised within ``table`` first (:func:`greenmachine.stats.normalise.normalise_table`).
    ``invalid``: the value where a correlation is undefined (a non-finite or constant score);
    default :data:`greenmachine.stats.fitness.WORST_FITNESS`, the fitness's worst value, which the run uses;
    ``nan`` for a measurement (``gm eval``).
    """
    from greenmachine.stats.fitness import WORST_FITNESS, kendall_tau_b, spearman_rho
    from greenmachine.stats.top_metrics import top_of_ranking

    invalid = WORST_FITNESS if invalid is None else float(invalid)
    target = torch.as_tensor(np.asarray(accuracy), dtype=torch.float64)
    scores = proxy_scores(tree, table, device, normalise)
    return {"kendall_tau": float(kendall_tau_b(scores[None, :], target, invalid)[0]),
            "spearman_rho": float(spearman_rho(scores[None, :], target, invalid)[0]),
            **top_of_ranking(scores.numpy(), target.numpy())}


def proxy_scores(tree: Any, table: StatisticTable, device: str = "cpu", normalise: str = "none") -> torch.Tensor:
    """Every network's score under one proxy tree (float64, on the CPU)."""
    from greenmachine.proxy.evaluate import evaluate_population
    from greenmachine.stats.normalise import normalise_table

    table = normalise_table(table, normalise)
    return evaluate_population([tree], table.to(device))[0].cpu()


def undefined_reason(scores: Any) -> str | None:
    """Why a correlation of these scores is undefined, in words; ``None`` when it is defined.

    Parameters
    ----------
    scores : array-like
        One score per network.

    Returns
    -------
    str or None
        E.g. ``"its scores are not finite (inf or nan) on 37 of 1000 networks"`` or ``"its
        scores are the same on all 1000 networks"``.
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    count = len(values)
    finite = np.isfinite(values)
    if not finite.all():
        kinds = sorted({"nan" if np.isnan(v) else "+inf" if v > 0 else "-inf" for v in values[~finite]})
        return (f"its scores are not finite ({', '.join(kinds)}: an overflow or an undefined operation) "
                f"on {int((~finite).sum())} of {count} networks")
    if count and (values == values[0]).all():
        return f"its scores are the same ({values[0]:.6g}) on all {count} networks"
    return None


def evaluate_sample(table: StatisticTable, accuracy: Any, tree: Any = None, device: str = "cpu",
                    normalise: str = "none") -> dict[str, Any]:
    """The proxy (when given) and every baseline on one sample: ``{n, top_sizes, evolved?, baselines}``.

    ``normalise`` applies to the proxy only (a normalised proxy's statistics are normalised
    within the sample); the baselines always read the raw statistics. ``top_sizes``: how
    many networks the top 1/5/10 % of the top-of-ranking figures are on this sample.
    """
    from greenmachine.stats.top_metrics import top_sizes

    result: dict[str, Any] = {"n": int(table.num_networks), "top_sizes": top_sizes(int(table.num_networks))}
    if tree is not None:
        result["evolved"] = score_proxy(tree, table, accuracy, device, normalise)
    result["baselines"] = baseline_rows(table, np.asarray(accuracy, dtype=np.float64))
    return result


def proxy_degeneracy(tree: Any, table: StatisticTable, normalise: str = "none", scorer: str = "proxy",
                     labels: Sequence[str] | None = None):
    """What is degenerate about a proxy's scores on ``table``'s networks (None: nothing).

    The scores as :func:`score_proxy` computes them; see :func:`greenmachine.proxies.degeneracy.diagnose`.
    """
    from greenmachine.proxies.degeneracy import diagnose, table_values
    from greenmachine.proxy.evaluate import evaluate_population
    from greenmachine.stats.normalise import normalise_table

    scores = evaluate_population([tree], normalise_table(table, normalise))[0].detach().cpu().numpy()
    layer, network = tree.statistics()
    return diagnose(scores, table_values(table, layer | network), labels=labels, scorer=scorer)


def network_scores(table: StatisticTable, tree: Any, device: str = "cpu") -> dict[str, np.ndarray]:
    """Every network's score under the proxy ``tree`` (key ``evolved``) and every baseline."""
    from greenmachine.baselines.published import baseline_scores
    from greenmachine.proxy.evaluate import evaluate_population

    evolved = evaluate_population([tree], table.to(device))[0].cpu().numpy().astype(np.float64)
    return {"evolved": evolved, **baseline_scores(table)}


def sampling_info(mode: str, stratification: str, strata: int, seed: int) -> dict[str, Any]:
    """The sampling description written next to every correlation."""
    stratified = mode == "stratified"
    return {"mode": mode, "stratification": stratification if stratified else None,
            "strata": strata if stratified else None, "seed": seed}
