"""Atomic file writes (text, bytes, JSON): readers see the old file or the whole new one, never a part.

Called by the run directory (:mod:`greenmachine.rundir.directory`), the probe cache
(:mod:`greenmachine.probe.cache`) and the importers (:mod:`greenmachine.benchmark.importers`). The data goes to a
temporary file in the same folder (``.<name>.<random>.tmp``), is flushed and fsynced, and
replaces the target with ``os.replace``; on any failure (a full disk, an interrupt) the
temporary file is removed and the error propagates, naming the file being written (not the
temporary file).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator, Mapping


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, binary: bool = True) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the block ends without error.

    Parameters
    ----------
    path : path
        The file to write (its folder must exist).
    binary : bool
        Binary stream (default) or UTF-8 text stream.
    """
    path = Path(path)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise _naming(error, path) from None
    try:
        with os.fdopen(descriptor, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _naming(error, path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _naming(error: OSError, path: Path) -> OSError:
    """The same error, naming the file being written rather than its temporary file.

    A full or read-only disk fails on the temporary file (or on a write with no file name);
    the user knows the target. An error that names another file is returned as it is.
    """
    if error.errno is None or (error.filename is not None and not str(error.filename).endswith(".tmp")):
        return error
    if path.is_dir():  # os.replace onto a folder: say which folder is in the way
        return IsADirectoryError(error.errno, f"{error.strerror} (a folder is in the way of the file)", str(path))
    return type(error)(error.errno, error.strerror, str(path))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path) as stream:
        stream.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_writer(path, binary=False) as stream:
        stream.write(text)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=json_default) + "\n")


def json_default(value: Any) -> Any:
    """Turn numpy arrays, sets, tuples, paths and mappings into JSON values (``json.dumps(default=...)``)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_write_text", "atomic_writer", "json_default"]
