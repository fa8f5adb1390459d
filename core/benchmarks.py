"""NATS-Bench ground truth: the TSS and SSS tables of trained accuracies.

Called by the samplers and fitness (to rank networks), by the probe (to enumerate
architectures), by the importers (which write tables in the format read here), by
``core.datacheck`` and by the CLI (``gm data check``) at every start, so loading is fast
(a plain ``csv`` pass over the gzip table, converted with numpy) and cached in-process.

Table format (see ``shared/data/PROVENANCE.md``): one gzip CSV per space, ``index`` equal
to the official NATS-Bench index ``0..N-1`` in order. TSS needs ``arch_str``,
``<dataset>_test_acc`` and ``params_MB_<dataset>``; SSS needs ``channels`` and the three
90-epoch validation-type columns listed in :data:`METRIC_COLUMNS`.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

from core import datadir as _datadir
from core.datadir import SSS_TABLE, TSS_TABLE
from core.errors import DataFileError, GMError

SPACES = ("tss", "sss")
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")

#: Number of architectures of each space.
SPACE_SIZES = {"tss": 15625, "sss": 32768}

#: File name of each space's table in the data directory.
TABLE_FILES = {"tss": TSS_TABLE, "sss": SSS_TABLE}

#: Column holding the architecture string of each space.
ARCH_COLUMNS = {"tss": "arch_str", "sss": "channels"}

#: Ground-truth accuracy column per space and dataset.
METRIC_COLUMNS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "tss": MappingProxyType({ds: f"{ds}_test_acc" for ds in DATASETS}),
        "sss": MappingProxyType(
            {
                "cifar10": "cifar10-valid_valid_acc_90ep",
                "cifar100": "cifar100_acc_90ep",
                "ImageNet16-120": "ImageNet16-120_acc_90ep",
            }
        ),
    }
)

#: Parameter-count columns (millions), TSS only.
PARAMS_COLUMNS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "tss": MappingProxyType({ds: f"params_MB_{ds}" for ds in DATASETS}),
        "sss": MappingProxyType({}),
    }
)

#: What the ground truth of each space is, for reports.
CAVEATS = {
    "tss": (
        "NATS-Bench TSS ground truth: test accuracy after 200 epochs, mean over seeds "
        "(cifar10 trained on train+valid)."
    ),
    "sss": (
        "NATS-Bench SSS ground truth: validation-type accuracy after 90 epochs, single "
        "training run (cifar10-valid x-valid, half-test-set splits for cifar100 and "
        "ImageNet16-120) - noisier than the seed-averaged TSS test accuracies."
    ),
}

# Sentinel: "use the official row count of the space".
_OFFICIAL = object()


def _check_space(space: str) -> str:
    if space not in SPACES:
        raise GMError(f"unknown search space {space!r}; valid spaces: {', '.join(SPACES)}")
    return space


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, eq=False)
class Benchmark:
    """Ground truth of one NATS-Bench search space.

    Attributes
    ----------
    space : str
        ``"tss"`` or ``"sss"``.
    indices : numpy.ndarray
        Official architecture indices (int64), ``0..N-1``.
    arch_strings : tuple of str
        TSS ``arch_str`` (``|op~0|+|...|``) or SSS channel string (``8:16:24:32:64``).
    accuracies : Mapping[str, numpy.ndarray]
        Dataset name -> float64 accuracy (percent) of every architecture.
    metric_columns : Mapping[str, str]
        Dataset name -> the table column the accuracies come from.
    params_millions : Mapping[str, numpy.ndarray]
        Dataset name -> parameter count in millions (TSS only; empty for SSS).
    caveat : str
        One sentence saying what the ground truth is, for reports.
    source : pathlib.Path
        The table file it was read from.

    Notes
    -----
    Arrays are read-only. Equality and hashing are by identity (``eq=False``), so a
    ``Benchmark`` can key caches; :func:`load_benchmark` returns the same object per file.
    """

    space: str
    indices: np.ndarray
    arch_strings: tuple[str, ...]
    accuracies: Mapping[str, np.ndarray]
    metric_columns: Mapping[str, str]
    params_millions: Mapping[str, np.ndarray]
    caveat: str
    source: Path
    _lookup: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lookup", {a: i for i, a in enumerate(self.arch_strings)})

    def __len__(self) -> int:
        return len(self.arch_strings)

    def accuracy(self, dataset: str) -> np.ndarray:
        """Return the ground-truth accuracies (percent, float64) for ``dataset``.

        Raises
        ------
        GMError
            If ``dataset`` is not one of :data:`DATASETS`.
        """
        try:
            return self.accuracies[dataset]
        except KeyError:
            raise GMError(
                f"unknown dataset {dataset!r} for NATS-Bench {self.space.upper()}; "
                f"valid datasets: {', '.join(self.accuracies)}"
            ) from None

    def params(self, dataset: str) -> np.ndarray:
        """Return parameter counts in millions for ``dataset`` (TSS only).

        Raises
        ------
        GMError
            For SSS (no parameter column) or an unknown dataset.
        """
        if not self.params_millions:
            raise GMError(f"NATS-Bench {self.space.upper()} table has no parameter counts")
        try:
            return self.params_millions[dataset]
        except KeyError:
            raise GMError(
                f"unknown dataset {dataset!r}; valid datasets: {', '.join(self.params_millions)}"
            ) from None

    def arch(self, index: int) -> str:
        """Return the architecture string of official index ``index``.

        Raises
        ------
        GMError
            If ``index`` is outside ``0..N-1``.
        """
        n = len(self.arch_strings)
        i = int(index)
        if not 0 <= i < n:
            raise GMError(f"architecture index {index} out of range 0..{n - 1} for {self.space}")
        return self.arch_strings[i]

    def index_of(self, arch_string: str) -> int:
        """Return the official index of ``arch_string``.

        Raises
        ------
        GMError
            If the string is not an architecture of this space.
        """
        try:
            return self._lookup[arch_string]
        except KeyError:
            raise GMError(
                f"architecture {arch_string!r} is not in NATS-Bench {self.space.upper()}"
            ) from None


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Decompress and parse the CSV; every I/O or format problem becomes DataFileError."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        text = gzip.decompress(raw).decode("utf-8")
    except FileNotFoundError:
        raise DataFileError(
            f"data file {path.name!r} not found in {path.parent}"
        ) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFileError(
            f"data file {path.name!r} in {path.parent} is truncated or not a valid gzip file "
            f"({type(exc).__name__}: {exc}); replace it with a fresh copy"
        ) from None
    except UnicodeDecodeError:
        raise DataFileError(f"data file {path.name!r} in {path.parent} is not UTF-8 text") from None
    except OSError as exc:
        raise DataFileError(f"cannot read data file {path.name!r} in {path.parent}: {exc}") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise DataFileError(f"data file {path.name!r} in {path.parent} is not valid CSV: {exc}") from None
    if not rows:
        raise DataFileError(f"data file {path.name!r} in {path.parent} is empty")
    return rows[0], rows[1:]


def _float_column(path: Path, rows: list[list[str]], col: int, name: str) -> np.ndarray:
    try:
        return np.array([r[col] for r in rows], dtype=np.float64)
    except (ValueError, IndexError):
        raise DataFileError(
            f"data file {path.name!r} in {path.parent}: column {name!r} has a missing or "
            f"non-numeric value"
        ) from None


def read_table(path: Path | str, space: str, expected_rows: int | None | object = _OFFICIAL) -> Benchmark:
    """Read and validate one benchmark table (no caching).

    Parameters
    ----------
    path : Path or str
        The gzip CSV table.
    space : str
        ``"tss"`` or ``"sss"``: decides the required columns.
    expected_rows : int or None, optional
        Required number of rows; by default the official size of the space (15625 / 32768);
        ``None`` skips the check (tables written from a fake API in tests).

    Returns
    -------
    Benchmark

    Raises
    ------
    DataFileError
        Missing or unreadable file, truncated gzip, missing column, wrong row count, index
        not ``0..N-1`` in order, or an accuracy that is non-finite or outside [0, 100].
    """
    space = _check_space(space)
    path = Path(path)
    if expected_rows is _OFFICIAL:
        expected_rows = SPACE_SIZES[space]
    header, rows = _read_rows(path)
    where = f"data file {path.name!r} in {path.parent}"

    metric_cols = METRIC_COLUMNS[space]
    params_cols = PARAMS_COLUMNS[space]
    required = ["index", ARCH_COLUMNS[space], *metric_cols.values(), *params_cols.values()]
    pos = {name: i for i, name in enumerate(header)}
    missing = [c for c in required if c not in pos]
    if missing:
        raise DataFileError(f"{where} lacks column(s) {', '.join(missing)}")
    if expected_rows is not None and len(rows) != expected_rows:
        raise DataFileError(
            f"{where} has {len(rows)} rows, expected {expected_rows} for NATS-Bench {space.upper()}"
        )
    if not rows:
        raise DataFileError(f"{where} has no rows")
    width = len(header)
    for k, r in enumerate(rows):
        if len(r) != width:
            raise DataFileError(f"{where}: row {k + 2} has {len(r)} fields, header has {width}")

    try:
        indices = np.array([r[pos["index"]] for r in rows], dtype=np.int64)
    except ValueError:
        raise DataFileError(f"{where}: column 'index' has a non-integer value") from None
    if not np.array_equal(indices, np.arange(len(rows), dtype=np.int64)):
        bad = int(np.flatnonzero(indices != np.arange(len(rows)))[0])
        raise DataFileError(
            f"{where}: column 'index' must be 0..{len(rows) - 1} in order (row {bad + 2} has {indices[bad]})"
        )

    arch_col = pos[ARCH_COLUMNS[space]]
    arch_strings = tuple(r[arch_col] for r in rows)

    accuracies = {}
    for ds, col in metric_cols.items():
        acc = _float_column(path, rows, pos[col], col)
        if not np.all(np.isfinite(acc)) or acc.min() < 0.0 or acc.max() > 100.0:
            raise DataFileError(f"{where}: column {col!r} has values that are not finite percentages in [0, 100]")
        acc.setflags(write=False)
        accuracies[ds] = acc

    params = {}
    for ds, col in params_cols.items():
        p = _float_column(path, rows, pos[col], col)
        if not np.all(np.isfinite(p)) or p.min() <= 0.0:
            raise DataFileError(f"{where}: column {col!r} has non-finite or non-positive values")
        p.setflags(write=False)
        params[ds] = p

    indices.setflags(write=False)
    return Benchmark(
        space=space,
        indices=indices,
        arch_strings=arch_strings,
        accuracies=_frozen(accuracies),
        metric_columns=_frozen(metric_cols),
        params_millions=_frozen(params),
        caveat=CAVEATS[space],
        source=path,
    )


@functools.lru_cache(maxsize=8)
def _load_cached(space: str, path: Path, mtime_ns: int, size: int) -> Benchmark:
    return read_table(path, space)


def load_benchmark(space: str, data_dir: Path | None = None) -> Benchmark:
    """Load the ground-truth table of ``space`` from the data directory.

    Cached in-process per (space, path, file mtime/size): a second call is free.

    Parameters
    ----------
    space : str
        ``"tss"`` (15625 cell topologies) or ``"sss"`` (32768 channel configurations).
    data_dir : Path, optional
        Folder holding the table; defaults to :func:`core.datadir.data_dir`
        (``GM_DATA_DIR``).

    Returns
    -------
    Benchmark
        Read-only arrays of indices, arch strings, accuracies (and TSS parameter counts).

    Raises
    ------
    GMError
        Unknown space.
    DataFileError
        Missing or malformed table; one line naming the file and the folder.
    """
    _check_space(space)
    folder = Path(data_dir) if data_dir is not None else _datadir.data_dir()
    name = TABLE_FILES[space]
    path = folder / name
    try:
        st = path.stat()
    except OSError:
        raise DataFileError(
            f"data file {name!r} not found in {folder} (set GM_DATA_DIR to the folder that holds it)"
        ) from None
    if not path.is_file():
        raise DataFileError(f"data file {name!r} in {folder} is not a regular file")
    return _load_cached(space, path.resolve(), st.st_mtime_ns, st.st_size)


__all__ = [
    "SPACES",
    "DATASETS",
    "SPACE_SIZES",
    "TABLE_FILES",
    "METRIC_COLUMNS",
    "PARAMS_COLUMNS",
    "CAVEATS",
    "Benchmark",
    "read_table",
    "load_benchmark",
]
