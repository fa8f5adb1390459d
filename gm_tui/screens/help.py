"""Help panel: the key bindings."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("s", "start a run (opens the profile picker when no profile is chosen)"),
    ("p", "pause / resume the engine (between networks / generations)"),
    ("x", "stop after the current network / generation (resumable)"),
    ("e", "export the best formula of the run"),
    ("l", "profile picker"),
    ("t", "held-out test scatter (after a run completes, or of a replayed run)"),
    ("g", "search screen: plot the next guide's searches"),
    ("?", "this help"),
    ("q", "quit (stops a running engine first)"),
)


class HelpScreen(ModalScreen[None]):
    """Modal panel listing the keys; any of escape, ? or q closes it."""

    BINDINGS = [("escape", "close", "Close"), ("question_mark", "close", "Close"), ("q", "close", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, text in KEYS:
            table.add_row(key, text)
        with Vertical(id="help-panel"):
            yield Static("GreenMachine — keys", id="help-title")
            yield Static(table, id="help-keys")
            yield Static("escape closes this panel", id="help-hint")

    def action_close(self) -> None:
        self.dismiss(None)
