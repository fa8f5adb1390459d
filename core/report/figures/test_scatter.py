"""Held-out test scatter: proxy score rank against ground-truth accuracy, the evolved proxy
beside the best baseline, τ in the legend (``figures/test_scatter_<dataset>.png``).

Drawn by :func:`greenmachine.report.figures.draw_run_figures` from ``test_scores.csv``; a run made before
that file was written has no scatter.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from greenmachine.report.figures.context import BASELINE_COLOUR, EVOLVED_COLOUR, RunFigureData, new_figure, save, set_titles

STEM = "test_scatter"
CAPTION = "Held-out test sample: proxy score rank against ground-truth accuracy (evolved beside best baseline)"


def score_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of every score, 1 = lowest, ties averaged; non-finite scores rank lowest."""
    from scipy.stats import rankdata

    values = np.where(np.isfinite(scores), scores, -np.inf)
    return rankdata(values, method="average")


def scatter_series(rows: Sequence[Any]) -> dict[str, Any]:
    """The evolved proxy and the best baseline on one dataset's test rows.

    Returns
    -------
    dict
        ``accuracy`` (array), ``evolved`` and ``baseline`` as ``(name, scores, tau)``.
        The best baseline is the one with the highest Kendall τ on these rows.
    """
    from greenmachine.baselines.published import rank_correlations

    accuracy = np.array([row.accuracy for row in rows], dtype=np.float64)
    evolved = np.array([row.evolved for row in rows], dtype=np.float64)
    best = None
    for name in rows[0].baselines if rows else ():
        scores = np.array([row.baselines.get(name, math.nan) for row in rows], dtype=np.float64)
        tau = rank_correlations(scores, accuracy)[0]
        if math.isfinite(tau) and (best is None or tau > best[2]):
            best = (name, scores, tau)
    return {"accuracy": accuracy, "evolved": ("evolved", evolved, rank_correlations(evolved, accuracy)[0]),
            "baseline": best}


def draw(data: RunFigureData) -> list[Path] | str:
    """Draw one figure per dataset; return their files, or why none can be drawn."""
    if not data.test_scores:
        return "no test_scores.csv (the run was made before test scores were saved, or did not complete)"
    files: list[Path] = []
    datasets = list(dict.fromkeys(row.dataset for row in data.test_scores))
    for dataset in datasets:
        rows = [row for row in data.test_scores if row.dataset == dataset]
        series = scatter_series(rows)
        panels = [(series["evolved"], EVOLVED_COLOUR, "evolved proxy")]
        if series["baseline"] is not None:
            panels.append((series["baseline"], BASELINE_COLOUR, "best baseline"))
        figure, axes = new_figure(5.0 * len(panels) + 0.5, 4.6, ncols=len(panels), sharey=True, squeeze=False)
        accuracy = series["accuracy"]
        for ax, ((name, scores, tau), colour, role) in zip(axes[0], panels):
            ax.scatter(score_ranks(scores), accuracy, s=14, alpha=0.7, color=colour, edgecolors="none",
                       label=f"{name}: Kendall τ = {tau:.3f}")
            ax.set_xlabel(f"rank of {name} score (1 = lowest of {len(rows)})")
            shown = data.best_formula if name == "evolved" and data.best_formula else name
            ax.set_title(f"{role}: {shown}", fontsize=9)
            ax.grid(alpha=0.3)
            ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
        axes[0][0].set_ylabel(f"ground-truth test accuracy on {dataset} (%)")
        set_titles(figure, "Held-out test sample: proxy rank against true accuracy",
                   data.context(dataset, "test"), "never seen by evolution; τ is Kendall τ-b on these networks; tied scores share their mean rank")
        stem = STEM if len(datasets) == 1 else f"{STEM}_{dataset.replace('/', '-')}"  # a task is space/dataset
        files += save(figure, data.directory, stem)
    return files
