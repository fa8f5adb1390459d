"""The current best proxy: a Textual ``Tree`` of operators / statistics plus its formula.

Called by the run screen on every :class:`greenmachine.events.NewBest`. The proxy tree arrives as
JSON (``NewBest.tree``) in the form :meth:`greenmachine.proxy.tree.Node.to_dict` writes: every node
has a ``kind``; ``apply`` nodes name their ``operator`` and list their ``children``,
``layer_statistic`` / ``network_statistic`` leaves carry a ``name``, ``constant`` leaves a
``value``. When :mod:`greenmachine.proxy.tree` is already loaded the tree is validated through it.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from greenmachine.errors import GMError
from greenmachine.tui.widgets.tau_plot import format_tau

#: Node kinds of the proxy tree's JSON form (``greenmachine.proxy.tree``).
APPLY = "apply"
LAYER_STATISTIC = "layer_statistic"
NETWORK_STATISTIC = "network_statistic"
CONSTANT = "constant"


def node_label(node: Mapping[str, Any]) -> str:
    """Short label of a proxy-tree node: operator, statistic name or constant (``?`` if unknown)."""
    kind = node.get("kind")
    if kind == APPLY:
        return str(node.get("operator", "?"))
    if kind in (LAYER_STATISTIC, NETWORK_STATISTIC):
        return str(node.get("name", "?"))
    if kind == CONSTANT:
        value = node.get("value")
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    return f"? ({kind})" if kind is not None else "?"


def node_children(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Children of a proxy-tree node, in order (only ``apply`` nodes have any)."""
    if node.get("kind") != APPLY:
        return []
    return [child for child in node.get("children", ()) if isinstance(child, Mapping)]


def normalise_tree(tree: Mapping[str, Any]) -> Mapping[str, Any]:
    """Round-trip through ``greenmachine.proxy.tree`` when it is loaded (else return ``tree``).

    The module pulls in torch, so the UI thread never imports it: the engine's worker (or
    the replay worker) has already loaded it. A tree it rejects is shown as given.
    """
    proxy_tree = sys.modules.get("greenmachine.proxy.tree")
    if proxy_tree is None:
        return tree
    try:
        return proxy_tree.tree_from_dict(tree).to_dict()
    except GMError:
        return tree


def tree_labels(tree: Any) -> list[str]:
    """All node labels of a proxy tree, depth first (used by tests and search)."""
    labels = [node_label(tree)]
    for child in node_children(tree):
        labels.extend(tree_labels(child))
    return labels


class ProxyView(Vertical):
    """Best proxy as a collapsible tree and as formula text."""

    DEFAULT_CSS = """
    ProxyView { height: 1fr; }
    ProxyView > #proxy-formula { height: auto; max-height: 3; }
    ProxyView > Tree { height: 1fr; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.formula = ""
        self.summary = ""
        self.tree_data: Mapping[str, Any] | None = None
        self.labels: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("no proxy yet", style="grey50"), id="proxy-formula")
        tree: Tree[Any] = Tree("best proxy", id="proxy-tree")
        tree.show_root = False
        yield tree

    def show_proxy(self, formula: str, tree: Mapping[str, Any] | None, *, generation: int | None = None,
                   search_tau: float | None = None, validation_tau: float | None = None, size: int | None = None) -> None:
        """Display a new best proxy."""
        self.formula = formula
        summary = Text()
        if generation is not None:
            summary.append(f"gen {generation} · ")
        summary.append(f"search {format_tau(search_tau)} · valid {format_tau(validation_tau)}")
        if size is not None:
            summary.append(f" · size {size}")
        self.summary = summary.plain
        self.border_subtitle = self.summary
        self.query_one("#proxy-formula", Static).update(Text(formula, style="bold"))
        widget = self.query_one("#proxy-tree", Tree)
        widget.clear()
        self.tree_data = normalise_tree(tree) if tree else None
        self.labels = []
        if self.tree_data:
            self._add(widget.root, self.tree_data, depth=0)
            widget.root.expand_all()

    def _add(self, parent: TreeNode[Any], node: Any, depth: int) -> None:
        label = node_label(node)
        self.labels.append(label)
        children = node_children(node) if depth < 64 else []
        if children:
            branch = parent.add(Text(label, style="bold cyan"), data=node)
            for child in children:
                self._add(branch, child, depth + 1)
        else:
            parent.add_leaf(Text(label, style=_leaf_style(node)), data=node)


def _leaf_style(node: Mapping[str, Any]) -> str:
    """Colour leaves by kind: layer statistics, network statistics, constants."""
    kind = node.get("kind")
    if kind == NETWORK_STATISTIC:
        return "magenta"
    if kind == CONSTANT:
        return "grey62"
    return "green"
