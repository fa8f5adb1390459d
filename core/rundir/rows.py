"""The row types of a run directory's CSV files: :class:`HallOfFameRow` (the project's one
hall-of-fame row type, ``hall_of_fame.csv``) and :class:`EnergyRow` (``energy.csv``).

Used by ``greenmachine.rundir.directory`` (which reads and writes the files), ``greenmachine.evolution`` (its
generations report their hall of fame as rows) and ``greenmachine.report.build``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from greenmachine.errors import GMError

HALL_OF_FAME_FIELDS = ("size", "tau_search", "tau_validation", "formula", "simplified", "tree_json",
                       "probe_passes", "probe_seconds_per_network", "probe_joules_per_network", "probe_energy")
ENERGY_FIELDS = (
    "span", "phase", "duration_s", "energy_joules", "energy_wh", "co2_grams",
    "cpu_joules", "ram_joules", "gpu_joules", "gpu_mean_watts", "methods",
)


def one_line(error: BaseException) -> str:
    """The first line of an error's message (its type name when empty)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


@dataclass(frozen=True)
class HallOfFameRow:
    """One hall-of-fame row: the best tree of its size (the one row type of the project).

    Attributes
    ----------
    size : int
        Nodes of the tree.
    search_tau, validation_tau : float
        Kendall tau on the search and validation samples (minimum over datasets).
    formula : str
        The tree as text.
    tree : mapping
        The tree's JSON form (``Node.to_dict``).
    generation : int or None
        Generation in which the tree entered the hall of fame (None when not recorded).
    simplified : str
        The simplified formula ('' until the report simplifies it).
    probe_passes : tuple of str
        The probe passes the formula needs (empty when its cost is not known).
    probe_seconds, probe_joules : float or None
        Its probe cost per network (:func:`greenmachine.probe.costs.probe_cost`; None when unknown).
    probe_energy : str
        ``"estimated"`` or ``"measured"``: how the pass-cost table got its joules.
    """

    size: int
    search_tau: float
    validation_tau: float
    formula: str
    tree: Mapping[str, Any] = field(default_factory=dict, compare=False)
    generation: int | None = None
    simplified: str = ""
    probe_passes: tuple[str, ...] = ()
    probe_seconds: float | None = None
    probe_joules: float | None = None
    probe_energy: str = ""

    @classmethod
    def from_entry(cls, entry: Any, simplified: str = "", space: str | None = None) -> "HallOfFameRow":
        """The row of a :class:`greenmachine.evolution.HallOfFameEntry`; with ``space`` (one that has
        measured pass costs) it carries the formula's probe cost."""
        row = cls(int(entry.tree.size), float(entry.search_tau), float(entry.validation_tau),
                  str(entry.tree), entry.tree.to_dict(), int(entry.generation), simplified)
        if space is None:
            return row
        from greenmachine.probe.costs import has_costs, space_costs, tree_cost

        if not has_costs(space):
            return row
        cost = tree_cost(entry.tree, space)
        return replace(row, probe_passes=cost.passes, probe_seconds=cost.seconds, probe_joules=cost.joules,
                       probe_energy=space_costs(space).energy_label)

    def to_event_row(self) -> dict[str, Any]:
        """The light form carried by ``HallOfFameUpdated`` events (no tree)."""
        return {"size": self.size, "tau_search": self.search_tau, "tau_validation": self.validation_tau,
                "formula": self.formula}

    def to_csv_row(self) -> dict[str, str]:
        """The ``hall_of_fame.csv`` form."""
        return {
            "size": str(self.size),
            "tau_search": f"{self.search_tau:.6f}",
            "tau_validation": f"{self.validation_tau:.6f}",
            "formula": self.formula,
            "simplified": self.simplified,
            "tree_json": json.dumps(dict(self.tree)) if self.tree else "",
            "probe_passes": " ".join(self.probe_passes),
            "probe_seconds_per_network": "" if self.probe_seconds is None else f"{self.probe_seconds:.4f}",
            "probe_joules_per_network": "" if self.probe_joules is None else f"{self.probe_joules:.4f}",
            "probe_energy": self.probe_energy,
        }

    @classmethod
    def from_csv_row(cls, row: Mapping[str, Any], where: str) -> "HallOfFameRow":
        """Parse one ``hall_of_fame.csv`` row; a bad row is a GMError naming ``where``."""
        try:
            tree_text = row.get("tree_json") or ""
            tree = json.loads(tree_text) if tree_text else {}
            if not isinstance(tree, dict):
                raise ValueError("tree_json is not a JSON object")
            size = int(row["size"])
            search, validation = float(row["tau_search"]), float(row["tau_validation"])
            if size < 1 or not (math.isfinite(search) and math.isfinite(validation)):
                raise ValueError("size or tau out of range")
            formula = row["formula"]
            if not isinstance(formula, str):
                raise ValueError("no formula")
            # the probe-cost columns are absent from runs made before they were written
            seconds, joules = (_optional_cost(row.get(key)) for key in
                               ("probe_seconds_per_network", "probe_joules_per_network"))
            return cls(size, search, validation, formula, tree, None, str(row.get("simplified") or ""),
                       tuple(str(row.get("probe_passes") or "").split()), seconds, joules,
                       str(row.get("probe_energy") or ""))
        except (KeyError, TypeError, ValueError, RecursionError) as error:
            raise GMError(f"{where} is not a hall-of-fame row: {one_line(error)}") from None


def _optional_cost(text: Any) -> float | None:
    if text in ("", None):
        return None
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"probe cost {text!r} out of range")
    return value


@dataclass(frozen=True)
class EnergyRow:
    """One ``energy.csv`` row (an energy span), read back with floats or None."""

    span: str
    phase: str
    duration_s: float
    energy_joules: float | None
    co2_grams: float | None
    cpu_joules: float | None
    ram_joules: float | None
    gpu_joules: float | None
    gpu_mean_watts: float | None
    methods: Mapping[str, Any]


_ENERGY_OPTIONAL = ("energy_joules", "co2_grams", "cpu_joules", "ram_joules", "gpu_joules", "gpu_mean_watts")


def energy_row_from_csv(row: Mapping[str, Any], where: str) -> EnergyRow:
    """Parse one ``energy.csv`` row; a bad row is a GMError naming ``where``."""
    try:
        values = {}
        for key in ("duration_s",) + _ENERGY_OPTIONAL:
            text = row[key]
            value = None if text in ("", None) else float(text)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"{key} is {text!r}")
            values[key] = value
        if values["duration_s"] is None:
            raise ValueError("duration_s is empty")
        methods = json.loads(row["methods"] or "{}")
        if not isinstance(methods, dict):
            raise ValueError("methods is not a JSON object")
        span, phase = row["span"], row["phase"]
        if not isinstance(span, str) or not isinstance(phase, str) or not phase:
            raise ValueError("no span or phase")
        return EnergyRow(span=span, phase=phase, methods=methods, **values)
    except (KeyError, TypeError, ValueError, RecursionError) as error:
        raise GMError(f"{where} is corrupt: {one_line(error)}") from None


TEST_SCORE_FIELDS = ("dataset", "network_index", "arch", "accuracy", "evolved")


@dataclass(frozen=True)
class TestScoreRow:
    """One network of the held-out test sample (``test_scores.csv``): its scores and accuracy.

    Attributes
    ----------
    dataset : str
        The dataset whose accuracy is the ground truth.
    network_index : int
        The network's index in the benchmark table.
    arch : str
        The architecture string.
    accuracy : float
        Ground-truth accuracy (the benchmark's column for ``dataset``).
    evolved : float
        The evolved (best) proxy's score.
    baselines : mapping of str to float
        Every baseline's score (NaN where a baseline is undefined for the network).
    """

    __test__ = False  # not a pytest test class

    dataset: str
    network_index: int
    arch: str
    accuracy: float
    evolved: float
    baselines: Mapping[str, float] = field(default_factory=dict)

    def to_csv_row(self) -> dict[str, str]:
        """The ``test_scores.csv`` form (baseline columns after the fixed ones)."""
        row = {"dataset": self.dataset, "network_index": str(self.network_index), "arch": self.arch,
               "accuracy": repr(float(self.accuracy)), "evolved": repr(float(self.evolved))}
        row.update({name: repr(float(value)) for name, value in self.baselines.items()})
        return row

    @classmethod
    def from_csv_row(cls, row: Mapping[str, Any], where: str) -> "TestScoreRow":
        """Parse one ``test_scores.csv`` row; a bad row is a GMError naming ``where``."""
        try:
            dataset, arch = row["dataset"], row["arch"]
            if not isinstance(dataset, str) or not dataset or not isinstance(arch, str):
                raise ValueError("no dataset or arch")
            accuracy = float(row["accuracy"])
            if not math.isfinite(accuracy):
                raise ValueError(f"accuracy is {row['accuracy']!r}")
            baselines = {name: float(text) for name, text in row.items()
                         if name not in TEST_SCORE_FIELDS and name is not None}
            return cls(dataset, int(row["network_index"]), arch, accuracy, float(row["evolved"]), baselines)
        except (KeyError, TypeError, ValueError) as error:
            raise GMError(f"{where} is corrupt: {one_line(error)}") from None
