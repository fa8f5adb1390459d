"""Hardware cost of a space's networks (HW-NAS-Bench) and constraints on it.

Called by :mod:`greenmachine.search.run` (``gm search --constraint`` / ``--objective``) and the tests.
The table is the space's ``hardware_table_file`` (for TSS ``nats_tss_hw.csv.gz``: latency in
ms and energy in mJ per image on edge GPU, Raspberry Pi 4, Edge TPU, Pixel 3, Eyeriss and
FPGA; see ``PROVENANCE.md`` §5), found through :func:`greenmachine.datadir.data_file`. Its columns
are ``<dataset>_<metric>``; a metric is named with or without the dataset prefix. A value of
``-1`` means "not measured": such a network meets no constraint and has no cost.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from greenmachine.errors import GMError

_CONSTRAINT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


class HardwareError(GMError):
    """A hardware metric, constraint or table that cannot be used."""


@dataclass(frozen=True)
class HardwareTable:
    """The hardware metrics of every network of one space on one dataset.

    Attributes
    ----------
    dataset : str
        The dataset the metrics are of.
    metrics : Mapping[str, numpy.ndarray]
        Metric name (without the dataset prefix, e.g. ``edgegpu_energy``) -> float64 value
        per network, in table-index order; ``nan`` where the source has no measurement.
    source : pathlib.Path
        The table file.
    """

    dataset: str
    metrics: Mapping[str, np.ndarray]
    source: Path

    def metric(self, name: str) -> np.ndarray:
        """Values of metric ``name`` (with or without the ``<dataset>_`` prefix).

        Raises
        ------
        HardwareError
            Unknown metric (the message lists the known ones).
        """
        key = name[len(self.dataset) + 1:] if name.startswith(f"{self.dataset}_") else name
        if key not in self.metrics:
            raise HardwareError(f"unknown hardware metric {name!r} for {self.dataset}; known: "
                                f"{', '.join(self.metrics)}")
        return self.metrics[key]


@functools.lru_cache(maxsize=8)
def _read(path: Path, rows_expected: int | None) -> dict[str, np.ndarray]:
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        rows = list(csv.reader(io.StringIO(text)))
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, csv.Error) as error:
        raise HardwareError(f"hardware table {path} cannot be read: {type(error).__name__}") from None
    if not rows or "index" not in rows[0]:
        raise HardwareError(f"hardware table {path} has no 'index' column")
    header, body = rows[0], rows[1:]
    if rows_expected is not None and len(body) != rows_expected:
        raise HardwareError(f"hardware table {path} has {len(body)} rows, expected {rows_expected}")
    index = np.array([int(row[header.index("index")]) for row in body])
    if not np.array_equal(index, np.arange(len(body))):
        raise HardwareError(f"hardware table {path}: 'index' is not 0..N-1 in order")
    columns = {}
    for position, name in enumerate(header):
        if name in ("index", "arch_str"):
            continue
        try:
            values = np.array([float(row[position]) for row in body], dtype=np.float64)
        except (ValueError, IndexError):
            raise HardwareError(f"hardware table {path}: column {name!r} has a non-numeric value") from None
        values[values < 0] = np.nan  # -1: not measured
        values.setflags(write=False)
        columns[name] = values
    return columns


def load_hardware(space, dataset: str) -> HardwareTable:
    """Load the hardware table of ``space`` (a :class:`greenmachine.spaces.SearchSpace`) for ``dataset``.

    Raises
    ------
    HardwareError
        The space has no hardware table, or the table is malformed.
    greenmachine.errors.DataFileError
        The table file is missing (names the file and the folder searched).
    """
    from greenmachine.datadir import data_file

    if not space.hardware_table_file:
        raise HardwareError(f"{space.title or space.name} has no hardware cost table; "
                            "constraints and objectives need one (NATS-Bench TSS has HW-NAS-Bench's)")
    path = data_file(space.hardware_table_file)
    columns = _read(path, space.size)
    prefix = f"{dataset}_"
    metrics = {name[len(prefix):]: values for name, values in columns.items() if name.startswith(prefix)}
    if not metrics:
        raise HardwareError(f"hardware table {path} has no metrics for dataset {dataset!r}")
    return HardwareTable(dataset, metrics, path)


@dataclass(frozen=True)
class Constraint:
    """``metric OPERATOR bound``, e.g. ``edgegpu_energy <= 10``."""

    metric: str
    operator: str
    bound: float

    def __str__(self) -> str:
        return f"{self.metric}{self.operator}{self.bound:g}"

    def mask(self, table: HardwareTable) -> np.ndarray:
        """Boolean mask of the networks that meet the constraint (unmeasured ones do not)."""
        values = table.metric(self.metric)
        with np.errstate(invalid="ignore"):
            meets = {"<=": values <= self.bound, ">=": values >= self.bound,
                     "<": values < self.bound, ">": values > self.bound}[self.operator]
        return meets & np.isfinite(values)


def parse_constraint(text: str) -> Constraint:
    """Parse ``METRIC<=VALUE`` (also ``>=``, ``<``, ``>``).

    Raises
    ------
    HardwareError
        A malformed constraint (one line quoting it).
    """
    match = _CONSTRAINT.match(text or "")
    if match is None:
        raise HardwareError(f"malformed constraint {text!r}: expected METRIC<=VALUE (or >=, <, >), "
                            "e.g. edgegpu_energy<=10")
    metric, operator, number = match.groups()
    try:
        bound = float(number)
    except ValueError:
        raise HardwareError(f"malformed constraint {text!r}: {number!r} is not a number") from None
    if not np.isfinite(bound):
        raise HardwareError(f"malformed constraint {text!r}: the bound must be finite")
    return Constraint(metric, operator, bound)


def pareto_front(score: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Positions of the networks no other network beats on both higher score and lower cost.

    Networks with a non-finite score or cost are never on the front. Returned in order of
    increasing cost.
    """
    score = np.asarray(score, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    valid = np.flatnonzero(np.isfinite(score) & np.isfinite(cost))
    order = valid[np.lexsort((-score[valid], cost[valid]))]
    front, best = [], -np.inf
    for position in order:
        if score[position] > best:
            front.append(int(position))
            best = score[position]
    return np.array(front, dtype=np.int64)


__all__ = ["Constraint", "HardwareError", "HardwareTable", "load_hardware", "parse_constraint", "pareto_front"]
