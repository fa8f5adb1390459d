"""Probe progress: a progress bar plus networks/s, ETA and cache hits."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar


def format_seconds(seconds: float | None) -> str:
    """``h:mm:ss`` / ``m:ss`` for an ETA; ``—`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProbeProgress(Horizontal):
    """Progress of the probe phase (networks probed of total)."""

    DEFAULT_CSS = """
    ProbeProgress { height: 1; }
    ProbeProgress > Label { width: 1fr; }
    ProbeProgress > ProgressBar { width: auto; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.done = 0
        self.total = 0
        self.rate = 0.0
        self.eta: float | None = None
        self.cache_hits = 0

    def compose(self) -> ComposeResult:
        yield Label("probe: waiting", id="probe-label")
        yield ProgressBar(total=None, show_eta=False, id="probe-bar")

    def update_progress(self, done: int, total: int, rate: float, eta: float | None, cache_hits: int) -> None:
        """Show ``done`` of ``total`` networks probed."""
        self.done, self.total, self.rate, self.eta, self.cache_hits = done, total, rate, eta, cache_hits
        self.query_one("#probe-bar", ProgressBar).update(total=max(total, 1), progress=done)
        text = f"probe {done}/{total} · {rate:.1f} net/s · ETA {format_seconds(eta)} · {cache_hits} cached"
        if total and done >= total:
            text = f"probe done {done}/{total} · {rate:.1f} net/s · {cache_hits} cached"
        self.query_one("#probe-label", Label).update(text)
