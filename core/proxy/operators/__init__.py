"""The operator registry of the proxy language.

Every operator a proxy formula may use is registered here exactly once, with

* a full-word ``name`` (what JSON files and the hall of fame store),
* its ``arity`` and a type signature over the two value types of the language:
  ``layer`` (one value per weighted layer of each network) and ``network`` (one value per
  network),
* a batched torch function (what :mod:`greenmachine.proxy.evaluate` runs on all networks at once),
* a sympy function defining the same mathematical function (what ``Tree.to_sympy`` builds
  and the formula export simplifies / prints / lambdifies),
* its Python form: the source of a standard-library function ``_<name>`` (what the Python
  export of :mod:`greenmachine.export` writes into a standalone module), with the helpers it calls.

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

Sympy representation (see also :mod:`greenmachine.proxy.tree`): a per-layer statistic is the
indexed symbol ``IndexedBase(name, real=True)[l]`` with the layer index ``l =``
:data:`LAYER_INDEX`; elementwise operators are ordinary sympy functions of it; an
aggregation is a :class:`LayerAggregation` subclass (``LayerSum``, ``LayerMean``,
``LayerMaximum``...) applied to the inner per-layer expression, meaning "reduce over the
layers ``l`` of this network". When the inner expression no longer depends on ``l`` (e.g.
sympy turned ``snip[l] / snip[l]`` into 1), the aggregation evaluates itself using the
layer-count symbol :data:`LAYER_COUNT` (``LayerSum(c) = L*c``, ``LayerMean(c) = c``...).
Each aggregation class prints itself for numpy (``_numpycode``) and LaTeX (``_latex``).

Layout: :mod:`~greenmachine.proxy.operators.base` (value types, kinds, guards, errors, the
:class:`Operator` record), :mod:`~greenmachine.proxy.operators.registry` (:func:`register` and
the look-ups), :mod:`~greenmachine.proxy.operators.python_forms` (the Python forms' shared helpers
and their check), :mod:`~greenmachine.proxy.operators.elementwise` and
:mod:`~greenmachine.proxy.operators.aggregations` (the shipped operators, registered on import in
that order). Every public name is re-exported here: import from ``greenmachine.proxy.operators``.

Called by :mod:`greenmachine.proxy.tree` (type checking, display, sympy forms),
:mod:`greenmachine.proxy.evaluate` (numeric forms), :mod:`greenmachine.proxy.generate` and
:mod:`greenmachine.evolution` (choosing operators), :mod:`greenmachine.export` (sympy forms; the Python
export writes each operator's ``python_source``) and the tests.
"""

from __future__ import annotations

from greenmachine.proxy.operators.base import (
    AGGREGATION,
    ANY,
    ELEMENTWISE,
    EPSILON,
    EXP_CLAMP,
    LAYER,
    LAYER_COUNT,
    LAYER_INDEX,
    NETWORK,
    OVERFLOW_SAFE_MAGNITUDE,
    PROMOTE,
    TYPES,
    Operator,
    OperatorRegistrationError,
    UnknownOperatorError,
)
from greenmachine.proxy.operators.python_forms import PYTHON_SUPPORT
from greenmachine.proxy.operators.registry import get_operator, operator_names, operators, probe_values, register, unregister

# the shipped operators, registered on import: elementwise first, then the aggregations
from greenmachine.proxy.operators import elementwise  # noqa: E402,F401 - registers the elementwise operators
from greenmachine.proxy.operators.aggregations import (  # noqa: E402
    AGGREGATION_CLASSES,
    FirstLayer,
    LastLayer,
    LayerAggregation,
    LayerMaximum,
    LayerMean,
    LayerMedian,
    LayerMinimum,
    LayerNorm,
    LayerStandardDeviation,
    LayerSum,
)

__all__ = [
    "AGGREGATION", "ANY", "ELEMENTWISE", "EPSILON", "EXP_CLAMP", "LAYER", "LAYER_COUNT", "LAYER_INDEX",
    "NETWORK", "OVERFLOW_SAFE_MAGNITUDE", "PROMOTE", "TYPES", "Operator", "OperatorRegistrationError",
    "UnknownOperatorError", "PYTHON_SUPPORT", "get_operator", "operator_names", "operators", "probe_values",
    "register", "unregister", "AGGREGATION_CLASSES", "FirstLayer", "LastLayer", "LayerAggregation",
    "LayerMaximum", "LayerMean", "LayerMedian", "LayerMinimum", "LayerNorm", "LayerStandardDeviation",
    "LayerSum",
]
