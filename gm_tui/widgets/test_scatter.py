"""Terminal scatter of the held-out test sample: proxy score rank (x) against ground-truth
accuracy (y), drawn with Unicode braille dots like :class:`gm_tui.widgets.TauPlot`.

Fed by :class:`gm_tui.screens.test_scatter.TestScatterScreen` (one plot for the evolved
proxy, one for the best baseline) from ``test_scores.csv``.
"""

from __future__ import annotations

import math
from typing import Sequence

from rich.text import Text
from textual.widget import Widget

from gm_tui.widgets.tau_plot import _DOT

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
        dots_w, dots_h = 2 * plot_w, 4 * plot_h
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        x_low, x_high = min(min(xs), 1.0), max(xs)  # ranks start at 1
        y_low, y_high = min(ys), max(ys)
        x_span, y_span = max(x_high - x_low, 1e-9), max(y_high - y_low, 1e-9)
        cells = [[0] * plot_w for _ in range(plot_h)]
        for x_value, y_value in self.points:
            x = round((x_value - x_low) / x_span * (dots_w - 1))
            y = round((1.0 - (y_value - y_low) / y_span) * (dots_h - 1))
            # each point is a 2x2 block of dots, so a lone network stays visible
            for dot_x in (x, min(x + 1, dots_w - 1)):
                for dot_y in (y, max(y - 1, 0)):
                    cells[dot_y // 4][dot_x // 2] |= _DOT[(dot_x % 2, dot_y % 4)]
        text.append("\n")
        for row in range(plot_h):
            label = f"{y_high:5.1f}" if row == 0 else f"{y_low:5.1f}" if row == plot_h - 1 else ""
            text.append(f"{label:>{_AXIS_WIDTH - 1}}│", style="grey62")
            text.append("".join(chr(0x2800 + value) for value in cells[row]), style=self.colour)
            text.append("\n")
        text.append(" " * (_AXIS_WIDTH - 1) + "└" + "─" * plot_w + "\n", style="grey62")
        left, right = f"rank {x_low:g}", f"{x_high:g} (highest score)"
        gap = max(1, plot_w - len(left) - len(right))
        text.append(" " * _AXIS_WIDTH + left + " " * gap + right, style="grey62")
        return text
