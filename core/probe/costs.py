"""What each probe pass costs per network, and so what a formula's probe costs.

The table lives in ``core/probe/pass_costs.json``, written by ``scripts/bench_passes.py
--write`` (one entry per space: seconds and joules per network of each pass at the
measured batch size on one torch thread, the whole default bank beside them, and the
context of the measurement: machine, load average, energy method and whether energy was
measured or estimated, date and the command). A formula's probe cost is the sum of the
passes its statistics need (:func:`greenmachine.probe.engine.passes_for`, the structure pass always
included), which is what lazy probing (``probe_model(only=...)``) spends on a new network.

Called by the evolution loop (the optional cost term of ``evolution.cost_weight``), the
hall-of-fame rows (``greenmachine.rundir.rows``), the report, the cost front figure, ``gm proxies``
and the profile validation (``greenmachine.settings.profile``). Never prints.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

from greenmachine.errors import GMError

#: The measured table (see the module docstring).
COSTS_FILE = Path(__file__).with_name("pass_costs.json")
FORMAT = 1


class ProbeCost(NamedTuple):
    """Probe cost of one formula per network: ``(seconds, joules, passes)``.

    ``joules`` is None when the table has no energy figure; ``passes`` are sorted.
    """

    seconds: float
    joules: float | None
    passes: tuple[str, ...]


@dataclass(frozen=True)
class SpaceCosts:
    """The measured pass costs of one space.

    Attributes
    ----------
    space : str
        The search space.
    passes : mapping of str to (seconds, joules)
        Per network, each pass alone (the structure pass included as its own entry).
    bank : (seconds, joules)
        Per network, the whole default bank in one probe.
    context : mapping
        dataset, batch, networks, threads, machine, load average, energy method, date, command.
    """

    space: str
    passes: Mapping[str, tuple[float, float | None]]
    bank: tuple[float, float | None]
    context: Mapping[str, Any]

    @property
    def energy_label(self) -> str:
        """``"measured"`` when every metered part was measured (RAPL, NVML), else ``"estimated"``."""
        methods = [str(how) for how in dict(self.context.get("energy_method") or {}).values()
                   if not str(how).startswith("absent")]
        return "measured" if methods and all(how.startswith("measured") for how in methods) else "estimated"

    def describe(self) -> str:
        """One line of context: batch, threads, networks, machine, load, energy method, date."""
        context = self.context
        machine = context.get("machine") or {}
        load = context.get("load_average") or {}
        return (f"{self.space.upper()} {context.get('dataset')}, batch {context.get('batch')}, "
                f"{context.get('threads')} thread, {context.get('networks')} networks, "
                f"{machine.get('cpu_model')} ({machine.get('cpu_count')} CPUs, load "
                f"{load.get('before')}->{load.get('after')}), energy {self.energy_label}, {context.get('date')}")


def _pair(data: Any, where: str) -> tuple[float, float | None]:
    if not isinstance(data, Mapping):
        raise GMError(f"{where} is not an object")
    seconds, joules = data.get("seconds_per_network"), data.get("joules_per_network")
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        raise GMError(f"{where}: seconds_per_network is {seconds!r}")
    if joules is not None and (not isinstance(joules, (int, float)) or not math.isfinite(joules) or joules < 0):
        raise GMError(f"{where}: joules_per_network is {joules!r}")
    return float(seconds), None if joules is None else float(joules)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": FORMAT, "spaces": {}}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GMError(f"{path} is corrupt: {str(error).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("spaces"), dict):
        raise GMError(f"{path} is not a pass-cost table (no 'spaces' object)")
    return data


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, SpaceCosts]:
    from greenmachine.probe.registry import PASSES

    tables = {}
    for space, entry in _read(Path(path))["spaces"].items():
        where = f"{path}: {space}"
        if not isinstance(entry, dict) or not isinstance(entry.get("passes"), dict):
            raise GMError(f"{where} has no 'passes' object")
        passes = {name: _pair(value, f"{where}.{name}") for name, value in entry["passes"].items()}
        missing = [name for name in PASSES if name not in passes]
        if missing:
            raise GMError(f"{where} lacks the pass(es) {', '.join(missing)}")
        tables[space] = SpaceCosts(space, passes, _pair(entry.get("bank"), f"{where}.bank"),
                                   dict(entry.get("context") or {}))
    return tables


def cost_tables(path: Path | None = None) -> dict[str, SpaceCosts]:
    """Return the measured pass costs of every space in the table, by space name.

    Raises
    ------
    GMError
        If the file is corrupt or an entry lacks a pass.
    """
    return dict(_load(str(path or COSTS_FILE)))


def space_costs(space: str, path: Path | None = None) -> SpaceCosts:
    """Return the pass costs of ``space``.

    Raises
    ------
    GMError
        If the table has no entry for the space (with the command that measures one).
    """
    tables = cost_tables(path)
    if space not in tables:
        raise GMError(f"no measured pass costs for space {space!r} (known: {', '.join(sorted(tables)) or 'none'}); "
                      f"measure them with: PYTHONPATH=. python scripts/bench_passes.py --space {space} --write")
    return tables[space]


def has_costs(space: str, path: Path | None = None) -> bool:
    """Whether the table has measured pass costs for ``space``."""
    return space in cost_tables(path)


def probe_cost(statistic_names: Iterable[str], space: str, path: Path | None = None) -> ProbeCost:
    """The probe cost per network of a formula reading ``statistic_names`` on ``space``.

    Parameters
    ----------
    statistic_names : iterable of str
        The statistics the formula reads (e.g. ``Proxy.statistics`` or the tree's).
    space : str
        The search space whose measured pass costs apply.
    path : Path, optional
        Another table (tests); default :data:`COSTS_FILE`.

    Returns
    -------
    ProbeCost
        ``(seconds, joules, passes)``: the sum over the passes the statistics need, the
        structure pass always included; joules None when the table has none.

    Raises
    ------
    GMError
        Unknown statistic, or no measured costs for the space.
    """
    from greenmachine.probe.engine import passes_for

    table = space_costs(space, path)
    passes = tuple(sorted(passes_for(set(statistic_names))))
    seconds = sum(table.passes[name][0] for name in passes)
    energies = [table.passes[name][1] for name in passes]
    joules = None if any(value is None for value in energies) else float(sum(energies))
    return ProbeCost(float(seconds), joules, passes)


def tree_cost(tree: Any, space: str, path: Path | None = None) -> ProbeCost:
    """:func:`probe_cost` of a proxy tree (``greenmachine.proxy.tree.Node``)."""
    layer, network = tree.statistics()
    return probe_cost(layer | network, space, path)


def write_space_costs(space: str, passes: Mapping[str, Mapping[str, Any]], bank: Mapping[str, Any],
                      context: Mapping[str, Any], path: Path | None = None) -> Path:
    """Store one space's pass costs in the table (other spaces kept); return the file.

    Called by ``scripts/bench_passes.py --write``. ``passes`` and ``bank`` map to
    ``{"seconds_per_network": s, "joules_per_network": J or None}``.
    """
    from greenmachine.files import atomic_write_text

    path = Path(path or COSTS_FILE)
    data = _read(path)
    data["format"] = FORMAT
    data["spaces"][space] = {
        "passes": {name: {"seconds_per_network": float(value["seconds_per_network"]),
                          "joules_per_network": value.get("joules_per_network")} for name, value in passes.items()},
        "bank": {"seconds_per_network": float(bank["seconds_per_network"]),
                 "joules_per_network": bank.get("joules_per_network")},
        "context": dict(context),
    }
    data["spaces"] = dict(sorted(data["spaces"].items()))
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    _load.cache_clear()
    return path


def proxy_cost_rows(proxies: Iterable[Any], path: Path | None = None) -> list[dict[str, Any]]:
    """The probe cost of each proxy against the whole bank, on its own space.

    Parameters
    ----------
    proxies : iterable of greenmachine.proxies.Proxy
        E.g. ``greenmachine.proxies.shipped_proxies()``.

    Returns
    -------
    list of dict
        ``name``, ``space``, ``passes``, ``seconds``, ``joules`` (per network),
        ``bank_seconds``, ``bank_joules`` (the whole default bank), ``seconds_ratio``,
        ``joules_ratio`` (proxy / bank) and ``energy_label``; proxies whose space has no
        measured costs are left out.
    """
    rows = []
    for proxy in proxies:
        if proxy.space is None or not has_costs(proxy.space, path):
            continue
        table = space_costs(proxy.space, path)
        cost = probe_cost(proxy.statistics, proxy.space, path)
        bank_seconds, bank_joules = table.bank
        rows.append({
            "name": proxy.name, "space": proxy.space, "passes": cost.passes,
            "seconds": cost.seconds, "joules": cost.joules, "bank_seconds": bank_seconds, "bank_joules": bank_joules,
            "seconds_ratio": cost.seconds / bank_seconds if bank_seconds > 0 else None,
            "joules_ratio": None if cost.joules is None or not bank_joules else cost.joules / bank_joules,
            "energy_label": table.energy_label,
        })
    return rows
