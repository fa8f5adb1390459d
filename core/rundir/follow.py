"""Reading ``events.jsonl`` line by line while a run is still writing it.

Owned by :class:`greenmachine.rundir.directory.RunDirectory` (``follow_events``, and ``read_events`` parses each
line with :func:`parse_event_line`); the TUI's replay uses :class:`EventFollower` to watch a
run directory that ``gm run`` or ``gm search`` is writing in another process.
"""

from __future__ import annotations

import json
from pathlib import Path

from greenmachine.errors import GMError
from greenmachine.events import Event, event_from_dict
from greenmachine.rundir.rows import one_line


def parse_event_line(line: str) -> Event:
    """Rebuild one event from a line of ``events.jsonl``.

    Raises
    ------
    ValueError
        The line is not a JSON object or not an event (``json`` errors are ``ValueError`` too).
    """
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return event_from_dict(data)


class EventFollower:
    """The events appended to ``events.jsonl`` since the previous :meth:`read_new` call.

    Only whole lines (ending in a newline) are read: a line the writer has not finished yet
    is left for the next call. :meth:`torn_tail` says whether such a partial line remains.

    Parameters
    ----------
    path : Path
        The ``events.jsonl`` file (it may not exist yet).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        #: Bytes of the file consumed so far, and the number of whole lines among them.
        self.offset = 0
        self.lines = 0

    def _read_tail(self) -> bytes:
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self.offset)
                return stream.read()
        except FileNotFoundError:
            return b""
        except OSError as error:
            raise GMError(f"cannot read {self.path}: {error.strerror or error}") from None

    def read_new(self, problems: list[str]) -> list[Event]:
        """Return the events of the whole lines written since the last call.

        A corrupt line is skipped with a one-line message appended to ``problems``.
        """
        tail = self._read_tail()
        end = tail.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        events = []
        for raw in tail[:end].split(b"\n"):
            self.lines += 1
            if not raw.strip():
                continue
            try:
                events.append(parse_event_line(raw.decode("utf-8")))
            except (TypeError, ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
                problems.append(f"{self.path}:{self.lines} is corrupt: {one_line(error)}")
        return events

    def torn_tail(self) -> bool:
        """Whether the file ends in a partial line after what was read (a cut-short run, or a write in progress)."""
        return bool(self._read_tail().strip())
