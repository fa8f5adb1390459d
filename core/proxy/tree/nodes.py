"""The node types of proxy trees, their size limits, their text and sympy forms, and the
checks of a whole tree (statistic names, network-typed root).

See :mod:`greenmachine.proxy.tree` for the tree language; every public name here is re-exported
there. Called by the other modules of :mod:`greenmachine.proxy.tree`; other code imports from
:mod:`greenmachine.proxy.tree`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import sympy

from greenmachine.errors import GMError
from greenmachine.proxy.operators import (
    LAYER,
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
    """Base class of tree nodes (see :mod:`greenmachine.proxy.tree`).

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
        """Return the JSON-ready form (operator and statistic names, see :mod:`greenmachine.proxy.tree`)."""
        raise NotImplementedError

    def to_sympy(self) -> sympy.Expr:
        """Return the sympy expression of the tree (see :mod:`greenmachine.proxy.tree`)."""
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
        """The registered :class:`~greenmachine.proxy.operators.Operator`."""
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

