"""Reading the proxies of a run directory (or of a ``best_proxy.json`` file) for export.

Reads ``best_proxy.json``, ``hall_of_fame.csv`` and ``report.json`` (test τ) of a run and
its ``profile.toml`` (the ``[export] simplify_timeout``, through :mod:`greenmachine.settings.profile`).
Every proxy read is checked: a network-typed tree whose statistics are all in the probe's
statistic bank. Bad or missing files are one-line :class:`greenmachine.errors.GMError` naming the
file; a run without ``profile.toml`` uses the default time limit, a bad one is an error.
The readers stay small so that they can later go through ``greenmachine.rundir.directory``.

Called by the CLI's ``gm export`` and the TUI's export action (:func:`export_run`, through
:mod:`greenmachine.export`) and the tests. Never prints.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from greenmachine.errors import ArgumentError, GMError
from greenmachine.export.formats import get_format
from greenmachine.export.records import ProxyRecord, export_records
from greenmachine.export.simplify import DEFAULT_TIMEOUT
from greenmachine.rundir.directory import BEST_PROXY_FILE, HALL_OF_FAME_FILE, PROFILE_FILE, REPORT_JSON_FILE  # noqa: F401


def _float_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _test_taus(report: Mapping[str, Any] | None) -> dict:
    if not isinstance(report, Mapping) or not isinstance(report.get("test"), Mapping):
        return {}
    taus = {}
    for dataset, result in report["test"].items():
        evolved = result.get("evolved", {}) if isinstance(result, Mapping) else {}
        taus[str(dataset)] = _float_or_none(evolved.get("kendall_tau") if isinstance(evolved, Mapping) else None)
    return taus


def _read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GMError(f"{path} not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GMError(f"cannot read {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise GMError(f"{path} is not valid JSON: {error}") from None
    except RecursionError:
        raise GMError(f"{path} is not valid JSON: nested too deeply") from None


def _check_statistics(tree, where: Any) -> None:
    """Raise a one-line :class:`GMError` naming ``where`` (the file) if ``tree`` uses a statistic outside the bank."""
    from greenmachine.probe.registry import statistic_names

    layer, network = tree.statistics()
    for name in sorted(layer - set(statistic_names("layer", grasp=True))):
        raise GMError(f"{where}: proxy uses unknown per-layer statistic {name!r} (not in the probe's statistic bank)")
    for name in sorted(network - set(statistic_names("network", grasp=True))):
        raise GMError(f"{where}: proxy uses unknown network statistic {name!r} (not in the probe's statistic bank)")


def load_proxies(source: str | os.PathLike, top: int | None = None) -> list[ProxyRecord]:
    """The proxies of a run directory or a ``best_proxy.json`` file.

    Parameters
    ----------
    source : path
        A run directory, or a JSON file holding a ``"tree"`` (``report.json`` and
        ``hall_of_fame.csv`` are looked for next to it).
    top : int, optional
        Instead of the best proxy, the ``top`` hall-of-fame rows by validation τ.

    Raises
    ------
    GMError
        Missing or malformed files, ``top < 1``, a proxy using a statistic that is not in
        the probe's statistic bank.
    """
    from greenmachine.proxies import proxy_file
    from greenmachine.proxy.tree import check_proxy, tree_from_dict

    path = proxy_file(source)
    if not path.exists():
        raise GMError(f"{path} not found (give a run directory or a best_proxy.json file)")
    folder = path if path.is_dir() else path.parent
    proxy_path = folder / BEST_PROXY_FILE if path.is_dir() else path
    report_path = folder / REPORT_JSON_FILE
    report = _read_json_file(report_path) if report_path.exists() else None
    test_tau = _test_taus(report)
    if top is None:
        best = _read_json_file(proxy_path)
        if not isinstance(best, Mapping) or "tree" not in best:
            raise GMError(f"{proxy_path} holds no proxy tree (expected a \"tree\" field)")
        tree = tree_from_dict(best["tree"])
        check_proxy(tree)
        _check_statistics(tree, proxy_path)
        return [ProxyRecord(tree, "best proxy", _float_or_none(best.get("search_tau")),
                            _float_or_none(best.get("validation_tau")), test_tau, dict(best))]
    if top < 1:
        raise ArgumentError("{0} must be at least 1, got {value}", "top", value=top)
    hall_path = folder / HALL_OF_FAME_FILE
    try:
        with open(hall_path, encoding="utf-8", newline="") as stream:
            rows = list(csv.DictReader(stream))
    except FileNotFoundError:
        raise ArgumentError("{path} not found ({0} needs the run's hall of fame)", "top", path=hall_path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise GMError(f"cannot read {hall_path}: {error}") from None
    if not rows:
        raise GMError(f"{hall_path} has no proxies")
    best_tree = None
    if proxy_path.exists():
        best = _read_json_file(proxy_path)
        if isinstance(best, Mapping) and "tree" in best:
            best_tree = tree_from_dict(best["tree"])
    records = []
    for number, row in enumerate(rows, start=2):
        try:
            tree = tree_from_dict(json.loads(row.get("tree_json") or ""))
        except (json.JSONDecodeError, RecursionError) as error:
            raise GMError(f"{hall_path}:{number}: bad tree_json: {error}") from None
        check_proxy(tree)
        _check_statistics(tree, f"{hall_path}:{number}")
        records.append((tree, _float_or_none(row.get("tau_search")), _float_or_none(row.get("tau_validation"))))
    records.sort(key=lambda r: -math.inf if r[2] is None else r[2], reverse=True)
    return [
        ProxyRecord(tree, f"hall of fame #{rank}" + (" (best proxy)" if tree == best_tree else ""),
                    search, validation, test_tau if tree == best_tree else {})
        for rank, (tree, search, validation) in enumerate(records[:top], start=1)
    ]


def run_timeout(source: str | os.PathLike) -> float:
    """The run's ``[export] simplify_timeout``.

    Parameters
    ----------
    source : path
        A run directory, or a file in one (``profile.toml`` is looked for next to it).

    Returns
    -------
    float
        From the run's ``profile.toml``; :data:`DEFAULT_TIMEOUT` when there is none.

    Raises
    ------
    GMError
        (a ``ProfileError``) if ``profile.toml`` exists but cannot be read, is not TOML,
        or holds an unknown key or a bad value; the message names the file.
    """
    from greenmachine.settings.profile import load_profile

    from greenmachine.proxies import proxy_file

    path = proxy_file(source)
    profile_path = (path if path.is_dir() else path.parent) / PROFILE_FILE
    if not profile_path.exists():
        return DEFAULT_TIMEOUT
    return load_profile(str(profile_path)).export.simplify_timeout


#: The longest simplification time limit, in seconds (the profile's ``export.simplify_timeout`` has the same).
MAX_TIMEOUT = 3600.0


def export_run(source: str | os.PathLike, fmt: str, top: int | None = None,
               timeout: float | None = None) -> str:
    """Export a run's best proxy (or its ``top`` hall-of-fame proxies) as ``fmt``.

    Parameters
    ----------
    source : path
        A run directory or a ``best_proxy.json`` file (see :func:`load_proxies`).
    fmt : str
        A name in :data:`greenmachine.export.formats.FORMATS`.
    top : int, optional
        Export the ``top`` hall-of-fame proxies by validation τ instead of the best one.
    timeout : float, optional
        Simplification time limit per proxy; default: the run profile's
        ``export.simplify_timeout`` (see :func:`run_timeout`).

    Returns
    -------
    str

    Raises
    ------
    GMError
        Unknown format, missing or malformed files, unknown statistics, bad profile, a
        ``timeout`` that is not from 0 to :data:`MAX_TIMEOUT` seconds (nan, inf).
    """
    if timeout is not None and not (timeout >= 0 and timeout <= MAX_TIMEOUT):
        raise GMError(f"the simplification time limit must be from 0 to {MAX_TIMEOUT:g} seconds, got {timeout}")
    get_format(fmt)
    records = load_proxies(source, top)
    return export_records(records, fmt, run_timeout(source) if timeout is None else timeout)
