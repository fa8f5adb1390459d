"""Hall of fame: tree size against validation τ, the Pareto front (``figures/hall_of_fame.png``).

Drawn by :func:`greenmachine.report.figures.draw_run_figures` from ``hall_of_fame.csv``.
"""

from __future__ import annotations

from pathlib import Path

from greenmachine.report.figures.context import BASELINE_COLOUR, EVOLVED_COLOUR, VALIDATION_COLOUR, RunFigureData, new_figure, save, set_titles

STEM = "hall_of_fame"
CAPTION = "Hall of fame: tree size against validation τ (the Pareto front)"


def pareto_front(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The points not beaten by a smaller-or-equal tree with a higher τ, by size."""
    front, best = [], float("-inf")
    for size, tau in sorted(points, key=lambda p: (p[0], -p[1])):
        if tau > best:
            front.append((size, tau))
            best = tau
    return front


def draw(data: RunFigureData) -> list[Path] | str:
    """Draw the figure; return its files, or why it cannot be drawn."""
    from matplotlib.ticker import MaxNLocator

    rows = data.hall_of_fame
    if not rows:
        return "no hall_of_fame.csv (the run did not complete)"
    figure, axes = new_figure(8.5, 4.4)
    sizes = [row.size for row in rows]
    axes.scatter(sizes, [row.search_tau for row in rows], s=22, facecolors="none", edgecolors=EVOLVED_COLOUR,
                 label="search τ")
    axes.scatter(sizes, [row.validation_tau for row in rows], s=22, color=VALIDATION_COLOUR, label="validation τ")
    front = pareto_front([(row.size, row.validation_tau) for row in rows])
    axes.step([p[0] for p in front], [p[1] for p in front], where="post", color=VALIDATION_COLOUR, linewidth=1,
              label="Pareto front (validation)")
    # name the trees on the front (the formulas a reader would pick from)
    by_size = {row.size: row for row in rows}
    for size, tau_value in front:
        formula = by_size[size].simplified or by_size[size].formula
        formula = formula if len(formula) <= 28 else formula[:25] + "..."
        axes.annotate(formula, (size, tau_value), xytext=(7, 4), textcoords="offset points", fontsize=7,
                      color="#333333")
    chosen = [row for row in rows if row.size == data.best_size]
    if chosen:
        axes.scatter([chosen[0].size], [chosen[0].validation_tau], s=140, marker="*", color=BASELINE_COLOUR, zorder=3,
                     label=f"chosen proxy (size {chosen[0].size}, τ {chosen[0].validation_tau:.3f})")
    axes.margins(x=0.08, y=0.12)  # room for the names at the edges
    axes.set_xlabel("tree size (nodes)")
    axes.set_ylabel("Kendall τ-b (min over datasets)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, borderaxespad=0)
    set_titles(figure, "Hall of fame: size against τ", data.context(),
               f"{len(rows)} trees, the best of each size; the front's formulas are named; the proxy is chosen on validation τ")
    return save(figure, data.directory, STEM)
