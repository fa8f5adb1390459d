"""Terminal scatter of the held-out test sample: proxy score rank (x) against ground-truth
accuracy (y), drawn with Unicode braille dots (:mod:`greenmachine.tui.widgets.braille`).

Fed by :class:`greenmachine.tui.screens.test_scatter.TestScatterScreen` (one plot for the evolved
proxy, one for the best baseline) from ``test_scores.csv``.
"""

from __future__ import annotations

import math
from typing import Sequence

from rich.text import Text
from textual.widget import Widget

from greenmachine.tui.widgets.braille import BrailleCanvas

_AXIS_WIDTH = 6


class ScatterPlot(Widget):
    """Braille scatter of ``(rank, accuracy)`` points with a one-line legend on top."""

    DEFAULT_CSS = """
    ScatterPlot { height: 1fr; min-height: 8; width: 1fr; }
    """

    def __init__(self, *, colour: str = "cyan", name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.colour = colour
        self.legend = ""
        self.points: list[tuple[float, float]] = []

    def set_points(self, legend: str, ranks: Sequence[float], accuracy: Sequence[float]) -> None:
        """Show ``accuracy`` against ``ranks`` (finite pairs only) under ``legend``."""
        self.legend = legend
        self.points = [(float(x), float(y)) for x, y in zip(ranks, accuracy) if math.isfinite(x) and math.isfinite(y)]
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        text = Text(no_wrap=True, overflow="crop")
        text.append(self.legend or "no points", style=f"bold {self.colour}")
        if width < _AXIS_WIDTH + 4 or height < 4 or not self.points:
            return text
        plot_w, plot_h = width - _AXIS_WIDTH, height - 3
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        x_low, x_high = min(min(xs), 1.0), max(xs)  # ranks start at 1
        y_low, y_high = min(ys), max(ys)
        canvas = BrailleCanvas(plot_w, plot_h, (x_low, x_high), (y_low, y_high))
        canvas.points(self.points, self.colour)
        text.append("\n")
        for row, cells in enumerate(canvas.rows()):
            label = f"{y_high:5.1f}" if row == 0 else f"{y_low:5.1f}" if row == plot_h - 1 else ""
            text.append(f"{label:>{_AXIS_WIDTH - 1}}│", style="grey62")
            text.append_text(cells)
            text.append("\n")
        text.append(" " * (_AXIS_WIDTH - 1) + "└" + "─" * plot_w + "\n", style="grey62")
        left, right = f"rank {x_low:g}", f"{x_high:g} (highest score)"
        gap = max(1, plot_w - len(left) - len(right))
        text.append(" " * _AXIS_WIDTH + left + " " * gap + right, style="grey62")
        return text
