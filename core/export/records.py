"""Proxies to export with what is known of them, and the format-independent export entry points.

:func:`export_records` simplifies every proxy (:mod:`greenmachine.export.simplify`) and hands them
to the registered format (:mod:`greenmachine.export.formats`); :func:`simplified_text` /
:func:`simplified_texts` give the one-line simplified formula for ``report.md`` and the hall
of fame's ``simplified`` column.

Called by the engine (``simplified_texts``), :mod:`greenmachine.export.source` (``export_run``),
the TUI's export action (``export_proxy``) and the tests, through :mod:`greenmachine.export`.
Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from greenmachine.errors import GMError
from greenmachine.export.formats import get_format
from greenmachine.export.forms import one_line
from greenmachine.export.simplify import DEFAULT_TIMEOUT, simplify_expression, simplify_many


@dataclass(frozen=True)
class ProxyRecord:
    """A proxy to export with what is known of it.

    Attributes
    ----------
    tree : Node
        The proxy.
    label : str
        ``"best proxy"`` or ``"hall of fame #2"``...
    search_tau, validation_tau : float or None
        Kendall τ on the search / validation samples.
    test_tau : dict
        Dataset -> Kendall τ on the held-out test sample (empty when unknown).
    fields : dict
        Further JSON fields to carry (best_proxy.json's own).
    """

    tree: Any
    label: str = "proxy"
    search_tau: float | None = None
    validation_tau: float | None = None
    test_tau: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)

    def summary(self) -> str:
        """One line: label, size, validation and test τ."""
        parts = [f"{self.label}: size {self.tree.size}"]
        if self.search_tau is not None:
            parts.append(f"search τ {self.search_tau:.4f}")
        parts.append("validation τ " + ("n/a" if self.validation_tau is None else f"{self.validation_tau:.4f}"))
        if self.test_tau:
            parts.append("test τ " + ", ".join(
                f"{d} {'n/a' if t is None else f'{t:.4f}'}" for d, t in self.test_tau.items()))
        else:
            parts.append("test τ not measured")
        return "; ".join(parts)


def export_records(records: Sequence[ProxyRecord], fmt: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Export proxies (with their τ next to each) as one text in format ``fmt``.

    Parameters
    ----------
    records : sequence of ProxyRecord
        At least one proxy.
    fmt : str
        A name in :data:`greenmachine.export.formats.FORMATS`.
    timeout : float
        Simplification time limit per proxy, in seconds.

    Returns
    -------
    str

    Raises
    ------
    GMError
        Unknown format, no proxies, or an operator the Python export cannot write.
    """
    export_format = get_format(fmt)
    if not records:
        raise GMError("nothing to export")
    results = simplify_many([record.tree.to_sympy() for record in records], timeout)
    return export_format.write(records, results)


def export_proxy(tree, fmt: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Export one proxy tree as ``fmt`` (``text``, ``latex``, ``python`` or ``json``).

    Raises
    ------
    GMError
        Unknown format, or an operator the Python export cannot write.
    """
    return export_records([ProxyRecord(tree=tree, label="proxy")], fmt, timeout)


def simplified_text(tree, timeout: float = DEFAULT_TIMEOUT) -> str:
    """One-line simplified formula of ``tree`` (for report.md and the hall of fame).

    Falls back to the unsimplified sympy form on timeout or error (see
    :func:`greenmachine.export.simplify.simplify_expression`).
    """
    return one_line(simplify_expression(tree.to_sympy(), timeout).expression)


def simplified_texts(trees: Sequence[Any], timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """:func:`simplified_text` of many trees, sharing one simplification process."""
    return [one_line(r.expression) for r in simplify_many([t.to_sympy() for t in trees], timeout)]
