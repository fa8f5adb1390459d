"""Cost front: validation τ against probe energy per network (``figures/cost_front.png``).

Drawn by :func:`greenmachine.report.figures.draw_run_figures` from ``cost_front.csv`` (the hall of fame
plus the best tree of each pass set, with the probe cost of the passes each formula needs;
see :mod:`greenmachine.report.cost_front`).
"""

from __future__ import annotations

from pathlib import Path

from greenmachine.report.cost_front import TAU_MARGIN, cheapest_within, pareto_front
from greenmachine.report.figures.context import (BASELINE_COLOUR, EVOLVED_COLOUR, MUTED_COLOUR, VALIDATION_COLOUR, RunFigureData,
                                  new_figure, save, set_titles)

STEM = "cost_front"
CAPTION = "Cost front: validation τ against probe energy per network (estimated unless the table says measured)"


def _table_note(space: str) -> str:
    from greenmachine.errors import GMError
    from greenmachine.probe.costs import space_costs

    try:
        return "pass costs measured on " + space_costs(space).describe()
    except GMError:
        return "pass costs: the run's hall_of_fame.csv"


def draw(data: RunFigureData) -> list[Path] | str:
    """Draw the figure; return its files, or why it cannot be drawn."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    rows = [row for row, _ in data.cost_front if row.probe_joules is not None]
    if not rows:
        return "no cost_front.csv with probe costs (no pass-cost table for the space, or an older run)"
    label = rows[0].probe_energy or "estimated"
    figure, axes = new_figure(8.5, 4.6)
    front = pareto_front(rows)
    others = [row for row in rows if row not in front]
    axes.scatter([r.probe_joules for r in others], [r.validation_tau for r in others], s=24, facecolors="none",
                 edgecolors=MUTED_COLOUR, label="candidate (hall of fame, best tree of a pass set)")
    axes.scatter([r.probe_joules for r in front], [r.validation_tau for r in front], s=30, color=VALIDATION_COLOUR,
                 zorder=3, label="cost front (no cheaper tree has a higher τ)")
    axes.step([r.probe_joules for r in front], [r.validation_tau for r in front], where="post",
              color=VALIDATION_COLOUR, linewidth=1)
    for position, row in enumerate(front):  # the passes decide the cost: name them
        passes = "+".join(p for p in row.probe_passes if p != "structure") or "structure only"
        formula = row.simplified or row.formula
        formula = formula if len(formula) <= 24 else formula[:21] + "..."
        last = position == len(front) - 1  # the dearest point's name goes to its left, inside the axes
        axes.annotate(f"{passes}: {formula}", (row.probe_joules, row.validation_tau), xytext=(-8 if last else 6, -11),
                      textcoords="offset points", fontsize=7, color="#333333", ha="right" if last else "left")
    best = max(row.validation_tau for row in rows)
    axes.axhspan(best - TAU_MARGIN, best, color=VALIDATION_COLOUR, alpha=0.08, linewidth=0,
                 label=f"within {TAU_MARGIN} τ of the best")
    hall = {row.size: row.formula for row in data.hall_of_fame}
    chosen = [row for row in rows if data.best_size is not None and row.formula == hall.get(data.best_size)]
    if chosen:
        axes.scatter([chosen[0].probe_joules], [chosen[0].validation_tau], s=150, marker="*", color=BASELINE_COLOUR,
                     zorder=4, label=f"final proxy ({chosen[0].probe_joules:.1f} J, τ {chosen[0].validation_tau:.3f})")
    cheapest = cheapest_within(rows)
    if cheapest is not None:
        axes.scatter([cheapest.probe_joules], [cheapest.validation_tau], s=90, marker="D", facecolors="none",
                     edgecolors=EVOLVED_COLOUR, linewidths=1.5, zorder=5,
                     label=f"cheapest within {TAU_MARGIN} τ ({cheapest.probe_joules:.1f} J, τ {cheapest.validation_tau:.3f})")
    axes.set_xscale("log")
    axes.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.margins(x=0.15, y=0.12)
    axes.set_xlabel(f"probe energy per network (J, {label}; log scale)")
    axes.set_ylabel("validation Kendall τ-b (min over datasets)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, borderaxespad=0)
    set_titles(figure, "Cost front: validation τ against probe energy", data.context(),
               f"{len(rows)} candidates; J = the sum of the passes each formula needs, per network "
               f"(this run probes at batch {data.profile.probe.batch_size}; fitness cost weight "
               f"{data.profile.evolution.cost_weight:g} τ/J)\n"
               f"{_table_note(data.profile.space_name)}")
    return save(figure, data.directory, STEM)
