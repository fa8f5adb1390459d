"""Live line plot of Kendall tau per generation, drawn with Unicode braille dots.

Three series share one y axis: best and mean tau on the search sample and the best tau on
the validation sample. Each character cell holds a 2x4 grid of braille dots, so a 60x8
plot has 120x32 dots of resolution; it stays legible in a 100x30 terminal.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widget import Widget

# (series key, legend label, colour); later series are drawn on top.
SERIES: tuple[tuple[str, str, str], ...] = (
    ("mean_search", "mean", "grey62"),
    ("best_search", "best", "cyan"),
    ("best_validation", "valid.", "yellow"),
)

LEGEND_ORDER = ("best_search", "mean_search", "best_validation")
_DOT = {(0, 0): 0x01, (0, 1): 0x02, (0, 2): 0x04, (1, 0): 0x08, (1, 1): 0x10, (1, 2): 0x20, (0, 3): 0x40, (1, 3): 0x80}
_AXIS_WIDTH = 7


def format_tau(value: float | None) -> str:
    """Format a tau for display (``—`` for missing / non-finite)."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "—"
    return f"{value:+.3f}"


def _line(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """Bresenham line between two dot coordinates (inclusive)."""
    points = []
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    error = dx + dy
    while True:
        points.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return points
        doubled = 2 * error
        if doubled >= dy:
            error += dy
            x0 += sx
        if doubled <= dx:
            error += dx
            y0 += sy


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
        finite = [v for values in self.series.values() for v in values if math.isfinite(v)]
        if not finite:
            return -0.1, 1.0
        low, high = min(finite), max(finite)
        span = max(high - low, 0.1)
        low, high = low - 0.08 * span, high + 0.08 * span
        if high - low < 0.1:
            middle = (high + low) / 2
            low, high = middle - 0.05, middle + 0.05
        return max(low, -1.0), min(high, 1.0)

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
        dots_w, dots_h = 2 * plot_w, 4 * plot_h
        low, high = self._y_range()
        cells = [[0] * plot_w for _ in range(plot_h)]
        owner: list[list[str | None]] = [[None] * plot_w for _ in range(plot_h)]
        count = len(self.generations)

        def to_dot(index: int, value: float) -> tuple[int, int]:
            x = 0 if count <= 1 else round(index * (dots_w - 1) / (count - 1))
            fraction = (value - low) / (high - low)
            y = round((1.0 - min(max(fraction, 0.0), 1.0)) * (dots_h - 1))
            return x, y

        for key, _, colour in SERIES:
            previous = None
            for index, value in enumerate(self.series[key]):
                if not math.isfinite(value):
                    previous = None
                    continue
                point = to_dot(index, value)
                points = _line(*previous, *point) if previous else [point]
                for x, y in points:
                    cells[y // 4][x // 2] |= _DOT[(x % 2, y % 4)]
                    owner[y // 4][x // 2] = colour
                previous = point

        text = Text(no_wrap=True, overflow="crop")
        text.append_text(legend)
        text.append("\n")
        labels = {0: high, plot_h - 1: low}
        if plot_h >= 5:
            labels[(plot_h - 1) // 2] = (high + low) / 2
        for row in range(plot_h):
            label = f"{labels[row]:+.2f} ┤" if row in labels else "      │"
            text.append(label.rjust(_AXIS_WIDTH), style="grey50")
            for column in range(plot_w):
                bits = cells[row][column]
                if bits:
                    text.append(chr(0x2800 + bits), style=owner[row][column])
                else:
                    text.append(" ")
            text.append("\n")
        if count:
            first, last = f"gen {self.generations[0]}", f"gen {self.generations[-1]}"
            gap = max(plot_w - len(first) - len(last), 1)
            text.append(" " * _AXIS_WIDTH + first + " " * gap + (last if count > 1 else ""), style="grey50")
        else:
            text.append(" " * _AXIS_WIDTH + "waiting for the first generation…", style="grey50")
        return text
