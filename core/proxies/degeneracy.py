"""Degenerate proxy scores (non-finite, exactly zero, mostly tied, coarse) and the statistics behind them.

Called by :meth:`greenmachine.proxies.Proxy.scores_of` (so ``gm score`` and ``Proxy.score`` /
``Proxy.rank``), :func:`greenmachine.evaluation.evaluate.evaluate_saved_proxy` (``gm eval``) and
:func:`greenmachine.search.run.run_search` (``gm search``). A score that is NaN or infinite, exactly 0,
or equal to most of the other scores says nothing about the networks, and scores that take far fewer
values than the networks' statistics (:mod:`greenmachine.stats.resolution`) rank the rest
arbitrarily; the proxy's user must
be told, with the statistic that made it so (a statistic undefined for those networks, one
that is 0 or constant on them, or a formula that overflows on finite statistics).

Never prints: :func:`warn_if_degenerate` issues one :class:`DegenerateScoresWarning` through
the :mod:`warnings` module (the ``gm`` commands print it as one ``gm: warning:`` line) and
returns the :class:`Degeneracy` it found.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

from greenmachine.errors import GMWarning
from greenmachine.stats.resolution import distinct_count, distinct_rows, is_coarse, value_rows

if TYPE_CHECKING:  # pragma: no cover
    from greenmachine.stats.table import NetworkStatistics, StatisticTable

#: Scores are "mostly tied" when more than this fraction of them share one value.
TIED_FRACTION = 0.5
#: Networks named in a message before "and N more".
_NAMED = 4


class DegenerateScoresWarning(GMWarning):
    """A proxy's scores on the given networks are non-finite, exactly zero, mostly tied or coarse."""


@dataclass(frozen=True)
class Degeneracy:
    """What is degenerate about some scores, and why.

    Attributes
    ----------
    problems : tuple of str
        Some of ``"non-finite"``, ``"zero"``, ``"tied"``, ``"coarse"`` (far fewer distinct scores than
        networks whose statistics differ; :func:`greenmachine.stats.resolution.is_coarse`).
    statistics : tuple of str
        The statistics found to cause them (undefined, zero or constant where it happens).
    message : str
        One line for the user.
    """

    problems: tuple[str, ...]
    statistics: tuple[str, ...]
    message: str


def network_values(networks: Sequence["NetworkStatistics"], names: Iterable[str]) -> dict[str, list[np.ndarray]]:
    """Each statistic of ``names`` as one float64 array per network (network statistics: 1 value)."""
    values: dict[str, list[np.ndarray]] = {}
    for name in sorted(set(names)):
        column = []
        for stats in networks:
            value = stats.layer_statistics.get(name)
            if value is None:
                value = stats.network_statistics.get(name, np.nan)
            column.append(np.asarray(value, dtype=np.float64).reshape(-1))
        values[name] = column
    return values


def table_values(table: "StatisticTable", names: Iterable[str]) -> dict[str, list[np.ndarray]]:
    """As :func:`network_values`, from a stacked table (a network's padding left out)."""
    return table.unpadded_values(names)


def _names(labels: Sequence[str], positions: Sequence[int]) -> str:
    shown = [labels[p] for p in positions[:_NAMED]]
    more = len(positions) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _constant(column: list[np.ndarray], positions: Sequence[int]) -> bool:
    first = column[positions[0]]
    return all(column[p].shape == first.shape and np.array_equal(column[p], first) for p in positions[1:])


def _shown(value: float) -> str:
    return f"{value:.6g}"


def _non_finite_reason(positions, values, undefined, labels) -> tuple[str, list[str]]:
    """Why the scores at ``positions`` are not finite: undefined statistics, else the formula."""
    reasons: dict[tuple[str, str], list[int]] = {}
    for p in positions:
        for name, why in sorted((undefined[p] if undefined is not None else {}).items()):
            if name in values:
                reasons.setdefault((name, why), []).append(p)
    if reasons:
        parts, culprits = [], []
        by_reason: dict[tuple[str, tuple[int, ...]], list[str]] = {}
        for (name, why), where in reasons.items():
            by_reason.setdefault((why, tuple(where)), []).append(name)
        for (why, where), names in by_reason.items():
            parts.append(f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} undefined for "
                         f"{_names(labels, where)}: {why}")
            culprits.extend(names)
        return "; ".join(parts), culprits
    if not values:
        return "the formula reads no statistic", []
    largest = max(values, key=lambda name: max(float(np.max(np.abs(values[name][p]), initial=0.0)) for p in positions))
    peak = max(float(np.max(np.abs(values[largest][p]), initial=0.0)) for p in positions)
    return (f"its statistics are finite there, so the formula overflows or divides by zero (largest: "
            f"{largest}, |value| up to {_shown(peak)})"), [largest]


def diagnose(scores: Sequence[float], values: Mapping[str, Sequence[np.ndarray]], *,
             undefined: Sequence[Mapping[str, str]] | None = None, labels: Sequence[str] | None = None,
             scorer: str = "proxy") -> Degeneracy | None:
    """Find what is degenerate about ``scores`` and which statistic caused it.

    Parameters
    ----------
    scores : sequence of float
        One score per network.
    values : mapping of str -> sequence of numpy.ndarray
        The statistics the scorer reads, one array per network (see :func:`network_values`,
        :func:`table_values`).
    undefined : sequence of mapping, optional
        Per network, the statistics the probe could not define and why
        (:attr:`greenmachine.stats.table.NetworkStatistics.undefined`).
    labels : sequence of str, optional
        How to name each network (default ``network 0``, ``network 1``, ...).
    scorer : str
        How to name the scorer in the message (``proxy tss-cifar10``).

    Returns
    -------
    Degeneracy or None
        None when every score is finite, none is exactly 0, no value holds more than
        :data:`TIED_FRACTION` of them (ties need two or more networks) and the scores are not
        coarse (checked where they are not mostly tied already).
    """
    array = np.asarray(list(scores), dtype=np.float64).reshape(-1)
    count = len(array)
    if count == 0:
        return None
    labels = list(labels) if labels is not None else [f"network {n}" for n in range(count)]
    problems, culprits, parts = [], [], []
    bad = [int(p) for p in np.flatnonzero(~np.isfinite(array))]
    if bad:
        why, names = _non_finite_reason(bad, values, undefined, labels)
        kinds = sorted({"NaN" if np.isnan(array[p]) else "infinite" for p in bad})
        problems.append("non-finite")
        culprits.extend(names)
        parts.append(f"{len(bad)} of {count} scores are {' or '.join(kinds)}: {why}")
    zeros = [int(p) for p in np.flatnonzero(array == 0)]
    if zeros:
        zero_names = [name for name, column in values.items() if all(not np.any(column[p]) for p in zeros)]
        constant = [name for name, column in values.items() if name not in zero_names and len(zeros) > 1
                    and _constant(list(column), zeros)]
        problems.append("zero")
        culprits.extend(zero_names or constant)
        because = (f"{', '.join(zero_names)} {'is' if len(zero_names) == 1 else 'are'} 0 on "
                   f"{'it' if len(zeros) == 1 else 'all of them'}" if zero_names else
                   f"{', '.join(constant)} take{'s' if len(constant) == 1 else ''} one value on all of them"
                   if constant else "no statistic of the formula is 0 there: the formula cancels")
        parts.append(f"{len(zeros)} of {count} {'score is' if len(zeros) == 1 else 'scores are'} exactly 0 "
                     f"({_names(labels, zeros)}; {because})")
    finite = array[np.isfinite(array)]
    if count >= 2 and finite.size:
        tied_value, tied_count = max(((value, int((finite == value).sum())) for value in np.unique(finite)),
                                     key=lambda item: item[1])
        if tied_count > TIED_FRACTION * count and tied_count > 1 and not (tied_value == 0 and zeros):
            where = [int(p) for p in np.flatnonzero(array == tied_value)]
            constant = [name for name, column in values.items() if _constant(list(column), where)]
            problems.append("tied")
            culprits.extend(constant)
            because = (f"{', '.join(constant)} take{'s' if len(constant) == 1 else ''} one value on all of them"
                       if constant else "no statistic of the formula is constant on them: the formula saturates")
            parts.append(f"{tied_count} of {count} scores are tied at {_shown(float(tied_value))} "
                         f"({_names(labels, where)}; {because})")
    if "tied" not in problems and count >= 2:
        inputs = distinct_rows(value_rows(values, count))
        scores_taken = distinct_count(array)
        if is_coarse(scores_taken, inputs):
            top = float(np.max(np.abs(finite), initial=0.0))
            problems.append("coarse")
            parts.append(f"the scores take {scores_taken} distinct values over {inputs} networks whose statistics "
                         f"differ: the formula gives many of them one score (rounding, saturation or coinciding "
                         f"sums; |score| up to {_shown(top)}), so networks that share a score are ranked arbitrarily")
    if not parts:
        return None
    unique = tuple(dict.fromkeys(culprits))
    return Degeneracy(tuple(problems), unique, f"{scorer}: " + "; ".join(parts))


def warn_if_degenerate(scores: Sequence[float], values: Mapping[str, Sequence[np.ndarray]], *,
                       undefined: Sequence[Mapping[str, str]] | None = None, labels: Sequence[str] | None = None,
                       scorer: str = "proxy", stacklevel: int = 2) -> Degeneracy | None:
    """:func:`diagnose`, and one :class:`DegenerateScoresWarning` with its message when degenerate."""
    found = diagnose(scores, values, undefined=undefined, labels=labels, scorer=scorer)
    if found is not None:
        warnings.warn(DegenerateScoresWarning(found.message), stacklevel=stacklevel + 1)
    return found


__all__ = ["Degeneracy", "DegenerateScoresWarning", "TIED_FRACTION", "diagnose", "network_values", "table_values",
           "warn_if_degenerate"]
