"""JSON form of proxy trees: :func:`tree_from_dict`, the inverse of
:meth:`~greenmachine.proxy.tree.Node.to_dict`, with limits on depth and size.

Untrusted data (checkpoints, ``best_proxy.json``, shipped proxies) is read without
recursion: any nesting depth, any malformed node is one clean :class:`GMError`.

Called through :mod:`greenmachine.proxy.tree` (which re-exports :func:`tree_from_dict`) by
evolution checkpoints, the run directory, the shipped proxies, the export and the TUI.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from greenmachine.errors import GMError
from greenmachine.proxy.operators import get_operator
from greenmachine.proxy.tree.nodes import (
    MAX_DEPTH,
    MAX_SIZE,
    Apply,
    Constant,
    LayerStatistic,
    NetworkStatistic,
    Node,
    _short,
    validate_statistics,
)


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
