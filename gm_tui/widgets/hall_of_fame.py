"""Hall-of-fame table: one row per proxy size (size, tau search, tau validation, formula)."""

from __future__ import annotations

from typing import Any, Mapping

from textual.widgets import DataTable

from gm_tui.widgets.tau_plot import format_tau

_KEYS = {
    "size": ("size", "nodes", "length"),
    "search": ("search_tau", "tau_search", "search", "fitness"),
    "validation": ("validation_tau", "tau_validation", "validation", "val_tau"),
    "formula": ("formula", "expression", "text", "proxy"),
}


def _pick(row: Mapping[str, Any], field: str) -> Any:
    for key in _KEYS[field]:
        if key in row:
            return row[key]
    return None


def _tau_cell(value: Any) -> str:
    try:
        return format_tau(float(value))
    except (TypeError, ValueError):
        return "—"


class HallOfFameTable(DataTable):
    """A :class:`DataTable` the screen fills with :meth:`set_rows`."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.hof_rows: list[tuple[str, str, str, str]] = []

    def on_mount(self) -> None:
        self.add_column("size", key="size")
        self.add_column("τ search", key="search")
        self.add_column("τ valid.", key="validation")
        self.add_column("formula", key="formula")

    def set_rows(self, rows: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]]) -> None:
        """Replace the table's rows with ``rows`` (mappings from the engine)."""
        self.clear()
        self.hof_rows = []
        for row in rows:
            size = _pick(row, "size")
            cells = (
                "—" if size is None else str(size),
                _tau_cell(_pick(row, "search")),
                _tau_cell(_pick(row, "validation")),
                str(_pick(row, "formula") or ""),
            )
            self.hof_rows.append(cells)
            self.add_row(*cells)
