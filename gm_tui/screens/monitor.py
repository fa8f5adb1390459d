"""What every screen showing a run shares: status, probe progress, energy, log and errors.

:class:`MonitorScreen` is the base of :class:`greenmachine.tui.screens.run.RunScreen` (``gm run``) and
:class:`greenmachine.tui.screens.search.SearchScreen` (``gm search``). Its handlers take the engine
messages common to both (:mod:`greenmachine.tui.messages`) on the UI thread and push the data down
into the shared widgets (:class:`RunHeader`, :class:`ProbeProgress`, :class:`EnergyPanel`,
the log); each screen composes those widgets and handles the rest.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from rich.text import Text
from textual.screen import Screen
from textual.widgets import RichLog

from greenmachine.events import RunFinished, RunStarted
from greenmachine.tui import messages
from greenmachine.tui.widgets import EnergyPanel, ProbeProgress, RunHeader

LEVEL_STYLE = {"debug": "grey50", "info": "", "warning": "yellow", "warn": "yellow", "error": "bold red", "critical": "bold red"}
FINISHED_STYLE = {"completed": "bold green", "stopped": "yellow", "failed": "bold red"}


class MonitorScreen(Screen):
    """Base of the screens that show one run, live or replayed from its run directory.

    The app sets :attr:`replay` (and :attr:`run_dir`, the folder opened) before a replay; a
    replay keeps that folder even when the events name another (a moved run directory).
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.run_started: RunStarted | None = None
        self.run_dir: str | None = None
        self.final_status: str | None = None
        self.last_error: str | None = None
        self.replay = False

    @property
    def header(self) -> RunHeader:
        return self.query_one(RunHeader)

    def set_status(self, status: str) -> None:
        """Show the run state (idle / running / paused / replay / …) in the header."""
        self.header.status = status

    def log_line(self, message: str, style: str = "") -> None:
        """Append a time-stamped line to the log panel."""
        line = Text(time.strftime("%H:%M:%S "), style="grey50")
        line.append(message, style=style)
        self.query_one("#log", RichLog).write(line)

    def clear_common(self) -> None:
        """Forget the run shown (before a new run or replay)."""
        self.run_started = None
        self.run_dir = None
        self.final_status = None
        self.last_error = None
        self.query_one(EnergyPanel).reset()

    def started(self, event: RunStarted) -> None:
        """Remember the run's start; a live run's folder is the one the event names."""
        self.run_started = event
        if not self.replay or not self.run_dir:
            self.run_dir = event.run_dir

    # -- engine messages common to every run ------------------------------------------------

    def on_engine_probe_progress(self, message: messages.EngineProbeProgress) -> None:
        event = message.event
        self.query_one(ProbeProgress).update_progress(
            event.done, event.total, event.networks_per_second, event.eta_seconds, event.cache_hits
        )
        if event.total and event.done >= event.total:
            self.log_line(f"probe finished: {event.total} networks ({event.cache_hits} from cache)")

    def on_engine_energy_sample(self, message: messages.EngineEnergySample) -> None:
        self.query_one(EnergyPanel).add_sample(message.event)

    def on_engine_log_message(self, message: messages.EngineLogMessage) -> None:
        event = message.event
        self.log_line(f"{event.level}: {event.message}" if event.level.lower() != "info" else event.message,
                      LEVEL_STYLE.get(event.level.lower(), ""))

    def on_engine_run_finished(self, message: messages.EngineRunFinished) -> None:
        event = message.event
        self.final_status = event.status
        if not self.replay or not self.run_dir:
            self.run_dir = event.run_dir or self.run_dir
        self.set_status(f"{event.status} (replay)" if self.replay else event.status)
        self.finished(event)
        text = f"run {event.status}: {event.run_dir}"
        if event.message:
            text += f" — {event.message}"
        self.log_line(text, FINISHED_STYLE.get(event.status, "bold"))

    def finished(self, event: RunFinished) -> None:
        """Hook: read what the finished run wrote (called before the closing log line)."""

    def on_engine_failed(self, message: messages.EngineFailed) -> None:
        self.last_error = message.error
        self.final_status = "failed"
        self.set_status("failed")
        self.log_line(f"engine error: {message.error}", "bold red")
        if message.detail:
            self.log_line(message.detail.rstrip(), "grey50")
        self.app.notify(message.error, title="engine error", severity="error", timeout=10)


def read_run_file(screen: MonitorScreen, read: Callable[[Any], Any]) -> Any:
    """Return ``read(RunDirectory(screen.run_dir))``; a GMError is logged and gives None."""
    from greenmachine.errors import GMError
    from greenmachine.rundir.directory import RunDirectory

    if not screen.run_dir:
        return None
    try:
        return read(RunDirectory(screen.run_dir))
    except GMError as error:
        screen.log_line(f"warning: {error}", "yellow")
        return None
