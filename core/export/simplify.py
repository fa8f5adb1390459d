"""Simplification of a proxy's sympy form under a hard time limit, with its checks.

:func:`simplify_expression` / :func:`simplify_many` send the expression to the
simplification process of :mod:`greenmachine.export.worker` (cheap canonicalisations, then
``sympy.simplify``, level by level) and wait for its replies until the time limit; at the
limit the process is killed and the best form seen so far is kept (the cheaply
canonicalised one, else the original), and the result says so. A candidate form is kept
only if it is not larger than the original by ``sympy.count_ops``, has no per-layer term
outside an aggregation, and gives the same numbers as the original (relative difference
<= 1e-8 wherever the original is finite) on seeded synthetic networks spanning magnitudes
1e-8..1e30 with zeros and negatives -- mathematically equal forms can differ in float64
(``1/(1 + exp(-x))`` versus ``exp(x)/(exp(x) + 1)`` at ``x = 1e6``).

Called by :mod:`greenmachine.export.records` (every export format, and the engine's
``simplified_text(s)`` for report.md and the hall of fame) and the tests. Never prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from greenmachine.export.forms import aggregations_in, free_layer_terms, parse_srepr, statistic_names
from greenmachine.export.worker import TIMEOUT, WorkerPool

DEFAULT_TIMEOUT = 5.0
"""Default simplification time limit in seconds (``ExportSettings.simplify_timeout``)."""

VERIFY_RELATIVE_TOLERANCE = 1e-8
"""A simplified form must match the original within this relative difference."""


@dataclass(frozen=True)
class SimplifyResult:
    """Outcome of :func:`simplify_expression`.

    Attributes
    ----------
    expression : sympy.Expr
        The form to show: simplified, cheaply canonicalised, or the original.
    original : sympy.Expr
        The expression as given.
    status : str
        ``"simplified"`` (sympy finished and the form changed), ``"unchanged"`` (finished,
        nothing smaller and equal found), ``"timeout"`` (killed at the limit; fallback
        form), or ``"error: <message>"`` (fallback form).
    seconds : float
        Wall-clock seconds spent (process start-up included).
    form : str
        Which form ``expression`` is: ``"simplified"``, ``"canonical"`` (cheap
        canonicalisation only) or ``"original"``.
    detail : str
        Overrides :attr:`note` when set (e.g. ``"nothing to simplify"``).
    """

    expression: Any
    original: Any
    status: str
    seconds: float
    form: str = "original"
    detail: str = ""

    @property
    def note(self) -> str:
        """One line for users saying how the form was obtained."""
        if self.detail:
            return self.detail
        if self.status == "simplified":
            return f"simplified by sympy in {self.seconds:.1f} s"
        if self.status == "unchanged":
            return f"sympy found no smaller equivalent form in {self.seconds:.1f} s"
        shown = {"canonical": "the cheaply canonicalised form", "original": "the unsimplified form"}.get(
            self.form, "the unsimplified form")
        if self.status == "timeout":
            return f"sympy simplification stopped at the {self.seconds:.1f} s time limit; showing {shown}"
        return f"sympy simplification failed ({self.status[len('error: '):]}); showing {shown}"


def _sympy():
    import sympy

    return sympy


def _verification_tables(layer_names: Sequence[str], network_names: Sequence[str]):
    """Seeded synthetic networks with the expression's statistic names (moderate and extreme)."""
    from dataclasses import replace

    from greenmachine.proxy.generate import synthetic_table

    tables = []
    for seed, extreme in ((11, False), (12, True)):
        table = synthetic_table(
            num_networks=32, num_layer_statistics=max(len(layer_names), 1),
            num_network_statistics=max(len(network_names), 1), min_layers=1, max_layers=12,
            seed=seed, extreme=extreme,
        )
        tables.append(replace(
            table,
            layer_statistic_names=tuple(layer_names) or ("_unused_layer",),
            network_statistic_names=tuple(network_names) or ("_unused_network",),
        ))
    return tables


def same_numbers(candidate, original, tables=None) -> bool:
    """True if ``candidate`` gives ``original``'s values on synthetic networks.

    Relative difference <= :data:`VERIFY_RELATIVE_TOLERANCE` wherever the original is
    finite (and the candidate must be finite there too).

    Parameters
    ----------
    candidate, original : sympy.Expr
        Proxy sympy forms; ``candidate`` may use only ``original``'s statistics.
    tables : list of StatisticTable, optional
        The networks to compare on (default: seeded synthetic ones with those statistics).

    Returns
    -------
    bool
    """
    import numpy as np

    from greenmachine.proxy.tree import evaluate_sympy

    if tables is None:
        layer, network = statistic_names(original)
        layer2, network2 = statistic_names(candidate)
        if not set(layer2) <= set(layer) or not set(network2) <= set(network):
            return False
        tables = _verification_tables(layer, network)
    try:
        for table in tables:
            reference = evaluate_sympy(original, table)
            values = evaluate_sympy(candidate, table)
            finite = np.isfinite(reference)
            if not np.all(np.isfinite(values[finite])):
                return False
            if not np.all(np.isclose(values[finite], reference[finite], rtol=VERIFY_RELATIVE_TOLERANCE, atol=0.0)):
                return False
    except Exception:  # noqa: BLE001 - a form that cannot be evaluated is not kept
        return False
    return True


def _is_trivial(expr) -> bool:
    """Nothing to simplify: at most one operation (``snip``, ``LayerSum(snip[l])``)."""
    return _sympy().count_ops(expr) <= 1


def _accept(text: str, original, original_ops: int, namespace, tables) -> Any | None:
    """Parse a candidate and keep it only if it is no larger, well-formed and numerically equal."""
    sympy = _sympy()
    try:
        candidate = parse_srepr(text, namespace)
    except Exception:  # noqa: BLE001 - an unparsable reply is ignored
        return None
    if candidate == original:
        return candidate
    if sympy.count_ops(candidate) > original_ops or free_layer_terms(candidate):
        return None
    if not same_numbers(candidate, original, tables):
        return None
    return candidate


_CACHE: dict[str, SimplifyResult] = {}
_CACHE_SIZE = 512


def _remember(key: str, result: SimplifyResult) -> None:
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = result


def _simplify_with(pool: WorkerPool, expr, timeout: float, ident: int) -> SimplifyResult:
    """Simplify one expression with a process of ``pool`` (see :func:`simplify_expression`)."""
    sympy = _sympy()
    start = time.monotonic()
    deadline = start + float(timeout)
    original = sympy.sympify(expr)
    if _is_trivial(original):
        return SimplifyResult(original, original, "unchanged", time.monotonic() - start, "original",
                              "nothing to simplify")
    if timeout <= 0:
        return SimplifyResult(original, original, "timeout", 0.0, "original", "simplification skipped (no time allowed)")
    text = sympy.srepr(original)
    known = _CACHE.get(text)
    if known is not None:  # the seconds of the run that found it
        return SimplifyResult(known.expression, original, known.status, known.seconds, known.form)
    # start the process first: everything below overlaps with its start-up
    aggregations = aggregations_in(original)
    worker = pool.worker()
    worker.send({"id": ident, "srepr": text, "functions": sorted(aggregations)})
    from sympy.codegen.cfunctions import log1p

    namespace = {"log1p": log1p, **aggregations}
    original_ops = sympy.count_ops(original)
    layer, network = statistic_names(original)
    tables = None
    best, form = original, "original"
    while True:
        reply = worker.receive(deadline)
        if reply is TIMEOUT:
            pool.discard()
            status = "timeout"
            break
        if reply is None:
            code = worker.process.poll()
            pool.discard()
            status = f"error: the simplification process exited (status {code})"
            break
        if reply.get("id") != ident:
            continue
        stage = reply.get("stage")
        if stage == "error":
            status = f"error: {reply.get('message', 'unknown error')}"
            break
        if tables is None:
            tables = _verification_tables(layer, network)
        candidate = _accept(str(reply.get("srepr", "")), original, original_ops, namespace, tables)
        if candidate is not None and candidate != original:
            best, form = candidate, ("canonical" if stage == "canonical" else "simplified")
        if stage == "simplified":
            status = "simplified" if form != "original" else "unchanged"
            break
    result = SimplifyResult(best, original, status, time.monotonic() - start, form)
    if status in ("simplified", "unchanged"):
        _remember(text, result)
    return result


def simplify_expression(expr, timeout: float = DEFAULT_TIMEOUT) -> SimplifyResult:
    """Simplify a proxy's sympy form in a separate process under a hard time limit.

    Cheap canonicalisations (``powsimp``, ``cancel``) run first, then ``sympy.simplify``,
    all level by level (see the module docstring), in a fresh process. At ``timeout``
    seconds the process is killed; the result is then the cheaply canonicalised form if
    one arrived (and passed the checks), else the original. Returns within ``timeout``
    plus a few hundredths of a second (process start-up is counted inside the limit).
    Finished results are remembered (per process) by the expression's ``srepr``.

    Parameters
    ----------
    expr : sympy.Expr
        Typically ``tree.to_sympy()``.
    timeout : float
        Seconds; ``<= 0`` skips simplification (status ``"timeout"``).

    Returns
    -------
    SimplifyResult
    """
    pool = WorkerPool(spare=False)
    try:
        return _simplify_with(pool, expr, timeout, 0)
    finally:
        pool.close()


def simplify_many(expressions: Iterable[Any], timeout: float = DEFAULT_TIMEOUT) -> list[SimplifyResult]:
    """:func:`simplify_expression` on each expression, each with its own ``timeout``.

    One process serves them in turn; a warm spare replaces a process killed at a limit,
    so later expressions do not pay the start-up again.
    """
    expressions = list(expressions)
    pool = WorkerPool(spare=len(expressions) > 1)
    try:
        return [_simplify_with(pool, expr, timeout, ident) for ident, expr in enumerate(expressions)]
    finally:
        pool.close()
