"""Typed, immutable expression trees: the proxy formulas that evolution designs.

A tree is built from four frozen, hashable node classes:

* :class:`LayerStatistic` ``(name)`` -- a per-layer statistic of the probe (``layer``-typed),
* :class:`NetworkStatistic` ``(name)`` -- a network-level statistic (``network``-typed),
* :class:`Constant` ``(value)`` -- an ephemeral constant (``network``-typed: the same
  scalar for every network),
* :class:`Apply` ``(operator, children)`` -- a registered operator (see
  :mod:`core.proxy.operators`) applied to child trees; its type follows from the
  operator's signature and the children's types, checked at construction.

A *proxy* is a ``network``-typed tree (one score per network). Every node caches its hash,
``size`` (number of nodes) and ``depth`` (nodes on the longest root-to-leaf path; a leaf
has depth 1), so trees are cheap dictionary keys: :mod:`core.proxy.evaluate` shares
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
:data:`~core.proxy.operators.LAYER_INDEX`; a network statistic is ``Symbol(name,
real=True)``; a constant is an ``Integer`` when integral, else a ``Float``; operators apply their registered sympy function;
an aggregation is a :class:`~core.proxy.operators.LayerAggregation` subclass applied to the
inner per-layer expression (``LayerSum(log(Abs(snip[l]) + 1.0e-30))``), meaning "reduce
over the layers of the network". Network symbols inside an aggregation are broadcast over
the layers. If the inner expression stops depending on ``l``, the aggregation rewrites
itself with the layer-count symbol ``L`` (``LayerSum(2) = 2*L``). :func:`lambdify_sympy`
turns such an expression into a numpy function of one network's layer vectors, network
values and layer count; :func:`evaluate_sympy` evaluates it on every network of a
:class:`~core.table.StatisticTable` (tests and export; the engine never uses it).

Called by :mod:`core.proxy.generate`, :mod:`core.proxy.evaluate`, :mod:`core.evolution`,
the engine (``best_proxy.json``), the formula export, the TUI and the tests.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from core.errors import GMError
from core.proxy.operators import (
    LAYER,
    LAYER_COUNT,
    LAYER_INDEX,
    NETWORK,
    Operator,
    get_operator,
)

Path = tuple[int, ...]
"""Position of a subtree: child indices from the root (``()`` is the root)."""

MAX_DEPTH = 64
"""Hard maximum depth of any tree (twice the largest ``evolution.max_depth``, so crossover
of two trees at the profile limit stays below it). Every recursive walk of a tree (sympy
form, batched evaluation, equality) is bounded by it; deeper trees are a :class:`GMError`."""
MAX_SIZE = 8000
"""Hard maximum number of nodes of any tree (four times the largest ``evolution.max_size``:
evolution's intermediate trees, rejected afterwards when over the profile's limit, stay below)."""


class Node:
    """Base class of tree nodes (see the module docstring).

    Attributes
    ----------
    type : str
        ``"layer"`` or ``"network"``.
    size : int
        Number of nodes.
    depth : int
        Nodes on the longest root-to-leaf path (a leaf has depth 1).
    """

    __slots__ = ()
    children: tuple["Node", ...] = ()

    # set by subclasses in __post_init__
    _hash: int
    size: int
    depth: int
    type: str

    def __hash__(self) -> int:
        return self._hash

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form (operator and statistic names, see module docstring)."""
        raise NotImplementedError

    def to_sympy(self) -> sympy.Expr:
        """Return the sympy expression of the tree (see the module docstring)."""
        cache: dict[Node, sympy.Expr] = {}
        return _to_sympy(self, cache)

    def subtrees(self) -> Iterator[tuple[Path, "Node"]]:
        """Yield ``(path, subtree)`` for every node, pre-order (root first)."""
        stack: list[tuple[Path, Node]] = [((), self)]
        while stack:
            path, node = stack.pop()
            yield path, node
            for index in range(len(node.children) - 1, -1, -1):
                stack.append((path + (index,), node.children[index]))

    def at(self, path: Path) -> "Node":
        """Return the subtree at ``path``."""
        node: Node = self
        for index in path:
            node = node.children[index]
        return node

    def replace(self, path: Path, new: "Node") -> "Node":
        """Return a copy of the tree with the subtree at ``path`` replaced by ``new``.

        Raises
        ------
        GMError
            If ``new`` does not fit the operator above it (type check of :class:`Apply`).
        """
        if not path:
            return new
        assert isinstance(self, Apply)
        index = path[0]
        children = list(self.children)
        children[index] = children[index].replace(path[1:], new)
        return Apply(self.operator, tuple(children))

    def statistics(self) -> tuple[set[str], set[str]]:
        """Return the (layer, network) statistic names the tree uses."""
        layer: set[str] = set()
        network: set[str] = set()
        for _, node in self.subtrees():
            if isinstance(node, LayerStatistic):
                layer.add(node.name)
            elif isinstance(node, NetworkStatistic):
                network.add(node.name)
        return layer, network

    def __str__(self) -> str:
        return _to_text(self)


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise GMError(f"{what} name must be a non-empty string, got {_short(name)}")


@dataclass(frozen=True, eq=False, repr=True)
class LayerStatistic(Node):
    """A per-layer statistic of the probe, by name (``layer``-typed leaf)."""

    name: str
    _hash: int = field(init=False, repr=False, compare=False)
    size: int = field(init=False, repr=False, compare=False, default=1)
    depth: int = field(init=False, repr=False, compare=False, default=1)
    type: str = field(init=False, repr=False, compare=False, default=LAYER)

    def __post_init__(self) -> None:
        _check_name(self.name, "layer statistic")
        object.__setattr__(self, "_hash", hash(("layer_statistic", self.name)))

    def __eq__(self, other: object) -> bool:
        return self is other or (type(other) is LayerStatistic and other.name == self.name)  # type: ignore[union-attr]

    __hash__ = Node.__hash__

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "layer_statistic", "name": self.name}


@dataclass(frozen=True, eq=False, repr=True)
class NetworkStatistic(Node):
    """A network-level statistic of the probe, by name (``network``-typed leaf)."""

    name: str
    _hash: int = field(init=False, repr=False, compare=False)
    size: int = field(init=False, repr=False, compare=False, default=1)
    depth: int = field(init=False, repr=False, compare=False, default=1)
    type: str = field(init=False, repr=False, compare=False, default=NETWORK)

    def __post_init__(self) -> None:
        _check_name(self.name, "network statistic")
        object.__setattr__(self, "_hash", hash(("network_statistic", self.name)))

    def __eq__(self, other: object) -> bool:
        return self is other or (type(other) is NetworkStatistic and other.name == self.name)  # type: ignore[union-attr]

    __hash__ = Node.__hash__

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "network_statistic", "name": self.name}


@dataclass(frozen=True, eq=False, repr=True)
class Constant(Node):
    """An ephemeral constant (``network``-typed leaf: same value for every network)."""

    value: float
    _hash: int = field(init=False, repr=False, compare=False)
    size: int = field(init=False, repr=False, compare=False, default=1)
    depth: int = field(init=False, repr=False, compare=False, default=1)
    type: str = field(init=False, repr=False, compare=False, default=NETWORK)

    def __post_init__(self) -> None:
        value = self.value
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # beyond float64: not a finite number
                value = math.inf
        if not isinstance(value, float) or not math.isfinite(value):
            raise GMError(f"a constant must be a finite number, got {_short(self.value)}")
        value = float(value)
        if value == 0.0:
            value = 0.0  # one zero: -0.0 and 0.0 are the same constant
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "_hash", hash(("constant", value)))

    def __eq__(self, other: object) -> bool:
        return self is other or (type(other) is Constant and other.value == self.value)  # type: ignore[union-attr]

    __hash__ = Node.__hash__

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "constant", "value": self.value}


@dataclass(frozen=True, eq=False, repr=True)
class Apply(Node):
    """A registered operator applied to child trees.

    Raises
    ------
    GMError
        Unknown operator, wrong number of children, or child types that do not fit the
        operator's signature.
    """

    operator: str
    children: tuple[Node, ...]
    _hash: int = field(init=False, repr=False, compare=False)
    size: int = field(init=False, repr=False, compare=False)
    depth: int = field(init=False, repr=False, compare=False)
    type: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        operator = get_operator(self.operator)
        children = tuple(self.children)
        for child in children:
            if not isinstance(child, Node):
                raise GMError(f"operator {self.operator!r}: child {child!r} is not a tree node")
        object.__setattr__(self, "children", children)
        object.__setattr__(self, "type", operator.result_type(child.type for child in children))
        size = 1 + sum(child.size for child in children)
        depth = 1 + max(child.depth for child in children)
        if depth > MAX_DEPTH or size > MAX_SIZE:
            raise GMError(
                f"proxy tree too large: depth {depth}, {size} nodes (at most depth {MAX_DEPTH}, {MAX_SIZE} nodes)"
            )
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "depth", depth)
        object.__setattr__(self, "_hash", hash((self.operator, children)))

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return (
            type(other) is Apply
            and other._hash == self._hash  # type: ignore[union-attr]
            and other.operator == self.operator  # type: ignore[union-attr]
            and other.children == self.children  # type: ignore[union-attr]
        )

    __hash__ = Node.__hash__

    @property
    def op(self) -> Operator:
        """The registered :class:`~core.proxy.operators.Operator`."""
        return get_operator(self.operator)

    def to_dict(self) -> dict[str, Any]:
        # iterative post-order (no recursion, whatever the depth)
        built: dict[int, dict[str, Any]] = {}
        stack: list[tuple[Node, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if not isinstance(node, Apply):
                built[id(node)] = node.to_dict()
            elif expanded:
                built[id(node)] = {
                    "kind": "apply",
                    "operator": node.operator,
                    "children": [built[id(child)] for child in node.children],
                }
            elif id(node) not in built:
                stack.append((node, True))
                stack.extend((child, False) for child in node.children)
        return built[id(self)]


def _to_text(root: Node) -> str:
    # iterative post-order (no recursion, whatever the depth)
    texts: dict[int, str] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if isinstance(node, (LayerStatistic, NetworkStatistic)):
            texts[id(node)] = node.name
        elif isinstance(node, Constant):
            texts[id(node)] = f"{node.value:g}"
        elif expanded:
            assert isinstance(node, Apply)
            texts[id(node)] = node.op.display.format(*(texts[id(child)] for child in node.children))
        elif id(node) not in texts:
            stack.append((node, True))
            stack.extend((child, False) for child in node.children)
    return texts[id(root)]


def _to_sympy(node: Node, cache: dict[Node, sympy.Expr]) -> sympy.Expr:
    found = cache.get(node)
    if found is not None:
        return found
    if isinstance(node, LayerStatistic):
        result = sympy.IndexedBase(node.name, real=True)[LAYER_INDEX]
    elif isinstance(node, NetworkStatistic):
        result = sympy.Symbol(node.name, real=True)
    elif isinstance(node, Constant):
        value = node.value
        result = sympy.Integer(int(value)) if value.is_integer() and abs(value) < 2**53 else sympy.Float(value)
    else:
        assert isinstance(node, Apply)
        result = node.op.sympy_function(*(_to_sympy(child, cache) for child in node.children))
    cache[node] = result
    return result


def tree_from_dict(
    data: Mapping[str, Any],
    layer_statistic_names: Sequence[str] | None = None,
    network_statistic_names: Sequence[str] | None = None,
) -> Node:
    """Rebuild a tree from its :meth:`Node.to_dict` form.

    Parameters
    ----------
    data : mapping
        The JSON form.
    layer_statistic_names, network_statistic_names : sequence of str, optional
        When given, every statistic the tree names must be among them.

    Raises
    ------
    GMError
        Malformed data, unknown operator, type error, or (when names are given) unknown
        statistic; the message says which.
    """
    tree = _from_dict(data)
    if layer_statistic_names is not None or network_statistic_names is not None:
        validate_statistics(tree, layer_statistic_names or (), network_statistic_names or ())
    return tree


_KINDS = "layer_statistic, network_statistic, constant or apply"


def _from_dict(data: Any) -> Node:
    """Build a tree from its JSON form without recursion (any depth is a clean error)."""
    results: list[Node] = []  # built subtrees, children before their parent
    # (item, depth, expanded): an "apply" item is seen twice, before and after its children
    stack: list[tuple[Any, int, bool]] = [(data, 1, False)]
    count = 0
    while stack:
        item, depth, expanded = stack.pop()
        if expanded:
            arity = len(item["children"])
            children = tuple(results[len(results) - arity:])
            del results[len(results) - arity:]
            results.append(Apply(item["operator"], children))
            continue
        if not isinstance(item, Mapping):
            raise GMError(f"proxy tree node must be an object, got {_short(item)}")
        count += 1
        if depth > MAX_DEPTH or count > MAX_SIZE:
            raise GMError(f"proxy tree too large (at most depth {MAX_DEPTH} and {MAX_SIZE} nodes)")
        kind = item.get("kind")
        if kind == "layer_statistic":
            results.append(LayerStatistic(item.get("name")))  # type: ignore[arg-type]
        elif kind == "network_statistic":
            results.append(NetworkStatistic(item.get("name")))  # type: ignore[arg-type]
        elif kind == "constant":
            results.append(Constant(item.get("value")))  # type: ignore[arg-type]
        elif kind == "apply":
            operator = item.get("operator")
            if not isinstance(operator, str):
                raise GMError(f"operator name must be a string, got {_short(operator)}")
            get_operator(operator)  # unknown operator: fail before looking at the children
            children = item.get("children")
            if not isinstance(children, (list, tuple)):
                raise GMError(f"operator node {operator!r} has no list of children")
            stack.append(({"operator": operator, "children": tuple(children)}, depth, True))
            stack.extend((child, depth + 1, False) for child in reversed(children))
        else:
            raise GMError(f"unknown proxy tree node kind {_short(kind)} (expected {_KINDS})")
    return results[0]


def _short(value: Any) -> str:
    """``repr`` cut to one short line (for error messages about untrusted data)."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<deeply nested {type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def validate_statistics(
    tree: Node, layer_statistic_names: Sequence[str], network_statistic_names: Sequence[str]
) -> None:
    """Check that every statistic ``tree`` names exists.

    Raises
    ------
    GMError
        Naming the first unknown statistic and the known ones.
    """
    layer, network = tree.statistics()
    known_layer = set(layer_statistic_names)
    known_network = set(network_statistic_names)
    for name in sorted(layer - known_layer):
        raise GMError(
            f"proxy uses unknown per-layer statistic {name!r} (known: {', '.join(sorted(known_layer)) or 'none'})"
        )
    for name in sorted(network - known_network):
        raise GMError(
            f"proxy uses unknown network statistic {name!r} (known: {', '.join(sorted(known_network)) or 'none'})"
        )


def check_proxy(tree: Node) -> None:
    """Raise :class:`GMError` unless ``tree`` is a proxy (``network``-typed root)."""
    if tree.type != NETWORK:
        raise GMError(f"a proxy must be network-typed at its root; {tree} is {tree.type}-typed")


# --------------------------------------------------------------------------- sympy helpers


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
    engine uses :func:`core.proxy.evaluate.evaluate_population`.

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
