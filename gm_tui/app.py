"""The GreenMachine Textual app (thin): bindings, engine worker, replay, export.

``create_app`` is the factory shared by ``gm tui`` and the tests. The engine
(:func:`greenmachine.run.factory.make_controller`) runs in a Textual *thread* worker; its sink wraps each
event in a :mod:`greenmachine.tui.messages` message and posts it to the run screen, which pushes the
data down into its widgets. The UI thread never waits on the engine. A finished (or still
growing) run directory is replayed by :mod:`greenmachine.tui.replay` into the run screen, or into the
search screen when ``gm search`` wrote it (``greenmachine.rundir.directory.RunDirectory.is_search``).
"""

from __future__ import annotations

import gc
import threading
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from greenmachine.tui import messages
from greenmachine.tui.export_action import EXPORT_FALLBACK_FILE, export_best  # noqa: F401  (the export action)
from greenmachine.tui.screens import HelpScreen, ProfilePickerScreen, RunScreen, SearchScreen

#: ``controller_factory(profile, sink) -> controller`` with run / request_stop / pause / resume
#: (``resume`` continues after a pause; ``request_stop`` also ends a pause).
ControllerFactory = Callable[..., Any]
ACTIVE = ("starting", "running", "paused", "stopping")


def default_controller_factory(profile: Any, sink: Callable[[Any], None]) -> Any:
    """Build the real engine controller (imported lazily: it pulls in torch)."""
    from greenmachine.run.factory import make_controller

    return make_controller(profile, sink)


def error_text(error: BaseException) -> str:
    """One line for an engine error: a ``GMError`` as is, anything else with its type."""
    from greenmachine.errors import GMError

    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, GMError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class GreenMachineApp(App[None]):
    """Live view of a GreenMachine run (or a replay of a finished run directory)."""

    CSS_PATH = "gm.tcss"
    TITLE = "GreenMachine"
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause/resume"),
        Binding("x", "stop", "Stop"),
        Binding("e", "export", "Export"),
        Binding("l", "pick", "Profiles"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit_app", "Quit"),
    ]

    def __init__(
        self,
        profile_name: str | None = None,
        overrides: Sequence[str] = (),
        open_run_dir: Path | None = None,
        controller_factory: ControllerFactory | None = None,
        autostart: bool = True,
    ) -> None:
        super().__init__()
        self.profile_name = profile_name
        self.overrides = tuple(overrides)
        self.open_run_dir = Path(open_run_dir) if open_run_dir is not None else None
        self.controller_factory = controller_factory or default_controller_factory
        self.autostart = autostart
        #: Freeze the collector's long-lived objects at run start (see on_engine_run_started).
        self.freeze_gc = True
        self.run_screen = RunScreen(id="run")
        #: The screen showing the run: the run screen, or a search screen for a replayed search.
        self.view: RunScreen | SearchScreen = self.run_screen
        self._stop_watching = threading.Event()
        self._pending_replay: Path | None = None
        self.state = "idle"
        self.controller: Any = None
        self._lock = threading.Lock()
        self._pending_pause = False
        self._pending_stop = False
        self._quit_requested = False
        self.last_export: str | None = None
        self._started_up = False

    def get_default_screen(self) -> RunScreen:
        return self.run_screen

    def on_run_screen_ready(self, message: RunScreen.Ready) -> None:
        if self._started_up:
            return
        self._started_up = True
        if self.open_run_dir is not None:
            self.replay(self.open_run_dir)
        elif self.profile_name:
            self._show_profile(self.profile_name)
            if self.autostart:
                self.start_run(self.profile_name)
        else:
            self.action_pick()

    # -- state -------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        self.state = state
        self.view.set_status(state)

    def _show_profile(self, name: str) -> None:
        try:
            from greenmachine.settings.profile import load_profile

            self.run_screen.show_profile(load_profile(name, self.overrides))
        except Exception as error:  # noqa: BLE001 - shown in the UI, the run start reports it too
            self.run_screen.log_line(f"profile error: {error_text(error)}", "bold red")

    # -- engine ------------------------------------------------------------------------------

    def start_run(self, profile_name: str) -> None:
        """Start the engine for ``profile_name`` in a thread worker (no-op while one runs)."""
        if self.state in ACTIVE:
            self.notify("a run is already in progress (x stops it)", severity="warning")
            return
        self.profile_name = profile_name
        self._show_run_screen()
        self.run_screen.replay = False
        self.run_screen.reset()
        self._show_profile(profile_name)
        self._pending_pause = self._pending_stop = False
        self._set_state("starting")
        self.run_screen.log_line(f"starting profile {profile_name}…")
        self.run_worker(lambda: self._engine_work(profile_name), name="engine", group="engine",
                        thread=True, exclusive=True, exit_on_error=False)

    def _engine_work(self, profile_name: str) -> str | None:
        """Runs in the worker thread: build the controller and run it; never raises."""
        screen = self.run_screen

        def sink(event: Any) -> None:
            screen.post_message(messages.message_for(event))

        run_dir: str | None = None
        try:
            from greenmachine.settings.profile import load_profile

            profile = load_profile(profile_name, self.overrides)
            controller = self.controller_factory(profile, sink)
            with self._lock:
                self.controller = controller
                if self._pending_stop:
                    controller.request_stop()
                elif self._pending_pause:
                    controller.pause()
            result = controller.run()
            run_dir = None if result is None else str(result)
        except Exception as error:  # noqa: BLE001 - every engine error is shown in the UI
            screen.post_message(messages.EngineFailed(error_text(error), traceback.format_exc()))
        finally:
            with self._lock:
                self.controller = None
            # Queued behind every engine message on the run screen; bubbles up to the app.
            screen.post_message(messages.EngineExited(run_dir))
        return run_dir

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "engine":
            if event.state == WorkerState.RUNNING and self.state == "starting":
                self._set_state("paused" if self._pending_pause else "running")
        elif event.worker.group == "export" and event.state == WorkerState.ERROR:
            error = event.worker.error
            self.view.log_line(f"export failed: {error_text(error)}", "bold red")
            detail = "".join(traceback.format_exception(error)) if error is not None else ""
            if detail:
                self.view.log_line(detail.rstrip(), "grey50")
            self.notify(f"export failed: {error_text(error)}", severity="error")
        elif event.worker.group == "export" and event.state == WorkerState.SUCCESS:
            self.last_export = event.worker.result
            self.view.log_line(str(event.worker.result), "green")
            self.notify(str(event.worker.result), title="export")

    def on_engine_exited(self, message: messages.EngineExited) -> None:
        if message.run_dir and not self.run_screen.run_dir:
            self.run_screen.run_dir = message.run_dir
        final = self.run_screen.final_status or "completed"
        self._set_state(final)
        if self._quit_requested:
            self.exit()

    def _with_controller(self, action: Callable[[Any], None]) -> bool:
        with self._lock:
            controller = self.controller
            if controller is not None:
                action(controller)
        return controller is not None

    # -- garbage collector --------------------------------------------------------------------

    def on_engine_run_started(self, message: messages.EngineRunStarted) -> None:
        # The engine has loaded torch, the benchmark table and its samples by now: move
        # those long-lived objects out of the collector's reach, so a full collection
        # during the probe traverses only new objects (it otherwise stalls every thread,
        # the UI's included, for ~150 ms on a busy CPU).
        self._freeze_gc()

    def on_engine_probe_progress(self, message: messages.EngineProbeProgress) -> None:
        event = message.event
        if event.total and event.done >= event.total:
            self._freeze_gc()  # the statistic tables are long-lived too

    def _freeze_gc(self) -> None:
        if self.freeze_gc and hasattr(gc, "freeze"):
            gc.freeze()

    # -- actions -----------------------------------------------------------------------------

    def action_start(self) -> None:
        """Start a run with the chosen profile (the picker when none is chosen)."""
        if self.state in ACTIVE:
            self.notify("a run is already in progress (x stops it)", severity="warning")
        elif self.profile_name:
            self.start_run(self.profile_name)
        else:
            self.action_pick()

    def action_pick(self) -> None:
        """Open the profile picker; choosing a profile starts a run."""
        if isinstance(self.screen, ProfilePickerScreen):
            return

        def chosen(name: str | None) -> None:
            if name:
                self.start_run(name)

        self.push_screen(ProfilePickerScreen(), chosen)

    def action_pause(self) -> None:
        """Pause or resume the engine."""
        if self.state in ("running", "starting"):
            self._pending_pause = True
            self._with_controller(lambda c: c.pause())
            self._set_state("paused")
            self.run_screen.log_line("paused (the engine stops at the next network / generation)", "yellow")
        elif self.state == "paused":
            self._pending_pause = False
            self._with_controller(lambda c: c.resume())
            self._set_state("running")
            self.run_screen.log_line("resumed", "green")
        else:
            self.notify("no run in progress", severity="warning")

    def action_stop(self) -> None:
        """Ask the engine to stop after the current network / generation."""
        if self.state not in ACTIVE or self.state == "stopping":
            if self.state != "stopping":
                self.notify("no run in progress", severity="warning")
            return
        self._pending_stop = True

        def stop(controller: Any) -> None:
            controller.request_stop()

        self._with_controller(stop)
        self._set_state("stopping")
        self.run_screen.log_line("stopping after the current network / generation…", "yellow")

    def action_export(self) -> None:
        """Export the best formula of the run shown."""
        best = self.run_screen.best
        run_dir = self.run_screen.run_dir or (str(self.open_run_dir) if self.open_run_dir else None)
        if best is None or not run_dir:
            self.notify("no best proxy to export yet", severity="warning")
            return
        self.run_worker(lambda: export_best(Path(run_dir), best), name="export", group="export",
                        thread=True, exit_on_error=False)

    def action_help(self) -> None:
        """Show the key bindings."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_quit_app(self) -> None:
        """Quit; a running engine is asked to stop first (q twice quits at once)."""
        if self.state in ACTIVE and not self._quit_requested:
            self._quit_requested = True
            self.action_stop()
            self.notify("stopping the engine, then quitting (q again to quit now)")
            return
        self.exit()

    def on_unmount(self) -> None:
        # The engine thread must not outlive the app blocked on a pause: ask it to stop.
        self._stop_watching.set()  # ends a replay's watch too
        self._pending_stop = True

        def stop(controller: Any) -> None:
            controller.request_stop()

        self._with_controller(stop)

    # -- replay ------------------------------------------------------------------------------

    def replay(self, run_dir: Path) -> None:
        """Show a run directory (finished or still written): its events through the same messages."""
        from greenmachine.rundir.directory import RunDirectory

        if RunDirectory(run_dir).is_search() and not isinstance(self.view, SearchScreen):
            self.view = SearchScreen(id="search")
            self._pending_replay = Path(run_dir)  # replayed once the screen is mounted (on_search_screen_ready)
            self.push_screen(self.view)
            return
        self._start_replay(Path(run_dir))

    def on_search_screen_ready(self, message: SearchScreen.Ready) -> None:
        if self._pending_replay is not None:
            run_dir, self._pending_replay = self._pending_replay, None
            self._start_replay(run_dir)

    def _start_replay(self, run_dir: Path) -> None:
        from greenmachine.tui.replay import replay_run_directory

        view = self.view
        if isinstance(view, SearchScreen):
            view.reset()
        view.replay = True
        view.run_dir = str(run_dir)
        self._set_state("replay")

        def watching() -> None:
            self.call_from_thread(self._set_state, "watching")

        self.run_worker(lambda: replay_run_directory(run_dir, view, self._stop_watching.is_set, watching),
                        name="replay", group="replay", thread=True, exit_on_error=False)

    def _show_run_screen(self) -> None:
        """Make the run screen show the run again (a search screen sits on top of it)."""
        if self.view is not self.run_screen:
            if self.screen is self.view:
                self.pop_screen()
            self.view = self.run_screen


def create_app(
    profile_name: str | None = None,
    overrides: Sequence[str] = (),
    open_run_dir: Path | None = None,
    controller_factory: ControllerFactory | None = None,
    *,
    autostart: bool = True,
) -> GreenMachineApp:
    """Build the TUI (shared by ``gm tui`` and the tests).

    Parameters
    ----------
    profile_name : str, optional
        Profile to run; with ``autostart`` the run starts at once. None opens the picker.
    overrides : sequence of str
        ``section.key=value`` profile overrides (``--set``).
    open_run_dir : Path, optional
        Replay this finished run directory instead of running (``gm tui --open``).
    controller_factory : callable, optional
        ``factory(profile, sink) -> controller``; default :func:`greenmachine.run.factory.make_controller`.
    autostart : bool
        Start the run for ``profile_name`` on launch (else press ``s``).
    """
    return GreenMachineApp(profile_name, overrides, open_run_dir, controller_factory, autostart)
