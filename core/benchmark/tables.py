"""NATS-Bench ground truth: the TSS and SSS tables of trained accuracies.

Called by the samplers and fitness (to rank networks), by the probe (to enumerate
architectures), by the importers (which write tables in the format read here), by
``greenmachine.benchmark.check`` and by the CLI (``gm data check``) at every start, so loading is fast
(a plain ``csv`` pass over the gzip table, converted with numpy) and cached in-process.

Table format (see ``shared/data/PROVENANCE.md``): one gzip CSV per space, ``index`` equal
to the official index ``0..N-1`` in order, the space's arch column, its ground-truth
accuracy column per dataset and its optional parameter-count columns. Which file and which
columns is the space's business (:class:`greenmachine.spaces.SearchSpace`); this module only reads
and validates. A space whose file is its benchmark's own JSON (NAS-Bench-Macro, NAS-Bench-101)
turns it into such rows itself (:meth:`~greenmachine.spaces.SearchSpace.table_rows`), and they are
validated the same way.
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

from greenmachine.datadir import data_file
from greenmachine.errors import DataFileError, GMError
from greenmachine.spaces import SearchSpace, get_space

# Sentinel: "use the official row count of the space".
_OFFICIAL = object()


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, eq=False)
class Benchmark:
    """Ground truth of one NATS-Bench search space.

    Attributes
    ----------
    space : str
        Name of the registered search space (see :attr:`search_space`).
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

    @property
    def search_space(self) -> SearchSpace:
        """The registered :class:`greenmachine.spaces.SearchSpace` of this table."""
        return get_space(self.space)

    def accuracy(self, dataset: str) -> np.ndarray:
        """Return the ground-truth accuracies (percent, float64) for ``dataset``.

        Raises
        ------
        GMError
            If ``dataset`` is not one of the space's datasets.
        """
        try:
            return self.accuracies[dataset]
        except (KeyError, TypeError):
            raise GMError(
                f"unknown dataset {dataset!r} for {self.search_space.title}; "
                f"valid datasets: {', '.join(self.accuracies)}"
            ) from None

    def params(self, dataset: str) -> np.ndarray:
        """Return parameter counts in millions for ``dataset`` (TSS only).

        Raises
        ------
        GMError
            For a space without parameter columns (SSS) or an unknown dataset.
        """
        if not self.params_millions:
            raise GMError(f"the {self.search_space.title} table has no parameter counts")
        try:
            return self.params_millions[dataset]
        except (KeyError, TypeError):
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
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise GMError(f"architecture index must be an integer, got {index!r}")
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
        except (KeyError, TypeError):  # TypeError: not hashable, so not an arch string
            raise GMError(
                f"architecture {arch_string!r} is not in {self.search_space.title}"
            ) from None


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Decompress and parse the CSV; every I/O or format problem becomes DataFileError."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" or path.suffix == ".gz" else raw).decode("utf-8")
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
        bad = next(k for k, r in enumerate(rows) if not _is_number(r[col] if col < len(r) else ""))
        raise DataFileError(
            f"data file {path.name!r} in {path.parent}: column {name!r} has a missing or "
            f"non-numeric value (row {bad + 2}: {rows[bad][col] if col < len(rows[bad]) else ''!r})"
        ) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(path: Path | str, space: str | SearchSpace,
               expected_rows: int | None | object = _OFFICIAL) -> Benchmark:
    """Read and validate one benchmark table (no caching).

    Parameters
    ----------
    path : Path or str
        The gzip CSV table.
    space : str or SearchSpace
        The registered space (or its name): decides the required columns.
    expected_rows : int or None, optional
        Required number of rows; by default the official size of the space
        (:attr:`SearchSpace.size`, none for spaces without one); ``None`` skips the check
        (tables written from a fake API in tests).

    Returns
    -------
    Benchmark

    Raises
    ------
    DataFileError
        Missing or unreadable file, truncated gzip, missing column, wrong row count, index
        not ``0..N-1`` in order, or an accuracy that is non-finite or outside [0, 100].
    """
    search_space = get_space(space)
    path = Path(path)
    if expected_rows is _OFFICIAL:
        expected_rows = search_space.size
    own_format = search_space.table_rows(path)
    header, rows = own_format if own_format is not None else _read_rows(path)
    where = f"data file {path.name!r} in {path.parent}"

    metric_cols = search_space.metric_columns
    params_cols = search_space.params_columns
    index_columns = ["index"] if search_space.indexed else []
    required = [*index_columns, search_space.arch_column, *metric_cols.values(), *params_cols.values()]
    pos = {name: i for i, name in enumerate(header)}
    missing = [c for c in required if c not in pos]
    if missing:
        raise DataFileError(f"{where} lacks column(s) {', '.join(missing)}")
    if expected_rows is not None and len(rows) != expected_rows:
        raise DataFileError(
            f"{where} has {len(rows)} rows, expected {expected_rows} for {search_space.title}"
        )
    if not rows:
        raise DataFileError(f"{where} has no rows")
    width = len(header)
    for k, r in enumerate(rows):
        if len(r) != width:
            raise DataFileError(f"{where}: row {k + 2} has {len(r)} fields, header has {width}")

    if not search_space.indexed:
        indices = np.arange(len(rows), dtype=np.int64)
    try:
        if search_space.indexed:
            indices = np.array([r[pos["index"]] for r in rows], dtype=np.int64)
    except ValueError:
        raise DataFileError(f"{where}: column 'index' has a non-integer value") from None
    if not np.array_equal(indices, np.arange(len(rows), dtype=np.int64)):
        bad = int(np.flatnonzero(indices != np.arange(len(rows)))[0])
        raise DataFileError(
            f"{where}: column 'index' must be 0..{len(rows) - 1} in order (row {bad + 2} has {indices[bad]})"
        )

    arch_col = pos[search_space.arch_column]
    arch_strings = tuple(r[arch_col] for r in rows)
    first_row: dict[str, int] = {}
    for k, arch in enumerate(arch_strings):
        if arch in first_row:
            raise DataFileError(f"{where}: architecture {arch!r} is listed twice (rows {first_row[arch] + 2} "
                                f"and {k + 2})")
        first_row[arch] = k

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
        space=search_space.name,
        indices=indices,
        arch_strings=arch_strings,
        accuracies=_frozen(accuracies),
        metric_columns=_frozen(metric_cols),
        params_millions=_frozen(params),
        caveat=search_space.caveat,
        source=path,
    )


@functools.lru_cache(maxsize=8)
def _load_cached(space: SearchSpace, path: Path, mtime_ns: int, size: int) -> Benchmark:
    return read_table(path, space)


def load_benchmark(space: str | SearchSpace, data_dir: Path | None = None) -> Benchmark:
    """Load the ground-truth table of ``space``.

    Cached in-process per (space, path, file mtime/size): a second call is free.

    Parameters
    ----------
    space : str or SearchSpace
        A registered space (or its name), e.g. ``"tss"`` (15625 cell topologies) or
        ``"sss"`` (32768 channel configurations).
    data_dir : Path, optional
        Folder holding the table (only there); by default the space finds it
        (:meth:`SearchSpace.table_path`, through :func:`greenmachine.datadir.data_file`:
        ``GM_DATA_DIR``, else the per-user folder, else the embedded copy).

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
    search_space = get_space(space)
    name = search_space.table_file
    path = Path(search_space.table_path() if data_dir is None else data_file(name, data_dir))
    try:
        st = path.stat()
    except OSError as exc:
        raise DataFileError(f"data file {name!r} at {path} is unreadable ({exc.strerror})") from None
    return _load_cached(search_space, path.resolve(), st.st_mtime_ns, st.st_size)


__all__ = ["Benchmark", "load_benchmark", "read_table"]
