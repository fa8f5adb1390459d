"""Replay a run directory's ``events.jsonl`` into a screen, and watch it while it grows.

Called by :meth:`greenmachine.tui.app.GreenMachineApp.replay` in a thread worker. Every event is
posted to the screen as the message the live engine's sink would post
(:func:`greenmachine.tui.messages.message_for`), so a replay and a live run share every handler. A run
that has not finished yet (no ``RunFinished`` at the end: ``gm run`` or ``gm search`` is
still writing in another process) is watched: new whole lines are read every
:data:`POLL_SECONDS` until ``RunFinished`` arrives or ``stopped()`` says the app is closing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from greenmachine.tui import messages

#: Seconds between two reads of a run directory that is still being written.
POLL_SECONDS = 0.25


def _log(screen: Any, level: str, text: str) -> None:
    from greenmachine.events import LogMessage

    screen.post_message(messages.EngineLogMessage(LogMessage(level=level, message=text)))


def replay_run_directory(run_dir: Path, screen: Any, stopped: Callable[[], bool],
                         watching: Callable[[], None] = lambda: None, poll_seconds: float = POLL_SECONDS) -> int:
    """Post every event of ``run_dir`` to ``screen``; return how many were posted.

    Parameters
    ----------
    run_dir : Path
        The run directory (of ``gm run`` or ``gm search``).
    screen : textual.screen.Screen
        Receives the messages (``post_message`` is thread-safe).
    stopped : callable
        Polled while watching; True ends the watch (the app is closing).
    watching : callable
        Called once when the events read so far hold no ``RunFinished`` (the watch begins).
    poll_seconds : float
        Seconds between two reads while watching.
    """
    from greenmachine.errors import GMError
    from greenmachine.events import RunFinished
    from greenmachine.rundir.directory import EVENTS_FILE, RunDirectory

    path = Path(run_dir) / EVENTS_FILE
    if not path.is_file():
        screen.post_message(messages.EngineFailed(f"cannot replay {run_dir}: {path} not found"))
        return 0
    follower = RunDirectory(run_dir).follow_events()
    count, finished, first = 0, False, True
    while True:
        problems: list[str] = []
        try:
            events = follower.read_new(problems)
        except GMError as error:
            screen.post_message(messages.EngineFailed(f"cannot replay {run_dir}: {error}"))
            return count
        for problem in problems:
            _log(screen, "warning", f"skipped: {problem}")
        for event in events:
            screen.post_message(messages.message_for(event))
            finished = finished or isinstance(event, RunFinished)
        count += len(events)
        if finished or stopped():
            break
        if first:
            watching()
            _log(screen, "info", f"read {count} events from {path}; watching for more (the run has not finished)")
        first = False
        time.sleep(poll_seconds)
    if follower.torn_tail():
        _log(screen, "warning", f"skipped: {path}:{follower.lines + 1} is a torn last line (the run was cut short)")
    _log(screen, "info", f"replayed {count} events from {path}")
    return count
