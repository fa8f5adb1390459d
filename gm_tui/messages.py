"""Textual messages that carry engine events up to the run screen.

The engine emits :mod:`core.events` dataclasses to a sink from its worker thread. The sink
wraps each event in the matching message class below and posts it to the run screen
(``post_message`` is thread-safe). Widgets never see threads: the screen handles the
messages on the UI thread and pushes plain data down to its widgets.
"""

from __future__ import annotations

from textual.message import Message

from core.events import (
    EnergySample,
    Event,
    GenerationDone,
    HallOfFameUpdated,
    LogMessage,
    NewBest,
    ProbeProgress,
    RunFinished,
    RunStarted,
)


class EngineEvent(Message):
    """Base message: wraps one engine event (``self.event``)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class RunStartedMessage(EngineEvent):
    """Wraps :class:`core.events.RunStarted`."""


class ProbeProgressMessage(EngineEvent):
    """Wraps :class:`core.events.ProbeProgress`."""


class GenerationDoneMessage(EngineEvent):
    """Wraps :class:`core.events.GenerationDone`."""


class NewBestMessage(EngineEvent):
    """Wraps :class:`core.events.NewBest`."""


class HallOfFameMessage(EngineEvent):
    """Wraps :class:`core.events.HallOfFameUpdated`."""


class EnergySampleMessage(EngineEvent):
    """Wraps :class:`core.events.EnergySample`."""


class LogMessageMessage(EngineEvent):
    """Wraps :class:`core.events.LogMessage`."""


class RunFinishedMessage(EngineEvent):
    """Wraps :class:`core.events.RunFinished`."""


class EngineFailed(Message):
    """The engine's ``run()`` raised: ``error`` is the one-line text shown in the UI."""

    def __init__(self, error: str, detail: str = "") -> None:
        super().__init__()
        self.error = error
        self.detail = detail


class EngineExited(Message):
    """The engine worker returned (after success, stop or failure)."""

    def __init__(self, run_dir: str | None) -> None:
        super().__init__()
        self.run_dir = run_dir


_MESSAGE_FOR: dict[type[Event], type[EngineEvent]] = {
    RunStarted: RunStartedMessage,
    ProbeProgress: ProbeProgressMessage,
    GenerationDone: GenerationDoneMessage,
    NewBest: NewBestMessage,
    HallOfFameUpdated: HallOfFameMessage,
    EnergySample: EnergySampleMessage,
    LogMessage: LogMessageMessage,
    RunFinished: RunFinishedMessage,
}


def message_for(event: Event) -> EngineEvent:
    """Return the Textual message wrapping ``event`` (unknown types get the base class)."""
    for cls in type(event).__mro__:
        if cls in _MESSAGE_FOR:
            return _MESSAGE_FOR[cls](event)
    return EngineEvent(event)
