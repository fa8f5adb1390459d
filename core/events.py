"""Typed events that the engine emits while it works.

The evolution engine (``greenmachine.run.controller``) sends every event to one sink, a plain callable.
The headless reporter (writes ``events.jsonl`` and prints progress), the Textual TUI and
tests all consume the same events. Events are frozen dataclasses; ``to_dict`` /
``event_from_dict`` give their JSON form (``{"type": "<name>", ...}``), which is what
``events.jsonl`` in a run directory holds, one event per line.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Event:
    """Base class: every event carries the wall time it was created at."""

    time: float = field(default_factory=time.time, kw_only=True)

    @property
    def type_name(self) -> str:
        """Registered name of the event type (e.g. ``generation_done``)."""
        return _NAME_OF[type(self)]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form, with a ``type`` key."""
        return {"type": self.type_name, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    """A run began: where it writes, what it searches."""

    run_dir: str
    profile_name: str
    space: str
    datasets: tuple[str, ...]
    sampling_mode: str
    sample_sizes: Mapping[str, int]
    seed: int
    device: str


@dataclass(frozen=True)
class ProbeProgress(Event):
    """Probe phase progress: ``done`` of ``total`` networks, ``cache_hits`` of them cached.

    ``networks_per_second`` and ``eta_seconds`` are the whole phase's (every worker);
    ``workers`` and ``machines`` say how many contributed (1 and 1 when probing in-process).
    """

    done: int
    total: int
    cache_hits: int
    networks_per_second: float
    eta_seconds: float | None
    workers: int = 1
    machines: int = 1


@dataclass(frozen=True)
class GenerationDone(Event):
    """One generation evaluated."""

    generation: int
    generations: int
    best_search_tau: float
    mean_search_tau: float
    best_validation_tau: float
    best_size: int
    best_formula: str
    seconds: float


@dataclass(frozen=True)
class NewBest(Event):
    """The hall of fame's best proxy (chosen on validation) changed."""

    generation: int
    search_tau: float
    validation_tau: float
    size: int
    formula: str
    tree: Mapping[str, Any]


@dataclass(frozen=True)
class HallOfFameUpdated(Event):
    """Current hall of fame: one row per size (size, search tau, validation tau, formula)."""

    rows: tuple[Mapping[str, Any], ...]


#: ``EnergySample.phase`` of the span covering the whole run (its total, not a part of it).
PHASE_RUN = "run"
#: ``EnergySample.phase`` of the spans that split a run: the probe, each generation, the
#: final evaluation.
PHASE_PROBE = "probe"
PHASE_GENERATION = "generation"
PHASE_EVALUATION = "evaluation"
ENERGY_PHASES = (PHASE_RUN, PHASE_PROBE, PHASE_GENERATION, PHASE_EVALUATION)


@dataclass(frozen=True)
class EnergySample(Event):
    """An energy span finished (a phase, a generation, or the whole run).

    ``phase`` is one of :data:`ENERGY_PHASES`; ``span`` is the span's own name (e.g.
    ``generation-3``). Energy figures are ``None`` when energy metering is off.
    """

    span: str
    phase: str
    duration_s: float
    energy_joules: float | None
    co2_grams: float | None
    cpu_joules: float | None
    ram_joules: float | None
    gpu_joules: float | None
    gpu_mean_watts: float | None
    methods: Mapping[str, str]


@dataclass(frozen=True)
class LogMessage(Event):
    """A line for the log panel / stderr."""

    level: str
    message: str


@dataclass(frozen=True)
class RunFinished(Event):
    """The run ended: ``status`` is ``completed``, ``stopped`` (resumable) or ``failed``."""

    status: str
    run_dir: str
    message: str = ""


#: ``EnergySample.phase`` of a zero-cost NAS (``gm search``): the headline search, the same
#: search repeated by the comparison guides over seeds.
PHASE_SEARCH = "search"
PHASE_COMPARISON = "comparison"


@dataclass(frozen=True)
class SearchProgress(Event):
    """A zero-cost NAS (``gm search``) scored more networks.

    ``guide`` is the proxy, baseline or ``random``; ``evaluated`` of ``budget`` networks are
    scored; ``best_score`` is the guide's best score so far (no accuracy: the search never
    sees one).
    """

    guide: str
    seed: int
    evaluated: int
    budget: int
    best_score: float | None


@dataclass(frozen=True)
class NetworkFound(Event):
    """A search's answer, with its true accuracy looked up after the search ended.

    ``rank`` is the accuracy's rank in the whole space (1 = best); ``rank_feasible`` among
    the networks meeting the constraint.
    """

    guide: str
    seed: int
    budget: int
    index: int
    arch: str
    score: float | None
    accuracy: float
    rank: int
    rank_feasible: int


EventSink = Callable[[Event], None]

_EVENT_TYPES: dict[str, type[Event]] = {
    "run_started": RunStarted,
    "probe_progress": ProbeProgress,
    "generation_done": GenerationDone,
    "new_best": NewBest,
    "hall_of_fame_updated": HallOfFameUpdated,
    "energy_sample": EnergySample,
    "log_message": LogMessage,
    "run_finished": RunFinished,
    "search_progress": SearchProgress,
    "network_found": NetworkFound,
}
_NAME_OF = {cls: name for name, cls in _EVENT_TYPES.items()}


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from its ``to_dict`` form.

    Raises
    ------
    ValueError
        If ``type`` is unknown or fields do not match.
    """
    payload = dict(data)
    name = payload.pop("type", None)
    cls = _EVENT_TYPES.get(name)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown event type {name!r}")
    for item in dataclasses.fields(cls):
        if item.name in payload and isinstance(payload[item.name], list):
            payload[item.name] = tuple(payload[item.name])
    return cls(**payload)


class FanOutSink:
    """Send each event to several sinks, in order."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = list(sinks)

    def __call__(self, event: Event) -> None:
        for sink in self.sinks:
            sink(event)


class ListSink:
    """Collect events in a list (tests, replay)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of_type(self, cls: type[Event]) -> list[Event]:
        """Return the collected events of type ``cls``."""
        return [event for event in self.events if isinstance(event, cls)]
