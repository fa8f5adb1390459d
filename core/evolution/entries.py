"""What evolution reports: a hall-of-fame entry and the result of one generation.

Called by :mod:`greenmachine.evolution.loop` (which builds them), :mod:`greenmachine.evolution.checkpoint`
(entries' JSON state) and, through :mod:`greenmachine.evolution`, by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from greenmachine.proxy.tree import Node, tree_from_dict
from greenmachine.rundir.directory import HallOfFameRow


@dataclass(frozen=True)
class HallOfFameEntry:
    """One hall-of-fame row: the best tree of its size on the search sample.

    Attributes
    ----------
    tree : Node
        The proxy.
    search_tau : float
        Fitness on the search sample (minimum over datasets).
    validation_tau : float
        Kendall tau on the validation sample (minimum over datasets).
    generation : int
        Generation (1-based) in which the tree entered the hall of fame.
    """

    tree: Node
    search_tau: float
    validation_tau: float
    generation: int

    @property
    def size(self) -> int:
        """Number of nodes of the tree."""
        return self.tree.size

    def to_row(self) -> HallOfFameRow:
        """Return the row as :class:`greenmachine.rundir.directory.HallOfFameRow` (the project's one row type)."""
        return HallOfFameRow.from_entry(self)

    def to_state(self) -> dict[str, Any]:
        return {
            "tree": self.tree.to_dict(),
            "search_tau": self.search_tau,
            "validation_tau": self.validation_tau,
            "generation": self.generation,
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> "HallOfFameEntry":
        return cls(
            tree_from_dict(data["tree"]),
            float(data["search_tau"]),
            float(data["validation_tau"]),
            int(data["generation"]),
        )


@dataclass(frozen=True)
class GenerationResult:
    """What one call of :meth:`Evolution.step` did.

    Attributes
    ----------
    generation : int
        1-based number of the generation just evaluated (equals ``Evolution.generation``
        after the call).
    generations : int
        Planned number of generations (``settings.generations``).
    best_search_tau : float
        Best search tau in this population.
    mean_search_tau : float
        Mean search tau of this population (invalid trees count as -1).
    best_validation_tau : float
        Validation tau of the current final proxy (see :meth:`Evolution.best`).
    best : HallOfFameEntry
        The current final proxy (best validation tau in the hall of fame).
    best_changed : bool
        True if ``best`` differs from the previous generation's.
    seconds : float
        Wall time of the call.
    evaluated : int
        Trees scored in this generation (trees seen before reuse their fitness).
    hall_of_fame : tuple of HallOfFameRow
        :meth:`HallOfFameEntry.to_row` of every hall-of-fame row, by size.
    """

    generation: int
    generations: int
    best_search_tau: float
    mean_search_tau: float
    best_validation_tau: float
    best: HallOfFameEntry
    best_changed: bool
    seconds: float
    evaluated: int
    hall_of_fame: tuple[HallOfFameRow, ...]
