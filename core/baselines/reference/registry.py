"""Registry of the reference baselines: published proxies as the authors' released code computes them.

Called by the baseline modules of :mod:`greenmachine.baselines.reference` (each registers its score
function at import time with :func:`register`), by :mod:`greenmachine.baselines.reference.compute`
(which runs them on networks and caches the values), by ``gm baselines --reference``,
``scripts/reference_baselines_tau.py`` and the tests.

A reference baseline is a function ``score(model, images, labels, seed) -> float`` of an
initialised ``torch.nn.Module`` and a real minibatch (as the probe gets them) with its
metadata beside it: the paper, the released code and the file followed, what the released
code does, and how the bank variant of :mod:`greenmachine.baselines.published` differs and why the bank
keeps its own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable

#: Increase whenever the computation of any reference baseline changes (it enters
#: :func:`reference_version` and so the cache key of :mod:`greenmachine.baselines.reference.cache`).
MANUAL_VERSION = 1

#: The modules that register reference baselines, in table order.
BASELINE_MODULES = ("fisher", "meco", "zico", "zen", "swap")

_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_FIELDS = ("paper", "code_url", "followed", "summary", "bank_difference")


@dataclass(frozen=True)
class ReferenceBaseline:
    """One published proxy computed as its authors' released code does.

    Attributes
    ----------
    name : str
        Snake_case name (``fisher``, ``swap_regularised``, ...).
    bank_baseline : str or None
        The name of the corresponding bank baseline in :data:`greenmachine.baselines.published.BASELINES`
        (None when the bank has none).
    paper : str
        The paper that defines it.
    code_url : str
        The authors' released code (repository URL).
    followed : str
        The file (and commit) of the released code this implementation follows.
    summary : str
        What the released code computes, in a few sentences.
    bank_difference : str
        How the bank variant differs, and why the bank keeps its own.
    function : Callable
        ``function(model, images, labels, seed) -> float``.
    derived_from : str or None
        Another reference baseline this one is a function of (computed on the same network).
    derive : Callable or None
        ``derive(model, value_of_derived_from) -> float``, equal to ``function``'s value; lets
        :mod:`greenmachine.baselines.reference.compute` skip a second expensive pass.
    """

    name: str
    bank_baseline: str | None
    paper: str
    code_url: str
    followed: str
    summary: str
    bank_difference: str
    function: Callable
    derived_from: str | None = None
    derive: Callable | None = None

    @property
    def label(self) -> str:
        """Row label in tables: ``"<name> (authors' code)"``."""
        return f"{self.name} (authors' code)"


_REGISTRY: dict[str, ReferenceBaseline] = {}


def register(name: str, *, bank_baseline: str | None, paper: str, code_url: str, followed: str,
             summary: str, bank_difference: str, derived_from: str | None = None,
             derive: Callable | None = None) -> Callable[[Callable], Callable]:
    """Decorator registering a reference baseline's score function under ``name``.

    Parameters
    ----------
    name : str
        Lowercase snake_case name, unique among reference baselines.
    bank_baseline : str or None
        The corresponding bank baseline (must exist in :data:`greenmachine.baselines.published.BASELINES`).
    paper, code_url, followed, summary, bank_difference : str
        Metadata (see :class:`ReferenceBaseline`); all non-empty, ``code_url`` an https URL.
    derived_from, derive : optional
        Both or neither: the registered baseline this one is a function of, and that function.

    Raises
    ------
    ValueError
        Bad or duplicate name, unknown bank baseline, empty metadata, a non-https code URL,
        a function that is not callable or has no docstring, ``derived_from`` without
        ``derive`` (or the reverse) or naming an unregistered baseline.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"reference baseline name {name!r} must be lowercase snake_case")
    values = dict(paper=paper, code_url=code_url, followed=followed, summary=summary,
                  bank_difference=bank_difference)
    empty = [field for field in _FIELDS if not isinstance(values[field], str) or not values[field].strip()]
    if empty:
        raise ValueError(f"reference baseline {name!r}: empty {', '.join(empty)}")
    if not code_url.startswith("https://"):
        raise ValueError(f"reference baseline {name!r}: code_url must be an https URL, got {code_url!r}")
    if (derived_from is None) != (derive is None):
        raise ValueError(f"reference baseline {name!r}: give both derived_from and derive, or neither")
    if derived_from is not None and (derived_from not in _REGISTRY or not callable(derive)):
        raise ValueError(f"reference baseline {name!r}: derived_from {derived_from!r} must be registered "
                         "first and derive callable")
    if bank_baseline is not None:
        from greenmachine.baselines.published import BASELINES

        if bank_baseline not in BASELINES:
            raise ValueError(f"reference baseline {name!r}: unknown bank baseline {bank_baseline!r}")

    def decorate(function: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"reference baseline {name!r} is already registered")
        if not callable(function):
            raise ValueError(f"reference baseline {name!r}: the score function is not callable")
        if not (getattr(function, "__doc__", None) or "").strip():
            raise ValueError(f"reference baseline {name!r}: the score function needs a docstring")
        _REGISTRY[name] = ReferenceBaseline(name, bank_baseline, paper, code_url, followed, summary,
                                            bank_difference, function, derived_from, derive)
        return function

    return decorate


def unregister(name: str) -> None:
    """Remove a reference baseline (used by tests that register temporary ones)."""
    _REGISTRY.pop(name, None)


def reference_baselines() -> dict[str, ReferenceBaseline]:
    """Return the registered reference baselines by name, in registration order."""
    _ensure_loaded()
    return dict(_REGISTRY)


def get_reference_baseline(name: str) -> ReferenceBaseline:
    """Return one reference baseline.

    Raises
    ------
    greenmachine.errors.GMError
        For an unknown name (the message lists the known ones).
    """
    from greenmachine.errors import GMError

    known = reference_baselines()
    if name not in known:
        raise GMError(f"unknown reference baseline {name!r}; known: {', '.join(known)}")
    return known[name]


def reference_version() -> str:
    """Return the reference-baselines version: manual version plus a hash of the names and followed files.

    Part of every cache key of :mod:`greenmachine.baselines.reference.cache`; independent of the
    probe's bank version.
    """
    text = "\n".join(f"{b.name}:{b.followed}" for b in sorted(reference_baselines().values(), key=lambda b: b.name))
    return f"{MANUAL_VERSION}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _ensure_loaded() -> None:
    # the baselines register themselves when their modules are imported
    import importlib

    for module in BASELINE_MODULES:
        importlib.import_module(f"greenmachine.baselines.reference.{module}")
