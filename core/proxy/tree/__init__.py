"""Typed, immutable expression trees: the proxy formulas that evolution designs.

A tree is built from four frozen, hashable node classes:

* :class:`LayerStatistic` ``(name)`` -- a per-layer statistic of the probe (``layer``-typed),
* :class:`NetworkStatistic` ``(name)`` -- a network-level statistic (``network``-typed),
* :class:`Constant` ``(value)`` -- an ephemeral constant (``network``-typed: the same
  scalar for every network),
* :class:`Apply` ``(operator, children)`` -- a registered operator (see
  :mod:`greenmachine.proxy.operators`) applied to child trees; its type follows from the
  operator's signature and the children's types, checked at construction.

A *proxy* is a ``network``-typed tree (one score per network). Every node caches its hash,
``size`` (number of nodes) and ``depth`` (nodes on the longest root-to-leaf path; a leaf
has depth 1), so trees are cheap dictionary keys: :mod:`greenmachine.proxy.evaluate` shares
identical subtrees across a whole population.

Serialisation (``to_dict`` / :func:`tree_from_dict`) uses operator and statistic *names*,
never indices::

    {"kind": "apply", "operator": "sum", "children": [
        {"kind": "apply", "operator": "logarithm", "children": [
            {"kind": "layer_statistic", "name": "snip"}]}]}
    {"kind": "network_statistic", "name": "params"}
    {"kind": "constant", "value": 0.5}

Sympy form (``to_sympy``): a per-layer statistic ``snip`` is the indexed symbol
``IndexedBase("snip", real=True)[l]`` with the layer index ``l`` =
:data:`~greenmachine.proxy.operators.LAYER_INDEX`; a network statistic is ``Symbol(name,
real=True)``; a constant is an ``Integer`` when integral, else a ``Float``; operators apply their registered sympy function;
an aggregation is a :class:`~greenmachine.proxy.operators.LayerAggregation` subclass applied to the
inner per-layer expression (``LayerSum(log(Abs(snip[l]) + 1.0e-30))``), meaning "reduce
over the layers of the network". Network symbols inside an aggregation are broadcast over
the layers. If the inner expression stops depending on ``l``, the aggregation rewrites
itself with the layer-count symbol ``L`` (``LayerSum(2) = 2*L``). :func:`lambdify_sympy`
turns such an expression into a numpy function of one network's layer vectors, network
values and layer count; :func:`evaluate_sympy` evaluates it on every network of a
:class:`~greenmachine.stats.table.StatisticTable` (tests and export; the engine never uses it).

Layout: :mod:`~greenmachine.proxy.tree.nodes` (node types, limits, text and sympy forms, checks),
:mod:`~greenmachine.proxy.tree.serialisation` (:func:`tree_from_dict`) and
:mod:`~greenmachine.proxy.tree.sympy_forms` (:func:`lambdify_sympy`, :func:`evaluate_sympy`).
Every public name is re-exported here: import from ``greenmachine.proxy.tree``.

Called by :mod:`greenmachine.proxy.generate`, :mod:`greenmachine.proxy.evaluate`, :mod:`greenmachine.evolution`,
the engine (``best_proxy.json``), the formula export, the TUI and the tests.
"""

from greenmachine.proxy.tree.nodes import (
    MAX_DEPTH,
    MAX_SIZE,
    Apply,
    Constant,
    LayerStatistic,
    NetworkStatistic,
    Node,
    Path,
    check_proxy,
    validate_statistics,
)
from greenmachine.proxy.tree.serialisation import tree_from_dict
from greenmachine.proxy.tree.sympy_forms import evaluate_sympy, lambdify_sympy

__all__ = [
    "MAX_DEPTH", "MAX_SIZE", "Apply", "Constant", "LayerStatistic", "NetworkStatistic", "Node", "Path",
    "check_proxy", "validate_statistics", "tree_from_dict", "evaluate_sympy", "lambdify_sympy",
]
