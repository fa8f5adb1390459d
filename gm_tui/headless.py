"""Headless reporter: renders engine events as progress lines on stderr.

Used by ``gm run`` and ``gm probe``. The probe phase shows one updating progress line
(networks done, cache hits, rate, ETA) on a terminal, or a line every 5 % otherwise;
each generation prints one line; the run ends with the energy report.
"""

from __future__ import annotations

import sys
from typing import TextIO

from greenmachine.events import (
    EnergySample,
    Event,
    GenerationDone,
    LogMessage,
    NewBest,
    ProbeProgress,
    RunFinished,
    RunStarted,
)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class HeadlessReporter:
    """Event sink that writes human-readable progress to a stream (stderr by default)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self._last_percent = -1
        self._progress_open = False

    def _line(self, text: str) -> None:
        if self._progress_open:
            self.stream.write("\n")
            self._progress_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            sizes = event.sample_sizes
            self._line(
                f"gm: run {event.profile_name} -> {event.run_dir}\n"
                f"    space {event.space}, datasets {', '.join(event.datasets)}, sampling {event.sampling_mode}, "
                f"search/validation/test {sizes['search']}/{sizes['validation']}/{sizes['test']}, "
                f"seed {event.seed}, device {event.device}"
            )
        elif isinstance(event, ProbeProgress):
            percent = int(100 * event.done / max(event.total, 1))
            text = (
                f"probe {event.done}/{event.total} ({percent}%), {event.cache_hits} cached, "
                f"{event.networks_per_second:.2f} net/s, ETA {_duration(event.eta_seconds)}"
            )
            if self.tty:
                self.stream.write("\r" + text.ljust(78))
                self.stream.flush()
                self._progress_open = True
                if event.done == event.total:
                    self._line("")
            elif percent // 5 != self._last_percent // 5 or event.done == event.total:
                self._last_percent = percent
                self._line(text)
        elif isinstance(event, GenerationDone):
            self._line(
                f"gen {event.generation:3d}/{event.generations}  tau search best {event.best_search_tau:+.4f} "
                f"mean {event.mean_search_tau:+.4f}  validation best {event.best_validation_tau:+.4f}  "
                f"size {event.best_size:2d}  {event.seconds:.2f}s"
            )
        elif isinstance(event, NewBest):
            self._line(f"    new best (validation tau {event.validation_tau:+.4f}): {event.formula}")
        elif isinstance(event, EnergySample) and event.phase == "probe" and event.energy_joules is not None:
            self._line(f"    probe energy {event.energy_joules:.1f} J over {event.duration_s:.1f} s")
        elif isinstance(event, LogMessage):
            self._line(f"{event.level}: {event.message}")
        elif isinstance(event, RunFinished) and event.status != "failed":
            # A failed run's error is printed once, by the command (``gm: error: ...``).
            self._line(f"gm: run {event.status}. {event.message}")
