"""The run directory: the contract between the engine and every reporter.

``runs/<id>/`` holds ``profile.toml`` (the resolved profile), ``events.jsonl`` (every
event, one JSON object per line), ``checkpoint.json`` (evolution state after the last
finished generation, for ``gm run --resume``), ``hall_of_fame.csv``, ``energy.csv`` (one
row per energy span), ``best_proxy.json``, ``test_scores.csv`` (every held-out test network's accuracy and scores),
``cost_front.csv`` (the cost-front candidates with their probe cost, ``greenmachine.report.cost_front``),
``report.json``, ``report.md`` and ``figures/`` (drawn by ``greenmachine.report.figures``). A zero-cost NAS
(``gm search``, ``greenmachine.search``) writes the same contract plus ``search.json`` (its settings),
which is how a search directory is told apart (:meth:`RunDirectory.is_search`).

:class:`RunDirectory` is the one owner of these files: the engine (``greenmachine.run.controller``), the
search (``greenmachine.search.run``) and their shared lifecycle (``greenmachine.run.lifecycle``) write
through it; ``gm report`` (``greenmachine.report.build``), ``gm eval`` (``greenmachine.evaluation.evaluate``), the TUI's
replay and the tests read through it. Every reader turns a missing, corrupt or wrongly
shaped file into one :class:`greenmachine.errors.GMError` line. Every whole-file write is atomic
(temp file + rename). The row types of its CSV files live in ``greenmachine.rundir.rows`` and are
re-exported here (:class:`HallOfFameRow` is the one hall-of-fame row type).
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from greenmachine.errors import GMError
from greenmachine.files import atomic_write_json, atomic_write_text, json_default  # noqa: F401  (re-exported)
from greenmachine.events import EnergySample, Event
from greenmachine.rundir.follow import EventFollower, parse_event_line
from greenmachine.rundir.rows import (
    ENERGY_FIELDS,
    HALL_OF_FAME_FIELDS,
    EnergyRow,
    TEST_SCORE_FIELDS,
    HallOfFameRow,
    TestScoreRow,
    energy_row_from_csv,
    one_line as _one_line,
)

PROFILE_FILE = "profile.toml"
EVENTS_FILE = "events.jsonl"
CHECKPOINT_FILE = "checkpoint.json"
HALL_OF_FAME_FILE = "hall_of_fame.csv"
ENERGY_FILE = "energy.csv"
BEST_PROXY_FILE = "best_proxy.json"
REPORT_JSON_FILE = "report.json"
REPORT_MD_FILE = "report.md"
TEST_SCORES_FILE = "test_scores.csv"
COST_FRONT_FILE = "cost_front.csv"
FIGURES_FOLDER = "figures"
SEARCH_FILE = "search.json"


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
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise GMError(f"{path} is corrupt: {_one_line(error)}") from None
    except OSError as error:
        raise GMError(f"cannot read {path}: {error.strerror or error}") from None


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
        self._events.write(json.dumps(event.to_dict(), default=json_default) + "\n")
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


class RunDirectory:
    """The one reader and writer of a run directory's files.

    Parameters
    ----------
    path : Path
        The run directory (it need not exist yet for writing).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, root: Path, profile_name: str) -> "RunDirectory":
        """Create a fresh ``root/<timestamp>-<profile>`` run directory."""
        return cls(new_run_dir(root, profile_name))

    @classmethod
    def open_or_create(cls, path: Path | None, root: Path, profile_name: str) -> "RunDirectory":
        """The run directory ``path`` (made when missing), or a fresh one under ``root`` when ``path`` is None."""
        if path is None:
            return cls.create(root, profile_name)
        directory = cls(path)
        directory.path.mkdir(parents=True, exist_ok=True)
        return directory

    def __fspath__(self) -> str:
        return str(self.path)

    def file(self, name: str) -> Path:
        """The path of one of the run directory's files."""
        return self.path / name

    # -- state --------------------------------------------------------------------------------

    def is_run_directory(self) -> bool:
        """Whether the folder holds a ``profile.toml`` (every run writes it first)."""
        return self.file(PROFILE_FILE).is_file()

    def has_checkpoint(self) -> bool:
        """Whether an evolution checkpoint exists."""
        return self.file(CHECKPOINT_FILE).is_file()

    def is_search(self) -> bool:
        """Whether ``gm search`` wrote the folder (it holds ``search.json``), not ``gm run``."""
        return self.file(SEARCH_FILE).is_file()

    def is_completed(self) -> bool:
        """Whether the run finished (its report was written)."""
        return self.file(REPORT_JSON_FILE).is_file()

    # -- profile.toml ---------------------------------------------------------------------------

    def write_profile(self, profile: Any) -> None:
        """Write the resolved profile (``Profile.to_toml``)."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.file(PROFILE_FILE), profile.to_toml())

    def read_profile(self) -> Any:
        """Read and validate ``profile.toml`` through ``greenmachine.settings.profile``."""
        from greenmachine.settings.profile import load_profile_text

        path = self.file(PROFILE_FILE)
        if not path.is_file():
            raise GMError(f"{self.path} is not a GreenMachine run directory (no {PROFILE_FILE})")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise GMError(f"{path} is corrupt: {_one_line(error)}") from None
        except OSError as error:
            raise GMError(f"cannot read {path}: {error.strerror or error}") from None
        try:
            return load_profile_text(text, str(path))
        except RecursionError:
            raise GMError(f"{path} is corrupt: nested too deeply") from None
        except GMError as error:
            message = str(error)
            if "\n" not in message and "\r" not in message:
                raise
            # a key or value of the file quoted in the message must not break the one line
            raise type(error)(message.replace("\r", "\\r").replace("\n", "\\n")) from None

    # -- search.json --------------------------------------------------------------------------

    def write_search_settings(self, settings: Mapping[str, Any]) -> None:
        """Write ``search.json``: the settings of a zero-cost NAS (``gm search``), which mark the folder as one."""
        atomic_write_json(self.file(SEARCH_FILE), settings)

    def read_search_settings(self) -> dict[str, Any]:
        """Read ``search.json`` (a JSON object); a missing or corrupt file is a GMError."""
        path = self.file(SEARCH_FILE)
        data = read_json(path)
        if not isinstance(data, dict):
            raise GMError(f"{path} holds no search settings")
        return data

    # -- events.jsonl and energy.csv -------------------------------------------------------------

    def open_writer(self) -> "RunDirectoryWriter":
        """An event sink appending to ``events.jsonl`` and ``energy.csv``."""
        return RunDirectoryWriter(self.path)

    def read_events(self, problems: list[str] | None = None) -> list[Event]:
        """Read every event of ``events.jsonl``.

        A torn last line (from a crash) is skipped. Any other corrupt line is a GMError, or,
        when ``problems`` is given, skipped with a one-line message appended to it.
        """
        path = self.file(EVENTS_FILE)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise GMError(f"{path} not found (is {self.path} a GreenMachine run directory?)") from None
        except UnicodeDecodeError as error:
            raise GMError(f"{path} is corrupt: {_one_line(error)}") from None
        except OSError as error:
            raise GMError(f"cannot read {path}: {error.strerror or error}") from None
        events = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                events.append(parse_event_line(line))
            except (TypeError, ValueError, RecursionError) as error:
                if number == len(lines):
                    if problems is not None:
                        problems.append(f"{path}:{number} is a torn last line (the run was cut short)")
                    break
                message = f"{path}:{number} is corrupt: {_one_line(error)}"
                if problems is None:
                    raise GMError(message) from None
                problems.append(message)
        return events

    def follow_events(self) -> "EventFollower":
        """A reader of the events appended to ``events.jsonl`` since its last read (a run being written)."""
        return EventFollower(self.file(EVENTS_FILE))

    def read_energy(self) -> list[EnergyRow]:
        """Read ``energy.csv`` (every span of every part of the run); absent file: no rows."""
        path = self.file(ENERGY_FILE)
        try:
            with open(path, encoding="utf-8", newline="") as stream:
                reader = csv.DictReader(stream)
                rows = list(reader)
                header = reader.fieldnames
        except FileNotFoundError:
            return []
        except (UnicodeDecodeError, csv.Error) as error:
            raise GMError(f"{path} is corrupt: {_one_line(error)}") from None
        except OSError as error:
            raise GMError(f"cannot read {path}: {error.strerror or error}") from None
        if header is not None and tuple(header) != ENERGY_FIELDS:
            raise GMError(f"{path} is corrupt: unexpected header")
        return [energy_row_from_csv(row, f"{path}:{number}") for number, row in enumerate(rows, start=2)]

    def probe_counts(self) -> dict[str, int]:
        """Networks handled and cache hits of the probe phase, summed over every part of the run,
        and the most ``workers`` / ``machines`` that probed in any part.

        Read from ``events.jsonl``: each part (a start or a resume) begins with ``RunStarted``
        and its last ``ProbeProgress`` holds its counts. Besides ``done`` and ``hits`` (sums
        over the parts: a network handled in two parts counts twice), the keys say what the
        run as a whole did: ``networks`` (the most networks one part handled: the run's
        sample), ``computed`` (networks the run probed itself, in any part) and ``unmetered``
        (of those, the ones probed after the last probe energy span of a part, i.e. in a part
        killed while probing: no energy row covers them).
        """
        from greenmachine.events import EnergySample, ProbeProgress, RunStarted

        totals = {"done": 0, "hits": 0, "workers": 1, "machines": 1, "networks": 0, "computed": 0, "unmetered": 0}
        last = None
        metered = 0  # networks computed in this part up to its last probe energy span
        for event in self.read_events(problems=[]) + [None]:
            if event is None or isinstance(event, RunStarted):
                if last is not None:
                    computed = max(0, int(last.done) - int(last.cache_hits))
                    totals["done"] += int(last.done)
                    totals["hits"] += int(last.cache_hits)
                    totals["networks"] = max(totals["networks"], int(last.done))
                    totals["computed"] += computed
                    totals["unmetered"] += max(0, computed - metered)
                    # the most workers and machines any part of the run probed with
                    totals["workers"] = max(totals["workers"], int(last.workers))
                    totals["machines"] = max(totals["machines"], int(last.machines))
                last, metered = None, 0
            elif isinstance(event, ProbeProgress):
                last = event
            elif isinstance(event, EnergySample) and event.phase == "probe" and last is not None:
                metered = max(0, int(last.done) - int(last.cache_hits))
        return totals

    # -- checkpoint.json ---------------------------------------------------------------------------

    def write_checkpoint(self, evolution_state: Mapping[str, Any]) -> None:
        """Write the evolution state after a finished generation (atomic)."""
        atomic_write_json(self.file(CHECKPOINT_FILE), {"evolution": evolution_state})

    def read_checkpoint(self) -> dict[str, Any]:
        """Return the evolution state of ``checkpoint.json`` (its shape is checked on restore)."""
        path = self.file(CHECKPOINT_FILE)
        data = read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("evolution"), dict):
            raise GMError(f"{path} is not a GreenMachine checkpoint (no evolution state)")
        return data["evolution"]

    # -- hall_of_fame.csv ------------------------------------------------------------------------

    def write_hall_of_fame(self, rows: Iterable[HallOfFameRow | Mapping[str, Any]]) -> None:
        """Write ``hall_of_fame.csv`` (one row per size, PySR-style)."""
        write_hall_of_fame(self.file(HALL_OF_FAME_FILE), rows)

    def read_hall_of_fame(self) -> list[HallOfFameRow]:
        """Read ``hall_of_fame.csv``."""
        path = self.file(HALL_OF_FAME_FILE)
        header, rows = _read_csv(path)
        if header is None or not set(HALL_OF_FAME_FIELDS[:4]) <= set(header):
            raise GMError(f"{path} is corrupt: unexpected header")
        return [HallOfFameRow.from_csv_row(row, f"{path}:{number}") for number, row in enumerate(rows, start=2)]

    # -- cost_front.csv: the hall-of-fame row form plus on_front ---------------------------------

    def write_cost_front(self, rows: Iterable[HallOfFameRow], front: Iterable[HallOfFameRow]) -> None:
        """Write ``cost_front.csv``: every candidate with its probe cost, ``on_front`` 1 or 0."""
        on_front = {id(row) for row in front}
        write_hall_of_fame(self.file(COST_FRONT_FILE), [{**row.to_csv_row(), "on_front": str(int(id(row) in on_front))}
                                                        for row in rows], HALL_OF_FAME_FIELDS + ("on_front",))

    def read_cost_front(self) -> list[tuple[HallOfFameRow, bool]]:
        """Read ``cost_front.csv`` as (row, on the front) pairs."""
        path = self.file(COST_FRONT_FILE)
        header, rows = _read_csv(path, " (the run was made before the cost front was written)")
        if header is None or not {*HALL_OF_FAME_FIELDS[:4], "on_front"} <= set(header):
            raise GMError(f"{path} is corrupt: unexpected header")
        return [(HallOfFameRow.from_csv_row(row, f"{path}:{n}"), row["on_front"] == "1") for n, row in enumerate(rows, 2)]

    # -- test_scores.csv -------------------------------------------------------------------------

    def write_test_scores(self, rows: Iterable[TestScoreRow]) -> None:
        """Write ``test_scores.csv``: every test network's accuracy, evolved and baseline scores."""
        rows = list(rows)
        extra = list(dict.fromkeys(name for row in rows for name in row.baselines))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(TEST_SCORE_FIELDS) + extra, restval="nan")
        writer.writeheader()
        writer.writerows(row.to_csv_row() for row in rows)
        atomic_write_text(self.file(TEST_SCORES_FILE), buffer.getvalue())

    def has_test_scores(self) -> bool:
        """Whether ``test_scores.csv`` exists (runs made before it was written have none)."""
        return self.file(TEST_SCORES_FILE).is_file()

    def read_test_scores(self) -> list[TestScoreRow]:
        """Read ``test_scores.csv``; a missing or corrupt file is a GMError."""
        path = self.file(TEST_SCORES_FILE)
        header, rows = _read_csv(path, " (the run was made before test scores were saved)")
        if header is None or tuple(header[:len(TEST_SCORE_FIELDS)]) != TEST_SCORE_FIELDS:
            raise GMError(f"{path} is corrupt: unexpected header")
        return [TestScoreRow.from_csv_row(row, f"{path}:{number}") for number, row in enumerate(rows, start=2)]

    # -- best_proxy.json and the reports ---------------------------------------------------------

    def write_best_proxy(self, data: Mapping[str, Any]) -> None:
        """Write ``best_proxy.json``."""
        atomic_write_json(self.file(BEST_PROXY_FILE), data)

    def read_best_proxy(self) -> dict[str, Any]:
        """Read ``best_proxy.json``; it must hold a proxy ``tree`` object."""
        return read_proxy_file(self.file(BEST_PROXY_FILE))

    def write_report(self, report: Mapping[str, Any], markdown: str) -> None:
        """Write ``report.json`` and ``report.md``."""
        atomic_write_json(self.file(REPORT_JSON_FILE), report)
        atomic_write_text(self.file(REPORT_MD_FILE), markdown)

    def read_report(self) -> dict[str, Any]:
        """Read ``report.json`` (its data part must be a JSON object)."""
        path = self.file(REPORT_JSON_FILE)
        data = read_json(path)
        if not isinstance(data, dict):
            raise GMError(f"{path} is not a GreenMachine report")
        return data


def _read_csv(path: Path, missing_note: str = "") -> tuple[list[str] | None, list[dict[str, str]]]:
    """Read a run-directory CSV as (header, rows); every failure is one GMError line."""
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            reader = csv.DictReader(stream)
            rows = list(reader)
            return reader.fieldnames, rows
    except FileNotFoundError:
        raise GMError(f"{path} not found{missing_note}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise GMError(f"{path} is corrupt: {_one_line(error)}") from None
    except OSError as error:
        raise GMError(f"cannot read {path}: {error.strerror or error}") from None


def read_proxy_file(path: Path) -> dict[str, Any]:
    """Read a saved proxy (``best_proxy.json`` form): a JSON object with a ``tree`` object.

    Text fields that other commands use (``space``, ``datasets``, ``probe``) are checked for
    their type; the tree itself is checked when it is rebuilt (``greenmachine.proxy.tree``).
    """
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("tree"), dict):
        raise GMError(f"{path} holds no proxy tree")
    checks = {
        "space": lambda v: isinstance(v, str),
        "datasets": lambda v: isinstance(v, list) and all(isinstance(d, str) for d in v),
        "probe": lambda v: isinstance(v, dict)
        and all(isinstance(v.get(k, 0), int) and not isinstance(v.get(k, 0), bool) for k in ("batch_size", "seed")),
        "formula": lambda v: isinstance(v, str),
        "simplified": lambda v: isinstance(v, str),
    }
    for key, check in checks.items():
        if key in data and data[key] is not None and not check(data[key]):
            raise GMError(f"{path}: '{key}' has the wrong type")
    return data


def write_hall_of_fame(path: Path, rows: Iterable[HallOfFameRow | Mapping[str, Any]],
                       fields: tuple[str, ...] = HALL_OF_FAME_FIELDS) -> None:
    """Write ``hall_of_fame.csv`` (one row per size, PySR-style), or rows of that form with ``fields``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        if isinstance(row, HallOfFameRow):
            writer.writerow(row.to_csv_row())
        else:
            writer.writerow({key: row.get(key, "") for key in fields})
    atomic_write_text(path, buffer.getvalue())
