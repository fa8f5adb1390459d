"""LaTeX export format: the formula on one line, preceded by ``%`` comment lines.

Aggregations print with the templates of :mod:`greenmachine.proxy.operators` (``\\sum_{l}``,
``\\operatorname{mean}_{l}``, ``\\max_{l}``, ``\\left\\lVert x \\right\\rVert_{l}``...),
statistics as ``\\mathrm{snip}_{l}`` / ``\\mathrm{params}``, the guard ``1e-30`` as
``\\epsilon``.

Registered as the ``latex`` format in :mod:`greenmachine.export.formats` (imported by that
package); :func:`to_latex` is also called by the tests. Never prints.
"""

from __future__ import annotations

from typing import Sequence

from greenmachine.export.forms import comment_safe, dispatch_aggregations, display_symbols, legend, numbers_as_floats
from greenmachine.export.formats import ExportFormat, register_format


def _latex_name(name: str) -> str:
    special = {"\\": r"\textbackslash{}", "_": r"\_", "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&",
               "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return r"\mathrm{" + "".join(special.get(c, c) for c in name) + "}"


def _latex_printer_class():
    from sympy.printing.latex import LatexPrinter

    class _ProxyLatexPrinter(LatexPrinter):
        # the aggregations' own ``_latex`` does not accept ``exp`` (powers); print them here
        printmethod = "_gm_latex"

        def _print_aggregation(self, expr, exp=None):
            tex = type(expr).latex_template.format(self._print(expr.args[0]))
            return rf"\left({tex}\right)^{{{exp}}}" if exp is not None else tex

        def _print_Indexed(self, expr):  # noqa: N802
            return f"{_latex_name(str(expr.base.label))}_{{{self._print(expr.indices[0])}}}"

        def _print_Symbol(self, expr, style="plain"):  # noqa: N802
            if len(expr.name) > 1 and expr.name != "epsilon":
                return _latex_name(expr.name)
            return super()._print_Symbol(expr, style=style)

        def _print_log1p(self, expr, exp=None):  # noqa: N802
            tex = rf"\log{{\left(1 + {self._print(expr.args[0])} \right)}}"
            return rf"\left({tex}\right)^{{{exp}}}" if exp is not None else tex

    dispatch_aggregations(_ProxyLatexPrinter)
    return _ProxyLatexPrinter


def to_latex(expr) -> str:
    """LaTeX form (one line, no math delimiters) of a proxy's sympy form.

    Aggregations print with the templates of :mod:`greenmachine.proxy.operators`
    (``\\sum_{l}``, ``\\operatorname{mean}_{l}``, ``\\max_{l}``...), statistics as
    ``\\mathrm{snip}_{l}`` / ``\\mathrm{params}``, the guard 1e-30 as ``\\epsilon``.
    """
    epsilon, symbol = display_symbols()
    return _latex_printer_class()().doprint(numbers_as_floats(expr).xreplace({epsilon: symbol}))


def write_latex(records: Sequence, results: Sequence) -> str:
    """Each proxy as ``%`` comments (summary, note, tree, legend) and its LaTeX line.

    The ``write`` of the ``latex`` format (see :class:`greenmachine.export.formats.ExportFormat`):
    ``records`` are ``ProxyRecord``, ``results`` their ``SimplifyResult``; blocks are
    separated by a blank line and the text ends with a newline.
    """
    blocks = []
    for record, result in zip(records, results):
        lines = [f"% {comment_safe(record.summary())}", f"% {comment_safe(result.note)}",
                 f"% tree: {comment_safe(str(record.tree))}"]
        lines += [f"% {line}" for line in legend(result.expression)]
        lines.append(to_latex(result.expression))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


register_format(ExportFormat(name="latex", suffix="tex", description="LaTeX formula with % comments",
                             position=20, write=write_latex))
