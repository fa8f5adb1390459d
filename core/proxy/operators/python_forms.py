"""Python forms of the operators: the shared standard-library helpers and the check of
each operator's ``python_source``.

Each operator carries the source of a standard-library function ``_<name>`` (see
:class:`~greenmachine.proxy.operators.Operator`); the Python export of :mod:`greenmachine.export` writes
those, and the helpers of :data:`PYTHON_SUPPORT` they call, into a standalone module.

Called by :func:`greenmachine.proxy.operators.register` (the check) and, through
:mod:`greenmachine.proxy.operators`, by :mod:`greenmachine.export.formats.python` (the helpers).
"""

from __future__ import annotations

import ast
import builtins
from typing import Mapping

from greenmachine.proxy.operators.base import Operator, OperatorRegistrationError

PYTHON_SUPPORT: dict[str, tuple[str, tuple[str, ...]]] = {
    "_sign": ('''def _sign(x):
    """torch.sign: 1, -1, or 0 (also 0 for NaN)."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0
''', ()),
    "_extreme": ('''def _extreme(values, pick):
    if not values:
        return 0.0
    if any(value != value for value in values):
        return math.nan
    return pick(values)
''', ()),
    "_scale": ('''def _scale(values):
    """max |value| (1 if that is 0, NaN or there are no layers): guards against overflow."""
    scale = _extreme([abs(value) for value in values], max)
    return scale if scale > 0.0 else 1.0
''', ("_extreme",)),
}
"""Standard-library helpers the operators' Python forms share: ``_name`` -> (source, the
helpers it calls). The Python export writes the ones a proxy needs next to the operators'."""

_PYTHON_GLOBALS = frozenset({"math", "_EPSILON", "_EXP_CLAMP"})


def _python_name(helper: str) -> str:
    """Function name of a helper: ``sum`` -> ``_sum``, ``_sign`` -> ``_sign``."""
    return helper if helper.startswith("_") else f"_{helper}"


def check_python_form(operator: Operator, registered: Mapping[str, Operator]) -> None:
    """Check an operator's Python form: one ``def _<name>`` of the right arity, no imports,
    and every global it uses is ``math``, a constant, a builtin or a declared helper.

    Parameters
    ----------
    operator : Operator
        The operator being registered (its ``python_source`` is not empty).
    registered : mapping of str to Operator
        The operators registered so far (what ``python_needs`` may name besides
        :data:`PYTHON_SUPPORT`).

    Raises
    ------
    OperatorRegistrationError
        If the Python form is malformed or uses an undeclared name.
    """
    name = operator.name
    for need in operator.python_needs:
        if need not in PYTHON_SUPPORT and need not in registered:
            raise OperatorRegistrationError(
                f"operator {name!r}: Python form needs {need!r}, which is neither a registered operator "
                "nor a support helper")
        if need in registered and not registered[need].python_source:
            raise OperatorRegistrationError(f"operator {name!r}: Python form needs {need!r}, which has none")
    try:
        module = ast.parse(operator.python_source)
    except SyntaxError as error:
        raise OperatorRegistrationError(f"operator {name!r}: Python form does not parse: {error.msg}") from None
    function = module.body[0] if len(module.body) == 1 else None
    if not isinstance(function, ast.FunctionDef) or function.name != f"_{name}":
        raise OperatorRegistrationError(f"operator {name!r}: Python form must be one 'def _{name}(...)'")
    if len(function.args.args) != operator.arity or function.args.vararg or function.args.kwonlyargs:
        raise OperatorRegistrationError(
            f"operator {name!r}: Python form must take {operator.arity} positional argument(s)")
    local = {argument.arg for argument in ast.walk(function) if isinstance(argument, ast.arg)}
    local |= {node.id for node in ast.walk(function) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    allowed = _PYTHON_GLOBALS | {_python_name(need) for need in operator.python_needs} | set(dir(builtins))
    for node in ast.walk(function):
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
            raise OperatorRegistrationError(f"operator {name!r}: Python form must not import or rebind globals")
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local | allowed:
            raise OperatorRegistrationError(
                f"operator {name!r}: Python form uses {node.id!r} (declare it in python_needs)")

