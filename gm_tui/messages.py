"""Textual messages that carry engine events up to the screen showing the run.

The engine emits :mod:`greenmachine.events` dataclasses to a sink from its worker thread. The sink
wraps each event in the matching message class below (``Engine`` + the event's name, so
``LogMessage`` arrives as :class:`EngineLogMessage`, handled by ``on_engine_log_message``)
and posts it to the screen showing the run (the run screen, or the search screen for a
``gm search`` run directory; ``post_message`` is thread-safe). Widgets never see threads:
the screen handles the messages on the UI thread and pushes plain data down to its widgets.
"""

from __future__ import annotations

from textual.message import Message

from greenmachine.events import (
    EnergySample,
    Event,
    GenerationDone,
    HallOfFameUpdated,
    LogMessage,
    NetworkFound,
    NewBest,
    ProbeProgress,
    RunFinished,
    RunStarted,
    SearchProgress,
)


class EngineEvent(Message):
    """Base message: wraps one engine event (``self.event``)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class EngineRunStarted(EngineEvent):
    """Wraps :class:`greenmachine.events.RunStarted` (handler ``on_engine_run_started``)."""

    event: RunStarted


class EngineProbeProgress(EngineEvent):
    """Wraps :class:`greenmachine.events.ProbeProgress` (handler ``on_engine_probe_progress``)."""

    event: ProbeProgress


class EngineGenerationDone(EngineEvent):
    """Wraps :class:`greenmachine.events.GenerationDone` (handler ``on_engine_generation_done``)."""

    event: GenerationDone


class EngineNewBest(EngineEvent):
    """Wraps :class:`greenmachine.events.NewBest` (handler ``on_engine_new_best``)."""

    event: NewBest


class EngineHallOfFameUpdated(EngineEvent):
    """Wraps :class:`greenmachine.events.HallOfFameUpdated` (handler ``on_engine_hall_of_fame_updated``)."""

    event: HallOfFameUpdated


class EngineEnergySample(EngineEvent):
    """Wraps :class:`greenmachine.events.EnergySample` (handler ``on_engine_energy_sample``)."""

    event: EnergySample


class EngineLogMessage(EngineEvent):
    """Wraps :class:`greenmachine.events.LogMessage` (handler ``on_engine_log_message``)."""

    event: LogMessage


class EngineRunFinished(EngineEvent):
    """Wraps :class:`greenmachine.events.RunFinished` (handler ``on_engine_run_finished``)."""

    event: RunFinished


class EngineSearchProgress(EngineEvent):
    """Wraps :class:`greenmachine.events.SearchProgress` (handler ``on_engine_search_progress``)."""

    event: SearchProgress


class EngineNetworkFound(EngineEvent):
    """Wraps :class:`greenmachine.events.NetworkFound` (handler ``on_engine_network_found``)."""

    event: NetworkFound


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
    RunStarted: EngineRunStarted,
    ProbeProgress: EngineProbeProgress,
    GenerationDone: EngineGenerationDone,
    NewBest: EngineNewBest,
    HallOfFameUpdated: EngineHallOfFameUpdated,
    EnergySample: EngineEnergySample,
    LogMessage: EngineLogMessage,
    RunFinished: EngineRunFinished,
    SearchProgress: EngineSearchProgress,
    NetworkFound: EngineNetworkFound,
}


def message_for(event: Event) -> EngineEvent:
    """Return the Textual message wrapping ``event`` (unknown types get the base class)."""
    for cls in type(event).__mro__:
        if cls in _MESSAGE_FOR:
            return _MESSAGE_FOR[cls](event)
    return EngineEvent(event)
