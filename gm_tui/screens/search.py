"""The search screen: a zero-cost NAS (``gm search``), watched or replayed from its run directory.

The app pushes it when the folder it opens is a search's (``RunDirectory.is_search``); the
replay worker then posts the directory's events as :mod:`greenmachine.tui.messages` messages, and the
handlers here push the data down: the best score so far per search into :class:`ScorePlot`,
the searches per guide into :class:`SearchTable`, the found network into
:class:`FoundNetwork`; probe progress, energy and the log are handled by
:class:`greenmachine.tui.screens.monitor.MonitorScreen`. When the run has finished, ``report.json``
adds the comparison's true accuracies (looked up after every search, as the report does).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, RichLog

from greenmachine.events import RunFinished
from greenmachine.tui import messages
from greenmachine.tui.screens.monitor import MonitorScreen, read_run_file
from greenmachine.tui.widgets import EnergyPanel, ProbeProgress, RunHeader
from greenmachine.tui.widgets.energy_panel import SEARCH_PHASE_ORDER
from greenmachine.tui.widgets.score_plot import ScorePlot, format_score
from greenmachine.tui.widgets.search_results import FoundNetwork, SearchTable


class SearchScreen(MonitorScreen):
    """Header, probe progress, score plot, searches per guide, energy, found network, log."""

    BINDINGS = [("g", "next_guide", "Next guide")]

    class Ready(Message):
        """The screen is mounted: the app may start the replay."""

    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        yield ProbeProgress(id="probe")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ScorePlot(id="score-plot")
                yield SearchTable(id="searches")
            with Vertical(id="right"):
                yield EnergyPanel(phases=SEARCH_PHASE_ORDER, id="energy")
                yield FoundNetwork(id="found")
        yield RichLog(id="log", wrap=True, markup=False, highlight=False, max_lines=2000)
        yield Footer()

    def on_mount(self) -> None:
        self._title_plot()
        self.query_one("#searches").border_title = "searches (comparison rows: median score, mean accuracy and rank)"
        self.query_one("#energy").border_title = "energy"
        self.query_one("#found").border_title = "found network (headline search)"
        self.query_one("#log").border_title = "log"
        self.post_message(self.Ready())

    def _title_plot(self) -> None:
        plot = self.query_one(ScorePlot)
        guides = plot.guides
        position = f" ({guides.index(plot.guide) + 1}/{len(guides)}, g: next)" if len(guides) > 1 else ""
        plot.border_title = f"best score so far · guide {plot.guide or '…'}{position}"

    # -- helpers called by the app (attributes down) --------------------------------------

    def reset(self) -> None:
        """Clear the widgets for another run directory."""
        self.clear_common()
        self.query_one(ScorePlot).clear()
        self.query_one(SearchTable).reset()
        self.query_one(FoundNetwork).reset()
        self._title_plot()

    # -- engine messages (messages up) ----------------------------------------------------

    def on_engine_run_started(self, message: messages.EngineRunStarted) -> None:
        event = message.event
        self.started(event)
        sizes = dict(event.sample_sizes)
        seeds = sizes.get("compare_seeds")
        mode = f"strategy {event.sampling_mode}"
        if seeds:
            mode += f" · comparison over {seeds} seeds"
        self.header.set_run(
            profile=event.profile_name, space=event.space, datasets=event.datasets, sampling_mode=mode,
            sample_sizes={key.replace("_", " "): value for key, value in sizes.items() if key != "compare_seeds"},
            sizes_label="networks", seed=event.seed, device=event.device, run_dir=self.run_dir or event.run_dir,
        )
        self.log_line(f"search started: {event.profile_name} on {event.space} {', '.join(event.datasets)} → "
                      f"{event.run_dir} (device {event.device})", "bold")

    def on_engine_search_progress(self, message: messages.EngineSearchProgress) -> None:
        event = message.event
        self.query_one(ScorePlot).add_progress(event.guide, event.seed, event.evaluated, event.budget, event.best_score)
        self.query_one(SearchTable).add_progress(event.guide, event.seed, event.evaluated, event.budget,
                                                 event.best_score)
        self._title_plot()
        if event.evaluated >= event.budget:
            self.log_line(f"{event.guide} seed {event.seed}: scored {event.budget} networks, best score "
                          f"{format_score(event.best_score)}")

    def on_engine_network_found(self, message: messages.EngineNetworkFound) -> None:
        found = dataclasses.asdict(message.event)
        self.query_one(FoundNetwork).show_found(found)
        self.query_one(SearchTable).set_found(found)

    def finished(self, event: RunFinished) -> None:
        from greenmachine.rundir.directory import RunDirectory

        if event.status != "completed" or not self.run_dir or not RunDirectory(self.run_dir).is_completed():
            return
        report = read_run_file(self, lambda directory: directory.read_report())
        if isinstance(report, Mapping) and isinstance(report.get("found"), Mapping):
            self.show_report(report)

    def show_report(self, report: Mapping[str, Any]) -> None:
        """Add what only ``report.json`` holds: the space's size, the optimum, the comparison."""
        self.query_one(FoundNetwork).show_found(report["found"], report.get("optimum") or {})
        table = self.query_one(SearchTable)
        table.set_found({**table.found, **report["found"]})
        comparison = report.get("comparison") or {}
        if isinstance(comparison.get("guides"), Mapping):
            table.set_comparison(comparison["guides"])
        figures = [figure.get("png") for figure in report.get("figures") or [] if isinstance(figure, Mapping)]
        if figures:
            self.log_line(f"figures: {', '.join(str(name) for name in figures)}")

    def action_next_guide(self) -> None:
        """Plot the next guide's searches (scores of different guides are not comparable)."""
        self.query_one(ScorePlot).next_guide()
        self._title_plot()
