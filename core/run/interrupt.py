"""Ctrl-C during a run: the first interrupt stops cleanly, a second one aborts.

Used by ``gm run`` (:mod:`greenmachine.tui.cli` and, for seed repeats,
:mod:`greenmachine.tui.commands.repeat`) and by :func:`greenmachine.api.design`, so an interrupted
run leaves the same resumable run directory whichever started it. The first SIGINT asks the
controller to stop after the current network (probe) or generation (evolution); a second one
raises :class:`KeyboardInterrupt` at once (the run directory keeps its last checkpoint).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

STOPPING = "stopping after the current step (interrupt again to abort)"


def install_stop_handler(controller: Any, notify: Callable[[str], None]) -> Any:
    """Make SIGINT request a clean stop of ``controller``; a second SIGINT aborts.

    Parameters
    ----------
    controller : RunController or RepeatRunner
        Anything with ``request_stop()`` and a ``stop_requested`` property.
    notify : callable
        Called with :data:`STOPPING` on the first interrupt (the caller says it its own way).

    Returns
    -------
    object
        The previous SIGINT handler, to restore with ``signal.signal(signal.SIGINT, previous)``;
        ``None`` outside the main thread, where Python cannot set signal handlers (nothing is
        installed and an interrupt behaves as usual).
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:  # pragma: no cover - exercised by the interrupt tests
        if controller.stop_requested:
            raise KeyboardInterrupt
        notify(STOPPING)
        controller.request_stop()

    return signal.signal(signal.SIGINT, handler)


@contextmanager
def stop_on_interrupt(controller: Any, notify: Callable[[str], None]) -> Iterator[None]:
    """:func:`install_stop_handler` for the duration of a ``with`` block, then the previous handler."""
    previous = install_stop_handler(controller, notify)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
