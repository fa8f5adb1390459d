"""Numeric forms of a proxy's sympy expression: :func:`lambdify_sympy` (a numpy function
of one network) and :func:`evaluate_sympy` (scores of every network of a table).

Slow reference implementations for tests and for checking exported formulas; the engine
uses :mod:`greenmachine.proxy.evaluate`. Called through :mod:`greenmachine.proxy.tree` (which re-exports
both) by :mod:`greenmachine.export.simplify` and the tests.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from greenmachine.errors import GMError
from greenmachine.proxy.operators import LAYER_COUNT


class _VectorPrinter(NumPyPrinter):
    """NumPy printer that writes ``stat[l]`` as the name of that statistic's layer vector."""

    def __init__(self, names: Mapping[str, str], settings: dict | None = None) -> None:
        super().__init__(settings or {})
        self._names = names

    def _print_Indexed(self, expr: sympy.Indexed) -> str:  # noqa: N802 - sympy naming
        return self._names[str(expr.base.label)]

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:  # noqa: N802 - sympy naming
        # nested where() broadcasts a layer vector against network scalars (select() does not)
        where = self._module_format("numpy.where")
        text = self._module_format("numpy.nan")
        for value, condition in reversed(expr.args):
            if condition == sympy.true:
                text = self._print(value)
            else:
                text = f"{where}({self._print(condition)}, {self._print(value)}, {text})"
        return text


def lambdify_sympy(
    expression: sympy.Expr, layer_statistic_names: Sequence[str], network_statistic_names: Sequence[str]
) -> Callable[..., float]:
    """Turn a proxy's sympy form into a numpy function of one network.

    Parameters
    ----------
    expression : sympy.Expr
        From :meth:`Node.to_sympy` (possibly simplified).
    layer_statistic_names, network_statistic_names : sequence of str
        Argument order.

    Returns
    -------
    callable
        ``f(*layer_vectors, *network_values, layer_count) -> float`` where each layer vector
        is the 1-D array of one per-layer statistic over that network's layers.

    Raises
    ------
    GMError
        If a name is both a per-layer and a network statistic.
    """
    clash = set(layer_statistic_names) & set(network_statistic_names)
    if clash:
        raise GMError(f"statistic name(s) {', '.join(sorted(clash))} are both per-layer and network statistics")
    layer_args = [f"_layer{i}" for i in range(len(layer_statistic_names))]
    network_symbols = [sympy.Symbol(f"_network{i}", real=True) for i in range(len(network_statistic_names))]
    count_symbol = sympy.Symbol("_layer_count", integer=True, positive=True)
    replacements: dict[sympy.Basic, sympy.Basic] = {LAYER_COUNT: count_symbol}
    for name, symbol in zip(network_statistic_names, network_symbols):
        replacements[sympy.Symbol(name, real=True)] = symbol
    expression = sympy.sympify(expression).xreplace(replacements)
    printer = _VectorPrinter(dict(zip(layer_statistic_names, layer_args)))
    arguments = [sympy.Symbol(name) for name in layer_args] + network_symbols + [count_symbol]
    namespace = {"numpy": np, "functools": functools}
    return sympy.lambdify(arguments, expression, modules=[namespace, "numpy"], printer=printer)


def evaluate_sympy(expression: sympy.Expr, table: Any) -> np.ndarray:
    """Evaluate a proxy's sympy form on every network of ``table``, one network at a time.

    Slow reference implementation for tests and for checking exported formulas; the
    engine uses :func:`greenmachine.proxy.evaluate.evaluate_population`.

    Returns
    -------
    numpy.ndarray
        float64 ``(N,)`` scores.
    """
    function = lambdify_sympy(expression, table.layer_statistic_names, table.network_statistic_names)
    layer_values = table.layer_values.detach().cpu().numpy()
    mask = table.layer_mask.detach().cpu().numpy()
    network_values = table.network_values.detach().cpu().numpy()
    scores = np.empty(mask.shape[0], dtype=np.float64)
    with np.errstate(all="ignore"):
        for column in range(mask.shape[0]):
            layers = [np.ascontiguousarray(row[column, mask[column]]) for row in layer_values]
            value = function(*layers, *network_values[:, column], int(mask[column].sum()))
            scores[column] = float(np.asarray(value, dtype=np.float64).reshape(-1)[0]) if np.size(value) else np.nan
    return scores
