"""Hall-of-fame table: one row per proxy size (size, tau search, tau validation, formula).

The formula column takes the table's remaining width and a long formula wraps onto more
lines of its row (rows are as tall as their formula), so every formula is read whole at
any terminal width; the run screen also shows the selected row's formula under the table.
"""

from __future__ import annotations

from typing import Any, Mapping

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from greenmachine.tui.widgets.tau_plot import format_tau

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


#: Widths of the columns before the formula, and the formula column's narrowest width.
FIXED_COLUMNS = (("size", "size", 4), ("τ search", "search", 8), ("τ valid.", "validation", 8))
MINIMUM_FORMULA_WIDTH = 20
#: Cells kept free for the vertical scroll bar (it appears once the rows overflow).
_SCROLLBAR = 2


class HallOfFameTable(DataTable):
    """A :class:`DataTable` the screen fills with :meth:`set_rows`."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.hof_rows: list[tuple[str, str, str, str]] = []
        self.formula_width = MINIMUM_FORMULA_WIDTH

    def on_mount(self) -> None:
        for label, key, width in FIXED_COLUMNS:
            self.add_column(label, key=key, width=width)
        self.add_column("formula", key="formula", width=self.formula_width)

    def available_formula_width(self) -> int:
        """Cells left for the formula beside the fixed columns (at least the minimum)."""
        fixed = sum(width + 2 * self.cell_padding for _, _, width in FIXED_COLUMNS)
        width = self.scrollable_content_region.width - fixed - 2 * self.cell_padding - _SCROLLBAR
        return max(width, MINIMUM_FORMULA_WIDTH)

    def on_resize(self, event: events.Resize) -> None:
        width = self.available_formula_width()
        if width != self.formula_width and "formula" in {key.value for key in self.columns}:
            self.formula_width = width
            column = next(column for key, column in self.columns.items() if key.value == "formula")
            column.width = width
            self._show(self.hof_rows)

    def set_rows(self, rows: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]]) -> None:
        """Replace the table's rows with ``rows`` (mappings from the engine)."""
        hof_rows = []
        for row in rows:
            size = _pick(row, "size")
            cells = (
                "—" if size is None else str(size),
                _tau_cell(_pick(row, "search")),
                _tau_cell(_pick(row, "validation")),
                str(_pick(row, "formula") or ""),
            )
            hof_rows.append(cells)
        self._show(hof_rows)

    def _show(self, hof_rows: list[tuple[str, str, str, str]]) -> None:
        cursor = self.cursor_row
        self.clear()
        self.hof_rows = list(hof_rows)
        for size, search, validation, formula in self.hof_rows:
            self.add_row(size, search, validation, Text(formula), height=None)
        if self.hof_rows:
            self.move_cursor(row=min(max(cursor, 0), len(self.hof_rows) - 1))
