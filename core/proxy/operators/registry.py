"""The operator registry: registration checks and look-ups.

:func:`register` checks an :class:`~greenmachine.proxy.operators.Operator` (name, arity, type
signature, finiteness on extreme inputs, Python form) and adds it; a name registered twice
is an :class:`~greenmachine.proxy.operators.OperatorRegistrationError`. :func:`get_operator`,
:func:`operators` and :func:`operator_names` read the registry in registration order.

Called by the elementwise and aggregation modules of :mod:`greenmachine.proxy.operators` (which
register the shipped operators) and, through :mod:`greenmachine.proxy.operators`, by the proxy
trees, evaluation, generation, export and the tests.
"""

from __future__ import annotations

import inspect
import itertools
import re
from typing import Callable

import torch

from greenmachine.proxy.operators.base import (
    AGGREGATION,
    ANY,
    ELEMENTWISE,
    EPSILON,
    LAYER,
    NETWORK,
    OVERFLOW_SAFE_MAGNITUDE,
    PROMOTE,
    Operator,
    OperatorRegistrationError,
    UnknownOperatorError,
)
from greenmachine.proxy.operators.python_forms import check_python_form

_NAME_PATTERN = re.compile(r"^[a-z]+(_[a-z]+)*$")

_REGISTRY: dict[str, Operator] = {}


def _positional_count(function: Callable[..., object]) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return -2  # not introspectable: wrap it in a Python function
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return -1
    return sum(
        1
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    )


_PROBE_VALUES = (
    0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, EPSILON / 2, -EPSILON / 2, EPSILON, 1e-8, -1e-8,
    0.5, -0.5, 1.0, -1.0, 3.7, -3.7, 49.9, 50.0, 51.0, -800.0, 800.0, 1e8, -1e8,
    1e30, -1e30, 1e300, -1e300, 1.7976931348623157e308, -1.7976931348623157e308,
)


def probe_values() -> torch.Tensor:
    """Return the extreme finite float64 values that registration checks operators on."""
    return torch.tensor(_PROBE_VALUES, dtype=torch.float64)


def _aggregation_probe() -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of layer vectors (with masks) built from the probe values."""
    values = list(_PROBE_VALUES)
    rows: list[list[float]] = []
    masks: list[list[bool]] = []
    width = 6
    # every probe value alone, repeated, and next to every other probe value
    for a in values:
        rows.append([a] + [12345.0] * (width - 1))
        masks.append([True] + [False] * (width - 1))
        rows.append([a] * width)
        masks.append([True] * width)
    for a, b in itertools.product(values, repeat=2):
        rows.append([a, b, a, b, 0.0, 0.0])
        masks.append([True, True, True, True, False, False])
    rows.append([0.0] * width)  # a network without layers
    masks.append([False] * width)
    return torch.tensor(rows, dtype=torch.float64), torch.tensor(masks, dtype=torch.bool)


def _check_finite(operator: Operator) -> None:
    if operator.kind == ELEMENTWISE:
        grid = probe_values()
        arguments = [t.reshape(-1) for t in torch.meshgrid(*([grid] * operator.arity), indexing="ij")]
        with torch.no_grad():
            result = operator.torch_function(*arguments)
        small = torch.ones_like(arguments[0], dtype=torch.bool)
        for argument in arguments:
            small &= argument.abs() <= OVERFLOW_SAFE_MAGNITUDE
        expected_shape = arguments[0].shape
    else:
        values, mask = _aggregation_probe()
        with torch.no_grad():
            result = operator.torch_function(values, mask)
        small = torch.where(mask, values.abs() <= OVERFLOW_SAFE_MAGNITUDE, True).all(dim=1, keepdim=True)
        expected_shape = (values.shape[0], 1)
    if not isinstance(result, torch.Tensor) or tuple(result.shape) != tuple(expected_shape):
        raise OperatorRegistrationError(
            f"operator {operator.name!r}: torch function returned shape "
            f"{getattr(result, 'shape', None)}, expected {tuple(expected_shape)}"
        )
    if result.dtype != torch.float64:
        raise OperatorRegistrationError(f"operator {operator.name!r}: torch function must keep float64")
    if torch.isnan(result).any():
        raise OperatorRegistrationError(f"operator {operator.name!r} produces NaN on finite inputs")
    infinite = torch.isinf(result)
    if operator.may_overflow:
        if (infinite & small.reshape(result.shape)).any():
            raise OperatorRegistrationError(
                f"operator {operator.name!r} overflows on inputs below {OVERFLOW_SAFE_MAGNITUDE:g}"
            )
    elif infinite.any():
        raise OperatorRegistrationError(
            f"operator {operator.name!r} produces infinity on finite inputs (protect it, "
            "or register it with may_overflow=True if it is plain arithmetic)"
        )


def register(operator: Operator) -> Operator:
    """Check ``operator`` and add it to the registry.

    Checks: full-word lower-case name, not registered yet, arity 1 or 2 and equal to the
    number of positional parameters of the sympy function and of the torch function
    (aggregations: plus the mask), a valid type signature, finiteness on extreme inputs
    (see :mod:`greenmachine.proxy.operators`), and a well-formed Python form (one ``def _<name>`` of the
    right arity that imports nothing and calls only declared helpers).

    Returns
    -------
    Operator
        The registered operator.

    Raises
    ------
    OperatorRegistrationError
        If any check fails; nothing is registered then.
    """
    name = operator.name
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise OperatorRegistrationError(f"operator name {name!r} must be lower-case full words joined by '_'")
    if name in _REGISTRY:
        raise OperatorRegistrationError(f"operator {name!r} is already registered")
    if operator.arity not in (1, 2):
        raise OperatorRegistrationError(f"operator {name!r}: arity must be 1 or 2, got {operator.arity}")
    if operator.kind not in (ELEMENTWISE, AGGREGATION):
        raise OperatorRegistrationError(f"operator {name!r}: unknown kind {operator.kind!r}")
    if len(operator.input_types) != operator.arity:
        raise OperatorRegistrationError(f"operator {name!r}: {len(operator.input_types)} input types for arity {operator.arity}")
    if operator.kind == ELEMENTWISE:
        if any(t not in (LAYER, NETWORK, ANY) for t in operator.input_types) or operator.output_type not in (
            LAYER, NETWORK, PROMOTE,
        ):
            raise OperatorRegistrationError(f"operator {name!r}: bad type signature {operator.signature}")
        torch_arity = operator.arity
    else:
        if operator.arity != 1 or operator.input_types != (LAYER,) or operator.output_type != NETWORK:
            raise OperatorRegistrationError(f"aggregation {name!r} must have signature (layer) -> network")
        torch_arity = 2
    if _positional_count(operator.torch_function) != torch_arity:
        raise OperatorRegistrationError(
            f"operator {name!r}: torch function must take {torch_arity} positional argument(s)"
        )
    if _positional_count(operator.sympy_function) != operator.arity:
        raise OperatorRegistrationError(
            f"operator {name!r}: sympy function must take {operator.arity} positional argument(s)"
        )
    try:
        operator.display.format(*(["x"] * operator.arity))
    except (IndexError, KeyError, ValueError) as error:
        raise OperatorRegistrationError(f"operator {name!r}: bad display template: {error}") from None
    _check_finite(operator)
    if operator.python_source:
        check_python_form(operator, _REGISTRY)
    elif operator.python_needs:
        raise OperatorRegistrationError(f"operator {name!r}: python_needs without a Python form")
    _REGISTRY[name] = operator
    return operator


def unregister(name: str) -> None:
    """Remove an operator (tests only; the shipped operators stay registered)."""
    _REGISTRY.pop(name, None)


def get_operator(name: str) -> Operator:
    """Return the registered operator ``name``.

    Raises
    ------
    UnknownOperatorError
        (a :class:`GMError`) if no operator has that name.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownOperatorError(f"unknown operator {name!r} (known: {known})") from None


def operators(kind: str | None = None, arity: int | None = None) -> tuple[Operator, ...]:
    """Return the registered operators (optionally of one kind / arity), in registration order."""
    return tuple(
        op for op in _REGISTRY.values()
        if (kind is None or op.kind == kind) and (arity is None or op.arity == arity)
    )


def operator_names() -> tuple[str, ...]:
    """Return the names of all registered operators, in registration order."""
    return tuple(_REGISTRY)
