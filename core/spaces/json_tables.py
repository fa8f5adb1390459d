"""Reading a benchmark's own JSON file as a ground-truth table.

Called by the spaces whose data file is the benchmark's published JSON, gzipped
(:mod:`greenmachine.spaces.macro`, :mod:`greenmachine.spaces.nb101`): their
:meth:`~greenmachine.spaces.base.SearchSpace.table_rows` decode the file with :func:`read_json`
and turn it into the header and rows :func:`greenmachine.benchmark.tables.read_table` validates like any
CSV table. Also called by :mod:`greenmachine.benchmark.importers` to check a file before writing it.

Every problem is one :class:`greenmachine.errors.DataFileError` line naming the file.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from pathlib import Path
from typing import Any

from greenmachine.errors import DataFileError


def read_json(path: Path | str) -> Any:
    """Decode a JSON file, gzipped or not (the gzip magic bytes decide).

    Raises
    ------
    DataFileError
        Missing, unreadable, truncated gzip, not UTF-8 or not JSON; one line naming the file.
    """
    path = Path(path)
    where = f"data file {path.name!r} in {path.parent}"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"data file {path.name!r} not found in {path.parent}") from None
    except OSError as exc:
        raise DataFileError(f"cannot read {where}: {exc.strerror or exc}") from None
    try:
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        return json.loads(text.decode("utf-8"))
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFileError(f"{where} is truncated or not a valid gzip file ({type(exc).__name__}); "
                            "replace it with a fresh copy") from None
    except UnicodeDecodeError:
        raise DataFileError(f"{where} is not UTF-8 text") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DataFileError(f"{where} is not valid JSON ({type(exc).__name__}: {exc})") from None


def finite_number(value: Any, where: str) -> float:
    """Return ``value`` as a finite float.

    Raises
    ------
    DataFileError
        ``value`` is not a real number (booleans excluded) or is not finite; ``where``
        names the file and the entry.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataFileError(f"{where} is {value!r}, not a finite number")
    return float(value)


def number_text(value: float) -> str:
    """Write a float so that :func:`float` reads back exactly the same value."""
    return repr(float(value))


__all__ = ["finite_number", "number_text", "read_json"]
