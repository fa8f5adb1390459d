"""Live braille plot of a zero-cost NAS: the best proxy score so far against networks scored.

Fed by :class:`greenmachine.tui.screens.search.SearchScreen` from :class:`greenmachine.events.SearchProgress`
events. Each search (guide, seed, budget) is one series, drawn as a step curve: the best
score holds until the network that raised it, so the curve runs flat, then steps up.
Scores of different guides are on different scales, so the plot shows one guide at a time
(the headline guide first, ``g`` cycles). The run's first search (the headline) is drawn
in cyan on top; the comparison searches (one per seed) in yellow. A search reported by its
end only (a run written before every step was an event) is a yellow dot at its budget. A
comparison search with the headline's guide, seed and budget is its own series: a point
that goes back in networks scored starts a new search.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widget import Widget

from greenmachine.tui.widgets.braille import BrailleCanvas, padded_range, with_y_axis

#: (guide, seed, budget): one search.
SearchKey = tuple[str, int, int]
#: (guide, seed, budget, repeat): one series of the plot (repeat 1 for a second search of one key).
SeriesKey = tuple[str, int, int, int]
_AXIS_WIDTH = 12
_HEADLINE_COLOUR = "cyan"
_COMPARISON_COLOUR = "yellow"


def step_points(points: list[tuple[int, float]]) -> list[tuple[float, float]]:
    """The corners of a best-so-far step curve through ``points`` (networks scored, best score).

    Each best holds (flat) until the next point's networks scored, then steps to its score.
    A point without a score (none finite yet) breaks the curve.
    """
    corners: list[tuple[float, float]] = []
    previous = None
    for evaluated, score in sorted(points, key=lambda point: point[0]):
        if previous is not None and math.isfinite(previous) and math.isfinite(score):
            corners.append((float(evaluated), previous))
        corners.append((float(evaluated), score))
        previous = score
    return corners


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
        self.series: dict[SeriesKey, list[tuple[int, float]]] = {}
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
        """Add one point: the best score of ``guide``'s search (seed, budget) after ``evaluated`` networks.

        A point at or before the last one of its search (networks scored never go back within a
        search) belongs to another search with the same guide, seed and budget.
        """
        score = float(best_score) if isinstance(best_score, (int, float)) else math.nan
        repeats = [key for key in self.series if key[:3] == (guide, int(seed), int(budget))]
        key = repeats[-1] if repeats else (guide, int(seed), int(budget), 0)
        if repeats and self.series[key][-1][0] >= int(evaluated):
            key = (guide, int(seed), int(budget), key[3] + 1)
        self.series.setdefault(key, []).append((int(evaluated), score))
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

    def shown(self) -> list[tuple[SeriesKey, list[tuple[int, float]]]]:
        """The searches of the shown guide, in arrival order."""
        return [(key, points) for key, points in self.series.items() if key[0] == self.guide]

    def _split(self, shown: list[tuple[SeriesKey, list[tuple[int, float]]]]) -> tuple[list, list]:
        """The headline search (the run's first; empty when another guide is shown) and the others."""
        first = next(iter(self.series), None)
        headline = [(key, points) for key, points in shown if key == first]
        others = [(key, points) for key, points in shown if key != first]
        return headline, others

    def _legend(self, shown: list[tuple[SeriesKey, list[tuple[int, float]]]]) -> list[Text]:
        """One line per kind of search shown: the headline search, then the others (comparison)."""
        if not shown:
            return [Text("waiting for the first scored networks…", style="grey50")]
        headline, others = self._split(shown)
        lines = []
        for (_, seed, budget, _), points in headline:
            evaluated, score = points[-1]
            line = Text("━ ", style=_HEADLINE_COLOUR)
            line.append(f"headline seed {seed} best {format_score(score)} ({evaluated}/{budget})")
            lines.append(line)
        if others:
            scores = [points[-1][1] for _, points in others if points and math.isfinite(points[-1][1])]
            seeds = sorted({key[1] for key, _ in others})
            budgets = sorted({key[2] for key, _ in others})
            line = Text("━ ", style=_COMPARISON_COLOUR)
            text = f"{len(others)} search{'es' if len(others) > 1 else ''} (seed{'s' if len(seeds) > 1 else ''} "
            text += f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else f"{seeds[0]}"
            text += f", budget {'/'.join(str(b) for b in budgets)})"
            if scores:
                text += f" best {format_score(min(scores))}..{format_score(max(scores))}"
            lines.append(line.append(text))
        return lines

    def render(self) -> Text:
        return self.picture(self.size.width, self.size.height)

    def picture(self, width: int, height: int) -> Text:
        """The plot at ``width`` x ``height`` cells: the legend, the canvas with its y axis, the x labels."""
        shown = self.shown()
        legend = self._legend(shown)
        for line in legend:
            line.no_wrap = True
            line.truncate(max(width, 1), overflow="ellipsis")  # one row each: the plot keeps its rows
        if width < _AXIS_WIDTH + 4 or height < 4 + len(legend) or not shown:
            return Text("\n").join(legend[: max(height, 1)])
        plot_w, plot_h = width - _AXIS_WIDTH, height - 1 - len(legend)
        scores = [score for _, points in shown for _, score in points]
        finite = [score for score in scores if math.isfinite(score)]
        scale = max((abs(score) for score in finite), default=1.0)
        low, high = padded_range(scores, max(scale * 1e-3, 1e-12))
        x_high = max(max(key[2] for key, _ in shown), 1)
        canvas = BrailleCanvas(plot_w, plot_h, (0.0, float(x_high)), (low, high))
        headline, others = self._split(shown)
        for series, colour in ((others, _COMPARISON_COLOUR), (headline, _HEADLINE_COLOUR)):  # the headline on top
            for _, points in series:
                if len(points) > 1:
                    canvas.polyline(step_points(points), colour)
                else:
                    canvas.points(points, colour)
        text = Text(no_wrap=True, overflow="crop")
        for line in legend:
            text.append_text(line)
            text.append("\n")
        text.append_text(with_y_axis(canvas.rows(), high, low, _AXIS_WIDTH, ".4g"))
        left, right = "0", f"{x_high} networks scored"
        gap = max(plot_w - len(left) - len(right), 1)
        text.append(" " * _AXIS_WIDTH + left + " " * gap + right, style="grey50")
        return text
