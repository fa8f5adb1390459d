"""Atomic file writes: readers see the old file or the whole new one, never a part.

Called by the run directory (:mod:`core.rundir`), the probe cache
(:mod:`core.probe.cache`) and the importers (:mod:`core.importers`). The data goes to a
temporary file in the same folder (``.<name>.<random>.tmp``), is flushed and fsynced, and
replaces the target with ``os.replace``; on any failure (a full disk, an interrupt) the
temporary file is removed and the error propagates.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


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
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path) as stream:
        stream.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_writer(path, binary=False) as stream:
        stream.write(text)


__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_writer"]
