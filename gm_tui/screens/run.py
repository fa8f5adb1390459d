"""The run screen: everything a running (or replayed) evolution run (``gm run``) shows.

Engine events arrive as :mod:`greenmachine.tui.messages` messages (posted from the engine's worker
thread); the handlers here run on the UI thread and push the data down into the widgets.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, RichLog, Static

from greenmachine.events import NewBest, RunFinished
from greenmachine.tui import messages
from greenmachine.tui.screens.monitor import MonitorScreen
from greenmachine.tui.widgets import EnergyPanel, HallOfFameTable, ProbeProgress, ProxyView, RunHeader, TauPlot
from greenmachine.tui.widgets.tau_plot import format_tau


class RunScreen(MonitorScreen):
    """Live view of one run: header, probe progress, tau plot, hall of fame, energy, proxy, log."""

    BINDINGS = [("t", "test_scatter", "Test scatter")]

    class Ready(Message):
        """The screen is mounted: the app may start a run or a replay."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.best: NewBest | None = None
        self.test_scores: list[Any] = []
        #: The held-out test scatter, prepared off the UI thread once the run has finished.
        self.test_scatter: Any = None

    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        yield ProbeProgress(id="probe")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield TauPlot(id="tau-plot")
                yield HallOfFameTable(id="hall-of-fame")
                yield Static(id="hof-formula")
            with Vertical(id="right"):
                yield EnergyPanel(id="energy")
                yield ProxyView(id="proxy")
        yield RichLog(id="log", wrap=True, markup=False, highlight=False, max_lines=2000)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tau-plot").border_title = "Kendall τ per generation: search best/mean, validation best"
        self.query_one("#hall-of-fame").border_title = "hall of fame"
        self.query_one("#energy").border_title = "energy"
        self.query_one("#proxy").border_title = "best proxy (chosen on validation)"
        self.query_one("#log").border_title = "log"
        self.post_message(self.Ready())

    # -- helpers called by the app (attributes down) --------------------------------------

    def show_profile(self, profile: Any) -> None:
        """Fill the header from a loaded :class:`greenmachine.settings.profile.Profile` before the run starts."""
        sampling = profile.sampling
        search, validation = (sampling.search, sampling.validation)
        mode = (f"{sampling.mode} ({sampling.stratification}, {sampling.strata} strata)"
                if sampling.mode == "stratified" else sampling.mode)
        if sampling.labels:  # the run's start replaces the test size by the drawn one
            from greenmachine.sampling.few_labels import split_sizes

            search, validation = split_sizes(sampling.labels)
            mode = f"{sampling.labels} labelled networks drawn {mode}"
        self.header.set_run(
            profile=profile.name, space=profile.benchmark.space, datasets=profile.benchmark.datasets,
            sampling_mode=mode,
            sample_sizes={"search": search, "validation": validation, "test": sampling.test},
            seed=profile.evolution.seed, device=profile.probe.device,
        )

    def reset(self) -> None:
        """Clear the widgets for a new run."""
        self.clear_common()
        self.best = None
        self.query_one(TauPlot).clear()
        self.query_one(HallOfFameTable).set_rows([])
        self.query_one("#hof-formula", Static).update("")
        self.test_scores = []
        self.test_scatter = None

    # -- engine messages (messages up) ----------------------------------------------------

    def on_engine_run_started(self, message: messages.EngineRunStarted) -> None:
        event = message.event
        self.started(event)
        self.header.set_run(
            profile=event.profile_name, space=event.space, datasets=event.datasets,
            sampling_mode=event.sampling_mode, sample_sizes=event.sample_sizes, seed=event.seed,
            device=event.device, run_dir=self.run_dir or event.run_dir,
        )
        self.log_line(f"run started: {event.profile_name} → {event.run_dir} (device {event.device})", "bold")

    def on_engine_generation_done(self, message: messages.EngineGenerationDone) -> None:
        event = message.event
        self.query_one(TauPlot).add_point(
            event.generation, event.best_search_tau, event.mean_search_tau, event.best_validation_tau
        )
        self.log_line(
            f"generation {event.generation}/{event.generations}: best τ {format_tau(event.best_search_tau)}"
            f" mean {format_tau(event.mean_search_tau)} valid. {format_tau(event.best_validation_tau)}"
            f" ({event.seconds:.1f} s)"
        )

    def on_engine_new_best(self, message: messages.EngineNewBest) -> None:
        event = message.event
        self.best = event
        self.query_one(ProxyView).show_proxy(
            event.formula, event.tree, generation=event.generation, search_tau=event.search_tau,
            validation_tau=event.validation_tau, size=event.size,
        )
        self.log_line(f"new best (gen {event.generation}, τ valid. {format_tau(event.validation_tau)}): {event.formula}", "cyan")

    def on_engine_hall_of_fame_updated(self, message: messages.EngineHallOfFameUpdated) -> None:
        table = self.query_one(HallOfFameTable)
        table.set_rows(message.event.rows)
        self._show_formula(table.cursor_row)

    def finished(self, event: RunFinished) -> None:
        from greenmachine.rundir.directory import RunDirectory

        if self.run_dir and RunDirectory(self.run_dir).has_test_scores():
            run_dir = self.run_dir
            self.run_worker(lambda: self._load_test_scatter(run_dir), name="test-scatter", group="test-scatter",
                            thread=True, exit_on_error=False)

    def _load_test_scatter(self, run_dir: str) -> None:
        """Worker thread: read ``test_scores.csv`` and prepare the scatter (slow imports)."""
        from greenmachine.errors import GMError
        from greenmachine.rundir.directory import RunDirectory
        from greenmachine.tui.screens.test_scatter import scatter_data

        try:
            rows = RunDirectory(run_dir).read_test_scores()
        except GMError as error:
            self.app.call_from_thread(self.log_line, f"warning: {error}", "yellow")
            return
        data = scatter_data(rows)
        self.app.call_from_thread(self._test_scatter_ready, rows, data)

    def _test_scatter_ready(self, rows: list[Any], data: Any) -> None:
        self.test_scores, self.test_scatter = rows, data
        self.log_line("press t for the held-out test scatter")

    def action_test_scatter(self) -> None:
        """Show the held-out test scatter (once the run has written its test scores)."""
        from greenmachine.tui.screens.test_scatter import TestScatterScreen

        if self.test_scatter is None:
            self.app.notify("no held-out test scores yet (they are written when a run completes)", timeout=4)
            return
        started = self.run_started
        context = "" if started is None else (f"{started.space.upper()} · {started.sampling_mode} · seed {started.seed}")
        self.app.push_screen(TestScatterScreen(self.test_scatter, context))

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        if message.data_table is self.query_one(HallOfFameTable):
            self._show_formula(message.cursor_row)

    def _show_formula(self, row: int) -> None:
        """Show the selected hall-of-fame row's whole formula (wrapped) under the table."""
        table = self.query_one(HallOfFameTable)
        if not 0 <= row < len(table.hof_rows):
            return
        size, search, validation, formula = table.hof_rows[row]
        self.query_one("#hof-formula", Static).update(
            Text.assemble((f"size {size}, τ search {search}, validation {validation}: ", "bold"), formula))
