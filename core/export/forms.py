"""Sympy forms of proxies, as the export sees them: parsing, inspection and display.

A per-layer statistic is ``snip[l]`` (an ``Indexed`` symbol, ``l`` the layer index), a
network statistic is a plain real symbol, and an aggregation over the layers of a network
is a ``LayerAggregation`` function such as ``LayerSum(log(Abs(snip[l]) + 1.0e-30))`` (see
:mod:`greenmachine.proxy.operators` and :mod:`greenmachine.proxy.tree`). This module parses ``srepr`` text
back into such forms, finds their statistics and aggregations, and holds what every
display shares: constants shown as short floats, the guard ``1e-30`` shown as ``ε``, the
legend lines, and the one-line text (:func:`one_line`: ``sum_l(...)``, ``max_l(...)``,
``|x|``) used by ``report.md``, the hall of fame and every export format.

Called by :mod:`greenmachine.export.simplify` (parsing and checking candidate forms, also inside
the simplification process), the format modules of :mod:`greenmachine.export.formats` and
:mod:`greenmachine.export.records`. Imports sympy only when a function runs, so the
simplification process starts fast. Never prints.
"""

from __future__ import annotations

from typing import Any, Mapping

LAYERS_TEXT = "l runs over the network's weighted layers, L of them (forward order)."
"""Legend line for expressions with aggregations or the layer count ``L``."""

EPSILON_TEXT = "ε = 1e-30 is the guard of the protected operators (log, division, reciprocal)."
"""Legend line for expressions using the protected operators' guard."""


def _sympy():
    import sympy

    return sympy


def _aggregation_forms() -> list[tuple[Any, type]]:
    """(operator, class of its sympy form) of every registered aggregation, in registration order."""
    from greenmachine.proxy.operators import AGGREGATION, LAYER_INDEX, LayerAggregation, operators

    sympy = _sympy()
    probe = sympy.IndexedBase("x", real=True)[LAYER_INDEX]
    forms = []
    for operator in operators(AGGREGATION):
        value = operator.sympy_function(probe)
        if isinstance(value, LayerAggregation):
            forms.append((operator, type(value)))
    return forms


def aggregation_classes() -> dict[str, type]:
    """Class name -> class of the aggregations' sympy forms (from the operator registry)."""
    return {cls.__name__: cls for _, cls in _aggregation_forms()}


def aggregation_short_names() -> dict[type, str]:
    """Aggregation class -> short display name (``max``, ``std``...) from the registry."""
    return {cls: operator.display.split("(")[0] or operator.name for operator, cls in _aggregation_forms()}


def _parse_namespace() -> dict[str, Any]:
    from sympy.codegen.cfunctions import log1p

    namespace: dict[str, Any] = {"log1p": log1p}
    namespace.update(aggregation_classes())
    return namespace


def parse_srepr(text: str, namespace: Mapping[str, Any] | None = None):
    """Parse ``sympy.srepr`` text back into an expression with sympy's parser.

    The namespace is sympy's plus the aggregation classes and ``log1p``; no
    transformations are applied (srepr text is fully explicit).

    Parameters
    ----------
    text : str
        ``sympy.srepr`` of an expression.
    namespace : mapping, optional
        Names the text may use besides sympy's (default: ``log1p`` and the registered
        aggregations' classes).

    Returns
    -------
    sympy.Expr
    """
    from sympy.parsing.sympy_parser import parse_expr

    return parse_expr(text, local_dict=dict(namespace or _parse_namespace()), transformations=())


def is_aggregation(expr) -> bool:
    """True for an aggregation's sympy form (a ``LayerAggregation`` subclass instance).

    Checked by class name so that nothing heavy is imported here.
    """
    return any(c.__name__ == "LayerAggregation" for c in type(expr).__mro__)


def aggregations_in(expr) -> dict[str, type]:
    """Class name -> class of the aggregations appearing in ``expr``."""
    found: dict[str, type] = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if is_aggregation(node):
            found[type(node).__name__] = type(node)
        stack.extend(node.args)
    return found


def free_layer_terms(expr) -> bool:
    """True if a per-layer term (``stat[l]`` or the index ``l``) appears outside every aggregation."""
    sympy = _sympy()
    stack = [expr]
    while stack:
        node = stack.pop()
        if is_aggregation(node):
            continue
        if isinstance(node, (sympy.Indexed, sympy.Idx)):
            return True
        stack.extend(node.args)
    return False


def statistic_names(expr) -> tuple[list[str], list[str]]:
    """(per-layer, network) statistic names appearing in a proxy's sympy form.

    Per-layer: the bases of ``Indexed`` terms; network: every other real symbol except the
    layer index ``l`` and the layer count ``L``.
    """
    sympy = _sympy()
    layer = sorted({str(item.base.label) for item in expr.atoms(sympy.Indexed)})
    network = sorted({
        s.name for s in expr.atoms(sympy.Symbol)
        if not isinstance(s, (sympy.Dummy, sympy.Idx)) and s.name not in ("l", "L") and s.name not in layer
    })
    return layer, network


# --------------------------------------------------------------------------- display


def numbers_as_floats(expr):
    """Display only: constant subexpressions (``log(1644/1000)``) as short floats."""
    sympy = _sympy()
    numbers = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.is_number and not node.is_Atom and node.is_real:
            try:
                numbers[node] = sympy.Float(node.evalf(15), 15)
            except (TypeError, ValueError):
                stack.extend(node.args)
        else:
            stack.extend(node.args)
    return expr.xreplace(numbers) if numbers else expr


def display_symbols():
    """(the guard ``1e-30`` as a sympy Float, the positive symbol ``epsilon`` shown for it)."""
    from greenmachine.proxy.operators import EPSILON

    sympy = _sympy()
    return sympy.Float(EPSILON), sympy.Symbol("epsilon", positive=True)


def legend(expr) -> list[str]:
    """Lines explaining ``l``, ``L`` and ``ε`` when the expression uses them."""
    lines = []
    if aggregations_in(expr) or any(s.name == "L" for s in expr.free_symbols if hasattr(s, "name")):
        lines.append(LAYERS_TEXT)
    epsilon, _ = display_symbols()
    if expr.has(epsilon):
        lines.append(EPSILON_TEXT)
    return lines


def dispatch_aggregations(printer_class: type) -> None:
    """Route every aggregation class to ``printer_class._print_aggregation``.

    sympy's printers ignore ``_print_<Base>`` methods for subclasses of ``Function`` with
    another name, so each class gets its own ``_print_<Name>``.
    """
    for name in aggregation_classes():
        setattr(printer_class, f"_print_{name}", printer_class._print_aggregation)


def comment_safe(text: str) -> str:
    """One printable line (no line breaks) for a ``#`` or ``%`` comment."""
    return "".join(c if c.isprintable() else " " for c in str(text))


def one_line(expr) -> str:
    """One-line text of a proxy's sympy form (report.md, hall of fame).

    Aggregations are ``sum_l(...)``, ``mean_l(...)``, ``max_l(...)``; ``Abs(x)`` is ``|x|``;
    floats are short (``1.0e-30``).

    Parameters
    ----------
    expr : sympy.Expr
        A proxy's sympy form (possibly simplified).

    Returns
    -------
    str
    """
    from sympy.printing.str import StrPrinter

    names = aggregation_short_names()

    class _OneLinePrinter(StrPrinter):
        def _print_aggregation(self, e):
            return f"{names.get(type(e), type(e).__name__)}_l({self._print(e.args[0])})"

        def _print_Abs(self, e):  # noqa: N802
            return f"|{self._print(e.args[0])}|"

    dispatch_aggregations(_OneLinePrinter)
    return _OneLinePrinter({"full_prec": False}).doprint(numbers_as_floats(expr))
