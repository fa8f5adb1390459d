"""The shipped aggregations: ``layer -> network`` reductions over each network's layers.

Each aggregation has a sympy class (a :class:`LayerAggregation` subclass such as
:class:`LayerSum`, printing itself for numpy and LaTeX and falling back to the layer count
``L`` when its inner expression does not depend on the layer), a masked torch function
(networks have different numbers of layers) and a Python form.

Imported (for its registrations) by :mod:`greenmachine.proxy.operators`, after the elementwise
operators; the sympy classes are re-exported there.
"""

from __future__ import annotations

import sympy
import torch

from greenmachine.proxy.operators.base import AGGREGATION, LAYER, LAYER_COUNT, LAYER_INDEX, NETWORK, Operator
from greenmachine.proxy.operators.registry import register


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
