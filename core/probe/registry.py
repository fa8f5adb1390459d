"""Registry of the probe's named statistics (the "statistic bank").

Called by :mod:`greenmachine.probe.statistics` (which registers every statistic at import time),
by :mod:`greenmachine.probe.engine` (which evaluates them after the passes), by the cache (whose
key contains :func:`bank_version`) and by the proxy language (which lists the names a
formula may use).

A statistic is one small function of a :class:`greenmachine.probe.passes.ProbeRecord` (the raw
reductions collected by the passes) that returns either a float64 array with one value per
weighted layer (kind ``"layer"``) or one float (kind ``"network"``). Each carries a
full-word snake_case name, a one-line docstring and the pass it needs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable

#: Kinds of statistics.
LAYER = "layer"
NETWORK = "network"
KINDS = (LAYER, NETWORK)

#: Passes a statistic may need (see :mod:`greenmachine.probe.passes`).
STRUCTURE = "structure"  # no forward pass: module shapes and counts
MAIN = "main"            # real minibatch, cross-entropy, shared forward/backward hooks
SYNFLOW = "synflow"      # |W| in float64, BatchNorm bypassed, all-ones input
NOISE = "noise"          # Gaussian input on a Gaussian-initialised copy (Zen-score)
GRASP = "grasp"          # exact Hessian-gradient product (double backward), opt-in
PASSES = (STRUCTURE, MAIN, SYNFLOW, NOISE, GRASP)
#: Passes that run only when asked for (``grasp=True``): they cost more than the rest of
#: the bank together (GraSP's double backward is ~3.5 plain forward+backward passes).
OPTIONAL_PASSES = (GRASP,)

#: Increase whenever the definition of any statistic or pass changes (it enters
#: :func:`bank_version` and so the cache key).
MANUAL_VERSION = 4

_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
#: Abbreviations refused in statistic names (names use full words).
_ABBREVIATIONS = frozenset({
    "act", "acts", "activ", "avg", "cnt", "cov_mat", "grd", "gr", "lyr", "num", "nb", "val",
    "wt", "wts", "w", "g", "a", "x", "tmp", "abs_val", "sq", "sqr", "pos", "neg",
})


@dataclass(frozen=True)
class Statistic:
    """One registered statistic.

    Attributes
    ----------
    name : str
        Full-word snake_case name, unique in the bank.
    kind : str
        ``"layer"`` (one value per weighted layer) or ``"network"`` (one value).
    needs : str
        The pass whose results it reads (one of :data:`PASSES`).
    doc : str
        One-line description (the function's docstring).
    function : Callable
        ``function(record) -> numpy.ndarray | float``.
    """

    name: str
    kind: str
    needs: str
    doc: str
    function: Callable


_REGISTRY: dict[str, Statistic] = {}


def validate_name(name: str) -> None:
    """Check that ``name`` is a snake_case name of full words.

    Raises
    ------
    ValueError
        If the name is not lowercase snake_case, or contains a known abbreviation.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"statistic name {name!r} must be lowercase snake_case (e.g. 'weight_l2_norm')")
    for part in name.split("_"):
        if part in _ABBREVIATIONS:
            raise ValueError(f"statistic name {name!r} uses the abbreviation {part!r}; use full words")


def register(name: str, kind: str, needs: str) -> Callable[[Callable], Callable]:
    """Decorator registering a statistic function under ``name``.

    Parameters
    ----------
    name : str
        Full-word snake_case name (validated by :func:`validate_name`).
    kind : str
        ``"layer"`` or ``"network"``.
    needs : str
        One of :data:`PASSES`.

    Raises
    ------
    ValueError
        Duplicate name, bad name, unknown kind or pass, or a missing docstring.
    """
    validate_name(name)
    if kind not in KINDS:
        raise ValueError(f"statistic {name!r}: kind must be one of {KINDS}, got {kind!r}")
    if needs not in PASSES:
        raise ValueError(f"statistic {name!r}: pass must be one of {PASSES}, got {needs!r}")

    def decorate(function: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"statistic {name!r} is already registered")
        doc = (function.__doc__ or "").strip().splitlines()
        if not doc or not doc[0].strip():
            raise ValueError(f"statistic {name!r} needs a one-line docstring")
        _REGISTRY[name] = Statistic(name, kind, needs, doc[0].strip(), function)
        return function

    return decorate


def unregister(name: str) -> None:
    """Remove a statistic (used by tests that register temporary ones)."""
    _REGISTRY.pop(name, None)


def registered(grasp: bool = True) -> dict[str, Statistic]:
    """Return the registered statistics by name, in registration order.

    ``grasp=False`` leaves out the statistics of the optional GraSP pass.
    """
    _ensure_loaded()
    return {name: s for name, s in _REGISTRY.items() if grasp or s.needs not in OPTIONAL_PASSES}


def statistic_names(kind: str | None = None, grasp: bool = False) -> list[str]:
    """Return the names of the bank's statistics (optionally of one kind), sorted.

    ``grasp=True`` includes the statistics of the optional GraSP pass (``grasp``,
    ``grasp_total``), which the probe computes only when asked to.
    """
    return sorted(s.name for s in registered(grasp).values() if kind is None or s.kind == kind)


def describe_statistics() -> list[tuple[str, str, str, str]]:
    """Return ``(name, kind, pass, docstring)`` of every registered statistic (the optional
    GraSP ones included), sorted by kind then name."""
    rows = [(s.name, s.kind, s.needs, s.doc) for s in registered(True).values()]
    return sorted(rows, key=lambda row: (row[1], row[0]))


def bank_version(grasp: bool = False) -> str:
    """Return the bank version: manual version plus a hash of every (name, kind, pass).

    It changes when a statistic is added, removed or renamed (hash) and when a definition
    changes (bump :data:`MANUAL_VERSION`). The bank with the optional GraSP pass has its own
    version. It is part of every cache key.
    """
    statistics = sorted(registered(grasp).values(), key=lambda s: s.name)
    text = "\n".join(f"{s.name}:{s.kind}:{s.needs}" for s in statistics)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{MANUAL_VERSION}-{digest}"


def _ensure_loaded() -> None:
    # The statistics register themselves when their module is imported.
    import greenmachine.probe.statistics  # noqa: F401
