"""Live line plot of Kendall tau per generation, drawn with Unicode braille dots.

Three series share one y axis: best and mean tau on the search sample and the best tau on
the validation sample. Drawn with :mod:`greenmachine.tui.widgets.braille` (2x4 dots per character
cell, so a 60x8 plot has 120x32 dots); it stays legible in a 100x30 terminal.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widget import Widget

from greenmachine.tui.widgets.braille import BrailleCanvas, padded_range, with_y_axis

# (series key, legend label, colour); later series are drawn on top.
SERIES: tuple[tuple[str, str, str], ...] = (
    ("mean_search", "mean", "grey62"),
    ("best_search", "best", "cyan"),
    ("best_validation", "valid.", "yellow"),
)

LEGEND_ORDER = ("best_search", "mean_search", "best_validation")
_AXIS_WIDTH = 7


def format_tau(value: float | None) -> str:
    """Format a tau for display (``—`` for missing / non-finite)."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "—"
    return f"{value:+.3f}"


class TauPlot(Widget):
    """Braille line chart of tau per generation (best / mean search, best validation).

    The screen pushes data down with :meth:`add_point`; :attr:`series` holds the points.
    """

    DEFAULT_CSS = """
    TauPlot { height: 1fr; min-height: 6; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.generations: list[int] = []
        self.series: dict[str, list[float]] = {key: [] for key, _, _ in SERIES}

    def clear(self) -> None:
        """Forget all points."""
        self.generations.clear()
        for values in self.series.values():
            values.clear()
        self.refresh()

    def add_point(self, generation: int, best_search: float, mean_search: float, best_validation: float) -> None:
        """Add (or replace, for a repeated generation) one generation's taus."""
        values = {"best_search": best_search, "mean_search": mean_search, "best_validation": best_validation}
        if generation in self.generations:
            index = self.generations.index(generation)
            for key, value in values.items():
                self.series[key][index] = float(value)
        else:
            self.generations.append(generation)
            for key, value in values.items():
                self.series[key].append(float(value))
        self.refresh()

    # -- drawing -------------------------------------------------------------------------

    def _y_range(self) -> tuple[float, float]:
        values = [value for series in self.series.values() for value in series]
        return padded_range(values, 0.1, clamp=(-1.0, 1.0), empty=(-0.1, 1.0))

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        legend = Text()
        for key, label, colour in sorted(SERIES, key=lambda item: LEGEND_ORDER.index(item[0])):
            values = self.series[key]
            legend.append("━ ", style=colour)
            legend.append(f"{label} {format_tau(values[-1] if values else None)}  ")
        if width < _AXIS_WIDTH + 4 or height < 4:
            return legend
        plot_w, plot_h = width - _AXIS_WIDTH, height - 2
        low, high = self._y_range()
        count = len(self.generations)
        canvas = BrailleCanvas(plot_w, plot_h, (0.0, float(max(count - 1, 0))), (low, high))
        for key, _, colour in SERIES:
            canvas.polyline(enumerate(self.series[key]), colour)
        text = Text(no_wrap=True, overflow="crop")
        text.append_text(legend)
        text.append("\n")
        text.append_text(with_y_axis(canvas.rows(), high, low, _AXIS_WIDTH, "+.2f"))
        if count:
            first, last = f"gen {self.generations[0]}", f"gen {self.generations[-1]}"
            gap = max(plot_w - len(first) - len(last), 1)
            text.append(" " * _AXIS_WIDTH + first + " " * gap + (last if count > 1 else ""), style="grey50")
        else:
            text.append(" " * _AXIS_WIDTH + "waiting for the first generation…", style="grey50")
        return text
