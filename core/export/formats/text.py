"""Text export format: the unicode pretty-printed formula with its τ and tree.

Sums over layers are shown as ``Σ_{l=1}^{L}``, means as that sum over ``L``, other
aggregations as functions subscripted by the layer index (``maxₗ(…)``, ``stdₗ(…)``,
``firstₗ(…)``); the guard ``1e-30`` is shown as ``ε``, with legend lines below.

Registered as the ``text`` format in :mod:`greenmachine.export.formats` (imported by that
package); :func:`to_text` is also called by the tests. Never prints.
"""

from __future__ import annotations

from typing import Sequence

from greenmachine.export.forms import display_symbols, is_aggregation, legend, numbers_as_floats
from greenmachine.export.formats import ExportFormat, register_format


def _rebuild(expr, mapping):
    """Rebuild ``expr`` bottom-up, replacing aggregations with ``mapping(cls, inner)``."""
    if is_aggregation(expr):
        return mapping(type(expr), _rebuild(expr.args[0], mapping))
    if not expr.args:
        return expr
    args = [_rebuild(a, mapping) for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    return expr.func(*args)


def _display_form(expr):
    """The expression with Σ sums, named ``·ₗ`` aggregations, ε and ``log(1 + x)`` (display only)."""
    import sympy
    from sympy.codegen.cfunctions import log1p

    from greenmachine.export.forms import aggregation_short_names
    from greenmachine.proxy.operators import LAYER_COUNT, LayerMean, LayerSum

    names = aggregation_short_names()
    index = sympy.Symbol("l", integer=True)

    def mapping(cls, inner):
        if cls is LayerSum:
            return sympy.Sum(inner, (index, 1, LAYER_COUNT))
        if cls is LayerMean:
            return sympy.Mul(sympy.Sum(inner, (index, 1, LAYER_COUNT)), sympy.Pow(LAYER_COUNT, -1), evaluate=False)
        return sympy.Function(f"{names.get(cls, cls.__name__)}\u2097")(inner)  # subscript l

    epsilon, symbol = display_symbols()
    shown = _rebuild(numbers_as_floats(expr), mapping).xreplace({epsilon: symbol})
    return shown.replace(lambda e: isinstance(e, log1p), lambda e: sympy.log(1 + e.args[0], evaluate=False))


def to_text(expr) -> str:
    """Unicode pretty-printed form (multi-line) of a proxy's sympy form.

    Sums over layers are ``Σ_{l=1}^{L}``, means are that sum over ``L``, other
    aggregations are ``maxₗ(…)``-style functions; ``ε`` stands for the guard 1e-30 (a
    line below says so).
    """
    from sympy.printing.pretty.pretty import PrettyPrinter
    from sympy.printing.pretty.stringpict import prettyForm

    class _ProxyPrettyPrinter(PrettyPrinter):
        # sympy's pretty printer falls back to plain str() for Min / Max
        def _print_Min(self, e):  # noqa: N802 - sympy naming
            return self._helper_print_function(e.func, e.args, func_name="min")

        def _print_Max(self, e):  # noqa: N802
            return self._helper_print_function(e.func, e.args, func_name="max")

        def _print_Symbol(self, e, bold_name=False):  # noqa: N802
            # statistic names are words joined by "_", not subscripts (grad_norm_total)
            if e.name not in ("epsilon", "L", "l"):
                return prettyForm(e.name)
            return super()._print_Symbol(e, bold_name)

    printer = _ProxyPrettyPrinter({"use_unicode": True, "wrap_line": False})
    text = printer.doprint(_display_form(expr))
    return "\n".join([text, *legend(expr)])


def write_text(records: Sequence, results: Sequence) -> str:
    """Each proxy as a block: summary line, simplification note, formula, tree.

    The ``write`` of the ``text`` format (see :class:`greenmachine.export.formats.ExportFormat`):
    ``records`` are ``ProxyRecord``, ``results`` their ``SimplifyResult``; blocks are
    separated by a blank line and the text ends with a newline.
    """
    blocks = []
    for record, result in zip(records, results):
        blocks.append("\n".join([record.summary(), f"({result.note})", "", to_text(result.expression),
                                 "", f"tree: {record.tree}"]))
    return "\n\n".join(blocks) + "\n"


register_format(ExportFormat(name="text", suffix="txt", description="unicode pretty-printed formula",
                             position=10, write=write_text))
