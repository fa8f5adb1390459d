"""Base types of the operator registry: value types, operator kinds, guards, errors and
the :class:`Operator` record.

The layer index and layer-count symbols of the sympy forms live here too, so that the
registry, the elementwise operators and the aggregations all share one definition.

Called by the other modules of :mod:`greenmachine.proxy.operators` (which re-exports every name
here); other code imports from :mod:`greenmachine.proxy.operators`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import sympy
import torch

from greenmachine.errors import GMError

LAYER = "layer"
NETWORK = "network"
ANY = "any"
PROMOTE = "promote"
TYPES = (LAYER, NETWORK)

ELEMENTWISE = "elementwise"
AGGREGATION = "aggregation"

EPSILON = 1e-30
"""Guard of the protected operators (log offset, smallest divisor)."""
EXP_CLAMP = 50.0
"""``exponential(x) = exp(min(x, EXP_CLAMP))``."""
OVERFLOW_SAFE_MAGNITUDE = 1e30
"""Every operator must stay finite on finite inputs up to this magnitude."""

LAYER_INDEX = sympy.Idx("l")
"""The sympy layer index of per-layer statistics: ``snip[l]``."""
LAYER_COUNT = sympy.Symbol("L", integer=True, positive=True)
"""The sympy symbol of a network's number of layers (appears when an aggregation's inner
expression does not depend on the layer, e.g. ``LayerSum(1) = L``)."""


class OperatorRegistrationError(GMError):
    """An operator is malformed, unsafe, or registered twice."""


class UnknownOperatorError(GMError, KeyError):
    """A tree or a caller names an operator that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Operator:
    """One registered operator.

    Attributes
    ----------
    name : str
        Full-word, lower-case name (``square_root``); unique in the registry.
    arity : int
        Number of arguments (1 or 2).
    kind : str
        ``"elementwise"`` or ``"aggregation"``.
    input_types : tuple of str
        Per argument: ``"layer"``, ``"network"`` or ``"any"``.
    output_type : str
        ``"layer"``, ``"network"``, or ``"promote"`` (``layer`` if any argument is
        ``layer``, else ``network``).
    torch_function : callable
        Elementwise: ``f(*tensors) -> tensor`` with broadcasting, float64. Aggregation:
        ``f(values, mask) -> tensor`` where ``values`` is ``(..., N, L)``, ``mask`` is the
        bool ``(N, L)`` layer mask, and the result is ``(..., N, 1)``.
    sympy_function : callable
        ``f(*sympy_expressions) -> sympy expression``, the same function.
    display : str
        ``str.format`` template for the readable infix form (``"log({0})"``).
    description : str
        One line for users.
    may_overflow : bool
        True if the result may overflow float64 for finite inputs above
        :data:`OVERFLOW_SAFE_MAGNITUDE` (never NaN, and always finite below it).
    python_source : str
        Source of ``def _<name>(...)``, the same function with the ``math`` module only
        (elementwise: on floats; aggregation: on the list of a network's layer values).
        It may use ``math``, ``_EPSILON`` (:data:`EPSILON`), ``_EXP_CLAMP``
        (:data:`EXP_CLAMP`) and the helpers named in ``python_needs``. Empty: the Python
        export cannot write this operator.
    python_needs : tuple of str
        What ``python_source`` calls: other operators' names (``"sum"`` for ``_sum``) or
        keys of :data:`PYTHON_SUPPORT` (``"_sign"``).
    """

    name: str
    arity: int
    kind: str
    input_types: tuple[str, ...]
    output_type: str
    torch_function: Callable[..., torch.Tensor]
    sympy_function: Callable[..., sympy.Expr]
    display: str
    description: str
    may_overflow: bool = False
    python_source: str = ""
    python_needs: tuple[str, ...] = ()

    def result_type(self, argument_types: Iterable[str]) -> str:
        """Return the type of this operator applied to arguments of ``argument_types``.

        Raises
        ------
        GMError
            If the number or the types of the arguments do not fit the signature.
        """
        types = tuple(argument_types)
        if len(types) != self.arity:
            raise GMError(f"operator {self.name!r} takes {self.arity} argument(s), got {len(types)}")
        for position, (expected, actual) in enumerate(zip(self.input_types, types)):
            if actual not in TYPES:
                raise GMError(f"operator {self.name!r}: unknown value type {actual!r}")
            if expected != ANY and expected != actual:
                raise GMError(
                    f"operator {self.name!r}: argument {position + 1} must be {expected}-typed, got {actual}"
                )
        if self.output_type == PROMOTE:
            return LAYER if LAYER in types else NETWORK
        return self.output_type

    @property
    def signature(self) -> str:
        """Human-readable type signature, e.g. ``(any, any) -> promote``."""
        return f"({', '.join(self.input_types)}) -> {self.output_type}"
