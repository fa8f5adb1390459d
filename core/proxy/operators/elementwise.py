"""The shipped elementwise operators: unary and binary functions applied value by value.

Each is registered with its batched torch function, its sympy function, its display
template and its Python form. Protected operators (``logarithm``, ``divide``,
``reciprocal``, ``square_root``, ``exponential``) never produce NaN or infinity on finite
inputs; plain arithmetic is registered with ``may_overflow=True``.

Imported (for its registrations) by :mod:`greenmachine.proxy.operators`, before the aggregations.
"""

from __future__ import annotations

import sympy
import torch
from sympy.codegen.cfunctions import log1p as sympy_log1p

from greenmachine.proxy.operators.base import ANY, ELEMENTWISE, EPSILON, EXP_CLAMP, PROMOTE, Operator
from greenmachine.proxy.operators.registry import register


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
