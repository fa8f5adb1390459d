"""The held-out test scatter screen: the evolved proxy beside the best baseline, as terminal
plots (score rank against ground-truth accuracy, Kendall τ in each legend).

Pushed by :class:`greenmachine.tui.screens.run.RunScreen` (key ``t``) once the run has written
``test_scores.csv``; escape (or ``t``) closes it. :func:`scatter_data` does the heavy part
(ranks and Kendall τ through ``greenmachine.report.figures.test_scatter``, which loads torch and SciPy) and
runs in the run screen's worker thread, so that the UI never waits on those imports (tens
of seconds on a busy CPU when a replay has not loaded torch yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Static

from greenmachine.tui.widgets.test_scatter import ScatterPlot


@dataclass(frozen=True)
class ScatterData:
    """What the screen draws: a title and, per plot id, ``(legend, ranks, accuracy)``."""

    title: str
    plots: dict[str, tuple[str, Sequence[float], Sequence[float]]]


def scatter_data(rows: Sequence[Any]) -> ScatterData:
    """Rank and correlate the first dataset's test rows (slow imports: call it off the UI thread)."""
    from greenmachine.report.figures.test_scatter import scatter_series, score_ranks

    dataset = rows[0].dataset if rows else "?"
    rows = [row for row in rows if row.dataset == dataset]
    plots: dict[str, tuple[str, Sequence[float], Sequence[float]]] = {}
    if rows:
        series = scatter_series(rows)
        for key, widget_id in (("evolved", "scatter-evolved"), ("baseline", "scatter-baseline")):
            if series[key] is None:
                continue
            name, scores, tau = series[key]
            role = "evolved proxy" if key == "evolved" else f"best baseline {name}"
            plots[widget_id] = (f"{role}: Kendall τ = {tau:.3f}", list(score_ranks(scores)), list(series["accuracy"]))
    return ScatterData(f"Held-out test sample — {dataset}, n = {len(rows)}", plots)


class TestScatterScreen(ModalScreen[None]):
    """Two scatter plots (evolved proxy, best baseline) of one dataset's test networks."""

    __test__ = False  # not a pytest test class
    BINDINGS = [("escape", "close", "Close"), ("t", "close", "Close")]
    DEFAULT_CSS = """
    TestScatterScreen { align: center middle; }
    #scatter-panel { width: 95%; height: 90%; border: round $accent; background: $surface; }
    #scatter-title { height: auto; padding: 0 1; text-style: bold; }
    #scatter-plots { height: 1fr; }
    #scatter-plots ScatterPlot { margin: 0 1; }
    #scatter-hint { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, data: ScatterData, context: str = "") -> None:
        super().__init__()
        self.data = data
        self.context = context

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="scatter-panel"):
            yield Static(id="scatter-title")
            with Horizontal(id="scatter-plots"):
                yield ScatterPlot(colour="cyan", id="scatter-evolved")
                yield ScatterPlot(colour="dark_orange", id="scatter-baseline")
            yield Static("x: rank of the proxy's score (ties share their mean rank); y: ground-truth accuracy (%). "
                         "escape closes", id="scatter-hint")

    def on_mount(self) -> None:
        title = self.data.title + (f"\n{self.context}" if self.context else "")
        self.query_one("#scatter-title", Static).update(title)
        for widget_id, (legend, ranks, accuracy) in self.data.plots.items():
            self.query_one(f"#{widget_id}", ScatterPlot).set_points(legend, ranks, accuracy)

    def action_close(self) -> None:
        self.dismiss(None)
