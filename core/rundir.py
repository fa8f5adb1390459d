"""The run directory: the contract between the engine and every reporter.

``runs/<id>/`` holds ``profile.toml`` (the resolved profile), ``events.jsonl`` (every
event, one JSON object per line), ``checkpoint.json`` (evolution state after the last
finished generation, for ``gm run --resume``), ``hall_of_fame.csv``, ``energy.csv`` (one
row per energy span), ``best_proxy.json``, ``report.json`` and ``report.md``.
Written by the engine (``core.engine``); read by ``gm report``, ``gm export``, the TUI's
replay and the tests. Every whole-file write is atomic (temp file + rename).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from core.errors import GMError
from core.events import EnergySample, Event, event_from_dict

PROFILE_FILE = "profile.toml"
EVENTS_FILE = "events.jsonl"
CHECKPOINT_FILE = "checkpoint.json"
HALL_OF_FAME_FILE = "hall_of_fame.csv"
ENERGY_FILE = "energy.csv"
BEST_PROXY_FILE = "best_proxy.json"
REPORT_JSON_FILE = "report.json"
REPORT_MD_FILE = "report.md"

HALL_OF_FAME_FIELDS = ("size", "tau_search", "tau_validation", "formula", "simplified", "tree_json")
ENERGY_FIELDS = (
    "span", "phase", "duration_s", "energy_joules", "energy_wh", "co2_grams",
    "cpu_joules", "ram_joules", "gpu_joules", "gpu_mean_watts", "methods",
)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (readers see the old or the new file)."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def new_run_dir(root: Path, profile_name: str) -> Path:
    """Create and return a fresh ``root/<timestamp>-<profile>`` folder."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        suffix = "" if attempt == 0 else f"-{attempt}"
        path = root / f"{stamp}-{profile_name}{suffix}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise GMError(f"cannot create a run directory under {root}")


def read_json(path: Path) -> Any:
    """Read a JSON file of a run directory; a missing or corrupt file is a GMError."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GMError(f"{path} not found (is {Path(path).parent} a GreenMachine run directory?)") from None
    except json.JSONDecodeError as error:
        raise GMError(f"{path} is corrupt: {error}") from None


class RunDirectoryWriter:
    """Event sink that appends every event to ``events.jsonl`` and energy spans to ``energy.csv``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._events = open(self.run_dir / EVENTS_FILE, "a", encoding="utf-8")
        energy_path = self.run_dir / ENERGY_FILE
        new = not energy_path.exists() or energy_path.stat().st_size == 0
        self._energy = open(energy_path, "a", encoding="utf-8", newline="")
        self._energy_writer = csv.DictWriter(self._energy, fieldnames=ENERGY_FIELDS)
        if new:
            self._energy_writer.writeheader()

    def __call__(self, event: Event) -> None:
        self._events.write(json.dumps(event.to_dict(), default=_json_default) + "\n")
        self._events.flush()
        if isinstance(event, EnergySample):
            self._energy_writer.writerow(
                {
                    "span": event.span,
                    "phase": event.phase,
                    "duration_s": f"{event.duration_s:.6f}",
                    "energy_joules": _format_optional(event.energy_joules),
                    "energy_wh": _format_optional(None if event.energy_joules is None else event.energy_joules / 3600.0),
                    "co2_grams": _format_optional(event.co2_grams),
                    "cpu_joules": _format_optional(event.cpu_joules),
                    "ram_joules": _format_optional(event.ram_joules),
                    "gpu_joules": _format_optional(event.gpu_joules),
                    "gpu_mean_watts": _format_optional(event.gpu_mean_watts),
                    "methods": json.dumps(dict(event.methods), sort_keys=True),
                }
            )
            self._energy.flush()

    def close(self) -> None:
        """Close the open files."""
        self._events.close()
        self._energy.close()


def _format_optional(value: float | None) -> str:
    return "" if value is None else f"{value:.9g}"


def read_events(run_dir: Path) -> list[Event]:
    """Read every event of a run directory (a torn last line, from a crash, is skipped)."""
    path = Path(run_dir) / EVENTS_FILE
    if not path.exists():
        raise GMError(f"{path} not found (is {run_dir} a GreenMachine run directory?)")
    events = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(event_from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError, ValueError) as error:
            if number == len(lines):
                break
            raise GMError(f"{path}:{number} is corrupt: {error}") from None
    return events


def write_hall_of_fame(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write ``hall_of_fame.csv`` (one row per size, PySR-style)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HALL_OF_FAME_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row.get(key, "") for key in HALL_OF_FAME_FIELDS})
    atomic_write_text(path, buffer.getvalue())


def read_hall_of_fame(path: Path) -> list[dict[str, str]]:
    """Read ``hall_of_fame.csv`` rows as dictionaries of strings."""
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            return list(csv.DictReader(stream))
    except FileNotFoundError:
        raise GMError(f"{path} not found") from None
