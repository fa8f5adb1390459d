"""Live braille plot of a zero-cost NAS: the best proxy score so far against networks scored.

Fed by :class:`greenmachine.tui.screens.search.SearchScreen` from :class:`greenmachine.events.SearchProgress`
events. Each search (guide, seed, budget) is one series; scores of different guides are on
different scales, so the plot shows one guide at a time (the headline guide first, ``g``
cycles). The run's first search (the headline) and any search that reported progress as it
went are lines (a single point when it scored every network at once); a search that
reported only its end (a comparison seed) is a yellow dot at its budget.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widget import Widget

from greenmachine.tui.widgets.braille import BrailleCanvas, padded_range, with_y_axis

#: (guide, seed, budget): one search.
SearchKey = tuple[str, int, int]
_AXIS_WIDTH = 12
_LINE_COLOURS = ("cyan", "green", "magenta", "dark_orange")
_DOT_COLOUR = "yellow"


def format_score(value: float | None) -> str:
    """A proxy score for display: 4 significant digits (``—`` when missing / non-finite)."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "—"
    return f"{value:.4g}"


class ScorePlot(Widget):
    """Best score so far per search of the shown guide; :meth:`add_progress` pushes data down."""

    DEFAULT_CSS = """
    ScorePlot { height: 1fr; min-height: 6; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.series: dict[SearchKey, list[tuple[int, float]]] = {}
        self.guide: str | None = None

    @property
    def guides(self) -> list[str]:
        """Guides in the order their first progress arrived."""
        return list(dict.fromkeys(key[0] for key in self.series))

    def clear(self) -> None:
        """Forget every search."""
        self.series.clear()
        self.guide = None
        self.refresh()

    def add_progress(self, guide: str, seed: int, evaluated: int, budget: int, best_score: float | None) -> None:
        """Add one point: the best score of ``guide``'s search (seed, budget) after ``evaluated`` networks."""
        score = float(best_score) if isinstance(best_score, (int, float)) else math.nan
        self.series.setdefault((guide, int(seed), int(budget)), []).append((int(evaluated), score))
        if self.guide is None:
            self.guide = guide
        self.refresh()

    def next_guide(self) -> str | None:
        """Show the next guide's searches (wraps round); return its name."""
        guides = self.guides
        if guides:
            index = guides.index(self.guide) if self.guide in guides else -1
            self.guide = guides[(index + 1) % len(guides)]
            self.refresh()
        return self.guide

    def shown(self) -> list[tuple[SearchKey, list[tuple[int, float]]]]:
        """The searches of the shown guide, in arrival order."""
        return [(key, points) for key, points in self.series.items() if key[0] == self.guide]

    def _split(self, shown: list[tuple[SearchKey, list[tuple[int, float]]]]) -> tuple[list, list]:
        """Lines (the first search of the run, and any search with several points) and dots."""
        first = next(iter(self.series), None)
        lines = [(key, points) for key, points in shown if key == first or len(points) > 1]
        dots = [(key, points) for key, points in shown if not (key == first or len(points) > 1)]
        return lines, dots

    def _legend(self, shown: list[tuple[SearchKey, list[tuple[int, float]]]]) -> Text:
        legend = Text(no_wrap=True, overflow="ellipsis")
        if not shown:
            return legend.append("waiting for the first scored networks…", style="grey50")
        legend.append(f"{self.guide} ", style="bold")
        lines, dots = self._split(shown)
        for number, ((_, seed, budget), points) in enumerate(lines):
            evaluated, score = points[-1]
            legend.append("━ ", style=_LINE_COLOURS[number % len(_LINE_COLOURS)])
            legend.append(f"seed {seed} best {format_score(score)} ({evaluated}/{budget})  ")
        if dots:
            scores = [points[-1][1] for _, points in dots if points and math.isfinite(points[-1][1])]
            seeds = sorted({key[1] for key, _ in dots})
            legend.append("• ", style=_DOT_COLOUR)
            text = f"{len(dots)} search{'es' if len(dots) > 1 else ''} (seed{'s' if len(seeds) > 1 else ''} "
            text += f"{seeds[0]}..{seeds[-1]})" if len(seeds) > 1 else f"{seeds[0]})"
            if scores:
                text += f" best {format_score(min(scores))}..{format_score(max(scores))}"
            legend.append(text)
        return legend

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        shown = self.shown()
        legend = self._legend(shown)
        legend.truncate(max(width, 1), overflow="ellipsis")  # one line: the plot keeps its rows
        if width < _AXIS_WIDTH + 4 or height < 4 or not shown:
            return legend
        plot_w, plot_h = width - _AXIS_WIDTH, height - 2
        scores = [score for _, points in shown for _, score in points]
        finite = [score for score in scores if math.isfinite(score)]
        scale = max((abs(score) for score in finite), default=1.0)
        low, high = padded_range(scores, max(scale * 1e-3, 1e-12))
        x_high = max(max(key[2] for key, _ in shown), 1)
        canvas = BrailleCanvas(plot_w, plot_h, (0.0, float(x_high)), (low, high))
        lines, dots = self._split(shown)
        for _, points in dots:
            canvas.points(points, _DOT_COLOUR)
        for number, (_, points) in enumerate(lines):
            colour = _LINE_COLOURS[number % len(_LINE_COLOURS)]
            if len(points) > 1:
                canvas.polyline(points, colour)
            else:
                canvas.points(points, colour)
        text = Text(no_wrap=True, overflow="crop")
        text.append_text(legend)
        text.append("\n")
        text.append_text(with_y_axis(canvas.rows(), high, low, _AXIS_WIDTH, ".4g"))
        left, right = "0", f"{x_high} networks scored"
        gap = max(plot_w - len(left) - len(right), 1)
        text.append(" " * _AXIS_WIDTH + left + " " * gap + right, style="grey50")
        return text
