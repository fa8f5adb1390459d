"""τ per generation: search best and mean, validation best (``figures/tau.png``).

Drawn by :func:`greenmachine.report.figures.draw_run_figures` from the run's ``GenerationDone`` events.
"""

from __future__ import annotations

from pathlib import Path

from greenmachine.report.figures.context import EVOLVED_COLOUR, MUTED_COLOUR, VALIDATION_COLOUR, RunFigureData, new_figure, save, set_titles

STEM = "tau"
CAPTION = "Kendall τ per generation (search best and mean, validation best)"


def draw(data: RunFigureData) -> list[Path] | str:
    """Draw the figure; return its files, or why it cannot be drawn."""
    from matplotlib.ticker import MaxNLocator

    events = data.generations
    if not events:
        return "no generation finished"
    generations = [event.generation for event in events]
    figure, axes = new_figure(7.0, 4.2)
    axes.plot(generations, [e.best_search_tau for e in events], "-o", color=EVOLVED_COLOUR, markersize=4,
              label="search: best")
    axes.plot(generations, [e.mean_search_tau for e in events], "--", color=MUTED_COLOUR, label="search: population mean")
    axes.plot(generations, [e.best_validation_tau for e in events], "-s", color=VALIDATION_COLOUR, markersize=4,
              label="validation: best")
    axes.set_xlabel("generation")
    axes.set_ylabel("Kendall τ-b (min over datasets)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    last = events[-1]
    set_titles(figure, "Kendall τ per generation", data.context(),
               f"last generation: search best {last.best_search_tau:.3f}, validation best {last.best_validation_tau:.3f}")
    return save(figure, data.directory, STEM)
