"""What a zero-cost NAS found: a table of its searches per guide and the found network's panel.

Fed by :class:`greenmachine.tui.screens.search.SearchScreen`: :class:`SearchTable` from
:class:`greenmachine.events.SearchProgress` (scores as networks are scored) and
:class:`greenmachine.events.NetworkFound`, then the comparison summary of ``report.json``;
:class:`FoundNetwork` from ``NetworkFound`` and the report's optimum.
"""

from __future__ import annotations

import statistics
from typing import Any, Mapping

from rich.table import Table
from rich.text import Text
from textual.widgets import DataTable, Static

from greenmachine.tui.widgets.score_plot import SearchKey, format_score

COLUMNS = (("search", "search"), ("seeds", "seeds"), ("scored", "scored"), ("best score", "score"),
           ("found acc. %", "accuracy"), ("rank", "rank"))


def _number(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "—"


class SearchTable(DataTable):
    """One row for the headline search, one per guide for the comparison searches.

    A comparison row gives the median best score, the mean ± sd found accuracy and the mean
    rank over its seeds (the accuracy and rank once ``report.json`` is written).
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.reset()

    def reset(self) -> None:
        """Forget every search."""
        self.headline: SearchKey | None = None
        #: the headline search's (networks scored, best score)
        self.headline_state: tuple[int, float | None] = (0, None)
        #: the comparison searches' (networks scored, best score)
        self.searches: dict[SearchKey, tuple[int, float | None]] = {}
        self.found: Mapping[str, Any] = {}
        self.comparison: Mapping[str, Mapping[str, Any]] = {}
        self.table_rows: list[tuple[str, ...]] = []
        if self.is_mounted:
            self._rebuild()

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)
        self._rebuild()

    def add_progress(self, guide: str, seed: int, evaluated: int, budget: int, best_score: float | None) -> None:
        """Record a search's progress (the first search reported is the headline search).

        A comparison search with the headline's guide, seed and budget is told apart by its
        networks scored going back (they only grow within one search).
        """
        key = (guide, int(seed), int(budget))
        if self.headline is None:
            self.headline = key
        if key == self.headline and key not in self.searches and int(evaluated) > self.headline_state[0]:
            self.headline_state = (int(evaluated), best_score)
        else:
            self.searches[key] = (int(evaluated), best_score)
        self._rebuild()

    def set_found(self, found: Mapping[str, Any]) -> None:
        """The headline search's network (``NetworkFound`` fields, or ``report.json``'s ``found``)."""
        self.found = dict(found)
        self._rebuild()

    def set_comparison(self, guides: Mapping[str, Mapping[str, Any]]) -> None:
        """The comparison summary per guide (``report.json``: ``comparison.guides``)."""
        self.comparison = dict(guides)
        self._rebuild()

    def row_texts(self) -> list[tuple[str, ...]]:
        """The table's rows as text (search, seeds, scored, best score, found accuracy, rank)."""
        rows = []
        if self.headline is not None:
            guide, seed, budget = self.headline
            evaluated, score = self.headline_state
            found = self.found
            rank = f"{found['rank']}" if "rank" in found else "—"
            rows.append((f"{guide} (headline)", str(seed), f"{evaluated}/{budget}", format_score(score),
                         _number(found.get("accuracy")), rank))
        by_guide: dict[str, list[tuple[int, int, int, float | None]]] = {}
        for (guide, seed, budget), (evaluated, score) in self.searches.items():
            by_guide.setdefault(guide, []).append((seed, budget, evaluated, score))
        for guide, searches in by_guide.items():
            seeds = sorted(seed for seed, _, _, _ in searches)
            scores = [score for _, _, _, score in searches if isinstance(score, (int, float))]
            summary = self.comparison.get(guide, {})
            accuracy = _number(summary.get("mean_accuracy"))
            if summary.get("sd_accuracy") is not None:
                accuracy += f" ± {_number(summary['sd_accuracy'])}"
            seed_text = f"{len(seeds)} ({seeds[0]}..{seeds[-1]})" if len(seeds) > 1 else str(seeds[0])
            rows.append((guide, seed_text, f"{sum(e for _, _, e, _ in searches)}/{sum(b for _, b, _, _ in searches)}",
                         format_score(statistics.median(scores)) if scores else "—", accuracy,
                         _number(summary.get("mean_rank"), 0)))
        return rows

    def _rebuild(self) -> None:
        if not self.is_mounted or not self.columns:
            return
        self.table_rows = self.row_texts()
        cursor = self.cursor_row
        self.clear()
        for row in self.table_rows:
            self.add_row(*row)
        if self.table_rows:
            self.move_cursor(row=min(cursor, len(self.table_rows) - 1))


class FoundNetwork(Static):
    """The headline search's network: architecture, score, true accuracy and ranks."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("no network found yet (the true accuracy is looked up after every search ended)",
                         name=name, id=id, classes=classes)
        self.found: dict[str, Any] = {}
        self.optimum: Mapping[str, Any] = {}

    def reset(self) -> None:
        """Forget the found network."""
        self.found, self.optimum = {}, {}
        self.update("no network found yet (the true accuracy is looked up after every search ended)")

    def show_found(self, found: Mapping[str, Any], optimum: Mapping[str, Any] | None = None) -> None:
        """Show ``found`` (``NetworkFound`` fields, or ``report.json``'s ``found``) and the space's best."""
        self.found.update(found)
        if optimum is not None:
            self.optimum = optimum
        self.update(self._table())

    def _table(self) -> Table:
        found = self.found
        table = Table.grid(padding=(0, 1))
        table.add_column(style="grey62", no_wrap=True)
        table.add_column(overflow="fold")
        table.add_row("arch", Text(str(found.get("arch", "?")), style="bold"))
        where = f"{found.get('guide', '?')} · seed {found.get('seed', '?')} · budget {found.get('budget', '?')}"
        table.add_row("search", where + (f" · index {found['index']}" if "index" in found else ""))
        table.add_row("score", format_score(found.get("score")))
        table.add_row("accuracy", Text(f"{_number(found.get('accuracy'))} % (true, looked up after the search)",
                                       style="bold green"))
        rank = f"{found.get('rank', '—')}"
        if "space_size" in found:
            rank += f" of {found['space_size']} ({100.0 * found['rank'] / found['space_size']:.2f} %)"
        table.add_row("rank", rank)
        if found.get("feasible_size", found.get("space_size")) != found.get("space_size") or (
                "rank_feasible" in found and found.get("rank_feasible") != found.get("rank")):
            size = f" of {found['feasible_size']}" if "feasible_size" in found else ""
            table.add_row("constrained", f"rank {found.get('rank_feasible', '—')}{size} meeting the constraint")
        space = self.optimum.get("space") or {}
        feasible = self.optimum.get("feasible") or {}
        if space:
            best = f"{_number(space.get('accuracy'))} % in the space"
            if feasible and feasible.get("index") != space.get("index"):
                best += f", {_number(feasible.get('accuracy'))} % under the constraint"
            table.add_row("best", best)
        return table
