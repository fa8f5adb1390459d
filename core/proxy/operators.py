"""The operator registry of the proxy language.

Every operator a proxy formula may use is registered here exactly once, with

* a full-word ``name`` (what JSON files and the hall of fame store),
* its ``arity`` and a type signature over the two value types of the language:
  ``layer`` (one value per weighted layer of each network) and ``network`` (one value per
  network),
* a batched torch function (what :mod:`core.proxy.evaluate` runs on all networks at once),
* a sympy function defining the same mathematical function (what ``Tree.to_sympy`` builds
  and the formula export simplifies / prints / lambdifies),
* its Python form: the source of a standard-library function ``_<name>`` (what the Python
  export of :mod:`core.export` writes into a standalone module), with the helpers it calls.

Two kinds of operators exist:

``elementwise``
    Unary or binary functions applied value by value. Their arguments may be of either
    type; the result is ``layer`` as soon as one argument is ``layer`` (a network value is
    broadcast over that network's layers), else ``network``. The same operator (``add``,
    ``logarithm``...) therefore serves per-layer vectors and network scalars.
``aggregation``
    ``layer -> network`` reductions over each network's own layers (``sum``, ``mean``,
    ``maximum``, ``standard_deviation``...). Networks have different numbers of layers: the
    torch form receives the ``(N, L)`` layer mask and ignores padded positions.

Protected operators never produce NaN or infinity on any finite input (zeros, negatives,
``1e-300``, ``1.7e308``): ``logarithm`` is ``log(|x| + 1e-30)``, ``divide(a, b)`` is
``a sign(b) / (|b| + 1e-30)`` (equal to ``a / b`` in float64 unless ``|b| < 1e-14``; 0
where ``b = 0``) and ``reciprocal`` likewise, ``square_root`` takes ``|x|``, ``exponential``
clamps its argument at 50. No guard is a ``Piecewise``, so sympy forms stay smooth and
simplifiable. Plain arithmetic (``add``, ``multiply``,
``square``, ``sum``...) is registered with ``may_overflow=True``: it stays finite on
finite inputs up to ``1e30`` in magnitude but may overflow float64 beyond; the fitness
function gives such scores the worst fitness. :func:`register` checks all of this on a
probe tensor of extreme values and raises :class:`OperatorRegistrationError` otherwise.

Sympy representation (see also :mod:`core.proxy.tree`): a per-layer statistic is the
indexed symbol ``IndexedBase(name, real=True)[l]`` with the layer index ``l =``
:data:`LAYER_INDEX`; elementwise operators are ordinary sympy functions of it; an
aggregation is a :class:`LayerAggregation` subclass (``LayerSum``, ``LayerMean``,
``LayerMaximum``...) applied to the inner per-layer expression, meaning "reduce over the
layers ``l`` of this network". When the inner expression no longer depends on ``l`` (e.g.
sympy turned ``snip[l] / snip[l]`` into 1), the aggregation evaluates itself using the
layer-count symbol :data:`LAYER_COUNT` (``LayerSum(c) = L*c``, ``LayerMean(c) = c``...).
Each aggregation class prints itself for numpy (``_numpycode``) and LaTeX (``_latex``).

Called by :mod:`core.proxy.tree` (type checking, display, sympy forms),
:mod:`core.proxy.evaluate` (numeric forms), :mod:`core.proxy.generate` and
:mod:`core.evolution` (choosing operators), :mod:`core.export` (sympy forms; the Python
export writes each operator's ``python_source``) and the tests.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import itertools
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import sympy
import torch
from sympy.codegen.cfunctions import log1p as sympy_log1p

from core.errors import GMError

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

_NAME_PATTERN = re.compile(r"^[a-z]+(_[a-z]+)*$")


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


_REGISTRY: dict[str, Operator] = {}

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


def _check_python(operator: Operator) -> None:
    """Check an operator's Python form: one ``def _<name>`` of the right arity, no imports,
    and every global it uses is ``math``, a constant, a builtin or a declared helper."""
    name = operator.name
    for need in operator.python_needs:
        if need not in PYTHON_SUPPORT and need not in _REGISTRY:
            raise OperatorRegistrationError(
                f"operator {name!r}: Python form needs {need!r}, which is neither a registered operator "
                "nor a support helper")
        if need in _REGISTRY and not _REGISTRY[need].python_source:
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
    (see the module docstring), and a well-formed Python form (one ``def _<name>`` of the
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
        _check_python(operator)
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


# --------------------------------------------------------------------------- elementwise


def _elementwise(name: str, arity: int, torch_function, sympy_function, display: str, description: str,
                 may_overflow: bool = False, python: str = "", python_needs: tuple[str, ...] = ()) -> Operator:
    return register(Operator(
        name=name, arity=arity, kind=ELEMENTWISE, input_types=(ANY,) * arity, output_type=PROMOTE,
        torch_function=torch_function, sympy_function=sympy_function, display=display,
        description=description, may_overflow=may_overflow, python_source=python, python_needs=python_needs,
    ))


def _torch_logarithm(x: torch.Tensor) -> torch.Tensor:
    return torch.log(x.abs() + EPSILON)


def _torch_signed_logarithm(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


def _torch_exponential(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.clamp(x, max=EXP_CLAMP))


def _torch_reciprocal(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) / (x.abs() + EPSILON)


def _torch_divide(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a * torch.sign(b) / (b.abs() + EPSILON)


def _sympy_reciprocal(x):
    return sympy.sign(x) / (sympy.Abs(x) + EPSILON)


def _sympy_divide(a, b):
    return a * sympy.sign(b) / (sympy.Abs(b) + EPSILON)


_elementwise("negative", 1, lambda x: torch.neg(x), lambda x: -x, "-{0}", "-x",
             python="def _negative(x):\n    return -x\n")
_elementwise("absolute", 1, lambda x: torch.abs(x), lambda x: sympy.Abs(x), "|{0}|", "|x|",
             python="def _absolute(x):\n    return abs(x)\n")
_elementwise("square_root", 1, lambda x: torch.sqrt(x.abs()), lambda x: sympy.sqrt(sympy.Abs(x)),
             "sqrt({0})", "protected square root sqrt(|x|)",
             python='def _square_root(x):\n    """Protected square root sqrt(|x|)."""\n    return math.sqrt(abs(x))\n')
_elementwise("square", 1, lambda x: x * x, lambda x: x**2, "{0}^2", "x^2", may_overflow=True,
             python="def _square(x):\n    return x * x\n")
_elementwise("logarithm", 1, _torch_logarithm, lambda x: sympy.log(sympy.Abs(x) + EPSILON),
             "log({0})", "protected logarithm log(|x| + 1e-30)",
             python='def _logarithm(x):\n    """Protected logarithm log(|x| + 1e-30)."""\n'
                    "    return math.log(abs(x) + _EPSILON)\n")
_elementwise("signed_logarithm", 1, _torch_signed_logarithm,
             lambda x: sympy.sign(x) * sympy_log1p(sympy.Abs(x)),
             "slog({0})", "sign-preserving logarithm sign(x) log(1 + |x|)",
             python='def _signed_logarithm(x):\n    """sign(x) log(1 + |x|)."""\n'
                    "    return _sign(x) * math.log1p(abs(x))\n", python_needs=("_sign",))
_elementwise("exponential", 1, _torch_exponential, lambda x: sympy.exp(sympy.Min(x, EXP_CLAMP)),
             "exp({0})", "protected exponential exp(min(x, 50))",
             python='def _exponential(x):\n    """Protected exponential exp(min(x, 50))."""\n'
                    "    return math.exp(min(x, _EXP_CLAMP))\n")
_elementwise("reciprocal", 1, _torch_reciprocal, _sympy_reciprocal, "1/{0}",
             "protected reciprocal sign(x) / (|x| + 1e-30) (0 at 0)",
             python='def _reciprocal(x):\n    """Protected reciprocal sign(x) / (|x| + 1e-30) (0 at 0)."""\n'
                    "    return _sign(x) / (abs(x) + _EPSILON)\n", python_needs=("_sign",))
_elementwise("sigmoid", 1, lambda x: torch.sigmoid(x), lambda x: 1 / (1 + sympy.exp(-x)), "sigmoid({0})",
             "logistic function 1 / (1 + exp(-x))", python='''def _sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), without overflow."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)
''')
_elementwise("hyperbolic_tangent", 1, lambda x: torch.tanh(x), lambda x: sympy.tanh(x), "tanh({0})", "tanh(x)",
             python="def _hyperbolic_tangent(x):\n    return math.tanh(x)\n")
_elementwise("add", 2, lambda a, b: torch.add(a, b), lambda a, b: a + b, "({0} + {1})", "a + b", may_overflow=True,
             python="def _add(a, b):\n    return a + b\n")
_elementwise("subtract", 2, lambda a, b: torch.sub(a, b), lambda a, b: a - b, "({0} - {1})", "a - b", may_overflow=True,
             python="def _subtract(a, b):\n    return a - b\n")
_elementwise("multiply", 2, lambda a, b: torch.mul(a, b), lambda a, b: a * b, "({0} * {1})", "a * b", may_overflow=True,
             python="def _multiply(a, b):\n    return a * b\n")
_elementwise("divide", 2, _torch_divide, _sympy_divide, "({0} / {1})",
             "protected division a sign(b) / (|b| + 1e-30) (0 where b = 0)", may_overflow=True,
             python='def _divide(a, b):\n    """Protected division a sign(b) / (|b| + 1e-30) (0 where b = 0)."""\n'
                    "    return a * _sign(b) / (abs(b) + _EPSILON)\n", python_needs=("_sign",))


# --------------------------------------------------------------------------- aggregations


class LayerAggregation(sympy.Function):
    """Base of the sympy forms of aggregations: ``F(inner)`` reduces ``inner`` (an
    expression of per-layer symbols ``stat[l]``) over the layers ``l`` of one network.

    ``numpy_template`` is how the vectorised numpy printer writes it (``{0}`` = the inner
    expression, evaluated on the network's layer vector); ``constant_rule`` gives the value
    when the inner expression does not depend on the layer index.
    """

    nargs = 1
    is_real = True
    numpy_template = ""
    latex_template = ""

    @classmethod
    def constant_rule(cls, value: sympy.Expr) -> sympy.Expr:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def eval(cls, inner):
        if not inner.has(LAYER_INDEX) and not inner.has(sympy.Indexed):
            return cls.constant_rule(inner)
        return None

    def _numpycode(self, printer) -> str:
        inner = printer._print(self.args[0])
        return self.numpy_template.format(inner, numpy=printer._module_format("numpy"))

    def _latex(self, printer) -> str:
        return self.latex_template.format(printer._print(self.args[0]))


class LayerSum(LayerAggregation):
    """Sum over the layers: ``sum_l inner``."""

    numpy_template = "{numpy}.sum({0})"
    latex_template = r"\sum_{{l}} \left({0}\right)"

    @classmethod
    def constant_rule(cls, value):
        return LAYER_COUNT * value


class LayerMean(LayerAggregation):
    """Mean over the layers."""

    numpy_template = "{numpy}.mean({0})"
    latex_template = r"\operatorname{{mean}}_{{l}} \left({0}\right)"

    @classmethod
    def constant_rule(cls, value):
        return value


class LayerMaximum(LayerAggregation):
    """Maximum over the layers."""

    numpy_template = "{numpy}.max({0})"
    latex_template = r"\max_{{l}} \left({0}\right)"

    @classmethod
    def constant_rule(cls, value):
        return value


class LayerMinimum(LayerAggregation):
    """Minimum over the layers."""

    numpy_template = "{numpy}.min({0})"
    latex_template = r"\min_{{l}} \left({0}\right)"

    @classmethod
    def constant_rule(cls, value):
        return value


class LayerStandardDeviation(LayerAggregation):
    """Population standard deviation (ddof 0) over the layers."""

    numpy_template = "{numpy}.std({0})"
    latex_template = r"\operatorname{{std}}_{{l}} \left({0}\right)"

    @classmethod
    def constant_rule(cls, value):
        return sympy.Integer(0)


class LayerMedian(LayerAggregation):
    """Median over the layers (mean of the two middle values for an even count)."""

    numpy_template = "{numpy}.median({0})"
    latex_template = r"\operatorname{{median}}_{{l}} \left({0}\right)"

    @classmethod
    def constant_rule(cls, value):
        return value


class LayerNorm(LayerAggregation):
    """Euclidean norm over the layers: ``sqrt(sum_l inner^2)``."""

    numpy_template = "{numpy}.sqrt({numpy}.sum({numpy}.square({0})))"
    latex_template = r"\left\lVert {0} \right\rVert_{{l}}"

    @classmethod
    def constant_rule(cls, value):
        return sympy.sqrt(LAYER_COUNT) * sympy.Abs(value)


class FirstLayer(LayerAggregation):
    """Value at the first layer (forward order)."""

    numpy_template = "{numpy}.take({0}, 0)"
    latex_template = r"\left.{0}\right|_{{l=1}}"

    @classmethod
    def constant_rule(cls, value):
        return value


class LastLayer(LayerAggregation):
    """Value at the last layer (forward order; the classifier)."""

    numpy_template = "{numpy}.take({0}, -1)"
    latex_template = r"\left.{0}\right|_{{l=L}}"

    @classmethod
    def constant_rule(cls, value):
        return value


def _count(mask: torch.Tensor) -> torch.Tensor:
    return mask.sum(dim=-1, keepdim=True).to(torch.float64)


def _aggregate_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask, values, 0.0).sum(dim=-1, keepdim=True)


def _aggregate_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return _aggregate_sum(values, mask) / _count(mask).clamp(min=1.0)


def _aggregate_maximum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    result = torch.where(mask, values, -torch.inf).amax(dim=-1, keepdim=True)
    return torch.where(mask.any(dim=-1, keepdim=True), result, 0.0)


def _aggregate_minimum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    result = torch.where(mask, values, torch.inf).amin(dim=-1, keepdim=True)
    return torch.where(mask.any(dim=-1, keepdim=True), result, 0.0)


def _scale(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    scale = torch.where(mask, values.abs(), 0.0).amax(dim=-1, keepdim=True)
    return torch.where(scale > 0, scale, 1.0)


def _aggregate_standard_deviation(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # computed on values scaled by max |value| so that huge values do not overflow
    scale = _scale(values, mask)
    scaled = torch.where(mask, values / scale, 0.0)
    count = _count(mask).clamp(min=1.0)
    mean = scaled.sum(dim=-1, keepdim=True) / count
    deviation = torch.where(mask, scaled - mean, 0.0)
    return scale * torch.sqrt((deviation * deviation).sum(dim=-1, keepdim=True) / count)


def _aggregate_median(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    ordered = torch.where(mask, values, torch.inf).sort(dim=-1).values
    count = mask.sum(dim=-1, keepdim=True)
    low = ((count - 1).clamp(min=0) // 2).expand(*ordered.shape[:-1], 1)
    high = (count // 2).clamp(max=max(ordered.shape[-1] - 1, 0)).expand(*ordered.shape[:-1], 1)
    if ordered.shape[-1] == 0:
        return torch.zeros((*ordered.shape[:-1], 1), dtype=values.dtype, device=values.device)
    result = ordered.gather(-1, low) / 2 + ordered.gather(-1, high) / 2
    return torch.where(count > 0, result, 0.0)


def _aggregate_norm(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    scale = _scale(values, mask)
    scaled = torch.where(mask, values / scale, 0.0)
    return scale * torch.sqrt((scaled * scaled).sum(dim=-1, keepdim=True))


def _aggregate_first(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if values.shape[-1] == 0:
        return torch.zeros((*values.shape[:-1], 1), dtype=values.dtype, device=values.device)
    return torch.where(mask[..., :1], values[..., :1], 0.0)


def _aggregate_last(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if values.shape[-1] == 0:
        return torch.zeros((*values.shape[:-1], 1), dtype=values.dtype, device=values.device)
    count = mask.sum(dim=-1, keepdim=True)
    index = (count - 1).clamp(min=0).expand(*values.shape[:-1], 1)
    return torch.where(count > 0, values.gather(-1, index), 0.0)


def _aggregation(name: str, torch_function, sympy_class, display: str, description: str,
                 may_overflow: bool = False, python: str = "", python_needs: tuple[str, ...] = ()) -> Operator:
    return register(Operator(
        name=name, arity=1, kind=AGGREGATION, input_types=(LAYER,), output_type=NETWORK,
        torch_function=torch_function, sympy_function=lambda inner: sympy_class(inner), display=display,
        description=description, may_overflow=may_overflow, python_source=python, python_needs=python_needs,
    ))


_aggregation("sum", _aggregate_sum, LayerSum, "sum({0})", "sum over the layers", may_overflow=True,
             python='''def _sum(values):
    """Sum over the layers (0 for no layers)."""
    total = 0.0
    for value in values:
        total += value
    return total
''')
_aggregation("mean", _aggregate_mean, LayerMean, "mean({0})", "mean over the layers", may_overflow=True,
             python='def _mean(values):\n    """Mean over the layers (0 for no layers)."""\n'
                    "    return _sum(values) / max(len(values), 1)\n", python_needs=("sum",))
_aggregation("maximum", _aggregate_maximum, LayerMaximum, "max({0})", "maximum over the layers",
             python='def _maximum(values):\n    """Maximum over the layers (0 for no layers)."""\n'
                    "    return _extreme(values, max)\n", python_needs=("_extreme",))
_aggregation("minimum", _aggregate_minimum, LayerMinimum, "min({0})", "minimum over the layers",
             python='def _minimum(values):\n    """Minimum over the layers (0 for no layers)."""\n'
                    "    return _extreme(values, min)\n", python_needs=("_extreme",))
_aggregation("standard_deviation", _aggregate_standard_deviation, LayerStandardDeviation, "std({0})",
             "population standard deviation over the layers", python='''def _standard_deviation(values):
    """Population standard deviation over the layers, computed on values / max |value|."""
    scale = _scale(values)
    scaled = [value / scale for value in values]
    count = max(len(values), 1)
    mean = _sum(scaled) / count
    return scale * math.sqrt(_sum([(value - mean) * (value - mean) for value in scaled]) / count)
''', python_needs=("_scale", "sum"))
_aggregation("median", _aggregate_median, LayerMedian, "median({0})", "median over the layers",
             python='''def _median(values):
    """Median over the layers (mean of the two middle values; 0 for no layers)."""
    if not values:
        return 0.0
    ordered = sorted(values, key=lambda value: (value != value, value))
    count = len(ordered)
    return ordered[(count - 1) // 2] / 2 + ordered[count // 2] / 2
''')
_aggregation("norm", _aggregate_norm, LayerNorm, "norm({0})", "Euclidean norm over the layers",
             may_overflow=True, python='''def _norm(values):
    """Euclidean norm over the layers, computed on values / max |value|."""
    scale = _scale(values)
    return scale * math.sqrt(_sum([(value / scale) * (value / scale) for value in values]))
''', python_needs=("_scale", "sum"))
_aggregation("first", _aggregate_first, FirstLayer, "first({0})", "value at the first layer",
             python='def _first(values):\n    """Value at the first layer (0 for no layers)."""\n'
                    "    return values[0] if values else 0.0\n")
_aggregation("last", _aggregate_last, LastLayer, "last({0})", "value at the last layer",
             python='def _last(values):\n    """Value at the last layer (0 for no layers)."""\n'
                    "    return values[-1] if values else 0.0\n")

AGGREGATION_CLASSES: tuple[type[LayerAggregation], ...] = (
    LayerSum, LayerMean, LayerMaximum, LayerMinimum, LayerStandardDeviation, LayerMedian,
    LayerNorm, FirstLayer, LastLayer,
)
"""The sympy classes of the shipped aggregations."""
