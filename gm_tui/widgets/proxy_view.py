"""The current best proxy: a Textual ``Tree`` of operators / statistics plus its formula.

The proxy tree arrives as JSON (``NewBest.tree``). Its exact schema belongs to the proxy
language (``core.proxy.tree``); this widget reads it defensively: a node is a dict whose
name is under ``op`` / ``operator`` / ``name`` / ``statistic`` (…) and whose children are
under ``children`` / ``args`` (…), or any nested dicts. When ``core.proxy.tree`` offers
``tree_from_dict`` it is used to validate the tree (and its ``to_dict`` normalises it).
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from gm_tui.widgets.tau_plot import format_tau

NAME_KEYS = ("op", "operator", "name", "statistic", "stat", "function", "fn", "aggregation", "symbol")
VALUE_KEYS = ("value", "constant", "const")
KIND_KEYS = ("kind", "type", "node", "node_type")
CHILD_KEYS = ("children", "args", "arguments", "operands", "inputs", "items")
CHILD_SINGLE_KEYS = ("child", "operand", "arg", "input", "body", "expression", "expr", "left", "right", "mask")


def node_label(node: Any) -> str:
    """Short label of a proxy-tree node (operator, statistic name or constant)."""
    if isinstance(node, Mapping):
        name = next((str(node[k]) for k in NAME_KEYS if isinstance(node.get(k), str)), None)
        value = next((node[k] for k in VALUE_KEYS if k in node and not isinstance(node[k], (Mapping, list))), None)
        kind = next((str(node[k]) for k in KIND_KEYS if isinstance(node.get(k), str)), None)
        if name is not None and value is not None:
            return f"{name} = {value}"
        if name is not None:
            return name
        if value is not None:
            return f"{value:.4g}" if isinstance(value, float) else str(value)
        if kind is not None:
            return kind
        return "?"
    if isinstance(node, (list, tuple)):
        return "list"
    return str(node)


def node_children(node: Any) -> list[Any]:
    """Children of a proxy-tree node, in order."""
    if isinstance(node, (list, tuple)):
        return list(node)
    if not isinstance(node, Mapping):
        return []
    for key in CHILD_KEYS:
        value = node.get(key)
        if isinstance(value, (list, tuple)):
            return list(value)
    children = [node[k] for k in CHILD_SINGLE_KEYS if isinstance(node.get(k), Mapping)]
    if children:
        return children
    skip = set(NAME_KEYS) | set(VALUE_KEYS) | set(KIND_KEYS)
    return [value for key, value in node.items() if key not in skip and isinstance(value, Mapping)]


def normalise_tree(tree: Mapping[str, Any]) -> Mapping[str, Any]:
    """Round-trip through ``core.proxy.tree`` when it is loaded (else return ``tree``).

    The module pulls in torch, so the UI thread never imports it: the engine's worker (or
    the replay worker) has already loaded it when it is available.
    """
    proxy_tree = sys.modules.get("core.proxy.tree")
    builder = getattr(proxy_tree, "tree_from_dict", None)
    if builder is None:
        return tree
    try:
        parsed = builder(tree)
        data = parsed.to_dict() if hasattr(parsed, "to_dict") else tree
        return data if isinstance(data, Mapping) else tree
    except Exception:  # noqa: BLE001 - show what we were given
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


def _leaf_style(node: Any) -> str:
    """Colour leaves by kind: layer statistics, network statistics, constants."""
    kind = str(node.get("kind", "")) if isinstance(node, Mapping) else ""
    if "network" in kind:
        return "magenta"
    if "const" in kind or (isinstance(node, Mapping) and any(k in node for k in VALUE_KEYS)):
        return "grey62"
    return "green"
