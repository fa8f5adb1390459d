"""Batched evaluation of proxy trees on a :class:`~greenmachine.stats.table.StatisticTable`.

:func:`evaluate_population` scores a whole population on all ``N`` networks in one pass:
the trees are walked together and every *distinct* subtree (trees are hashable) is
computed once, as one vectorised torch operation over all networks, whichever trees
contain it. ``layer``-typed values are ``(N, L)`` tensors (padded positions hold junk that
aggregations ignore through the table's layer mask); ``network``-typed values are
``(N, 1)`` (or 0-dimensional for constant subtrees) so that they broadcast over layers.
Everything runs on the table's device (CUDA when the table is there) in float64.

The trees are interpreted node by node -- never compiled with ``eval``/``exec``/lambdify.
Protected operators keep finite inputs finite; only float64 overflow of plain arithmetic
can produce ``inf`` (or ``nan`` after e.g. ``inf - inf``), which
:mod:`greenmachine.stats.fitness` turns into the worst fitness.

Called by :mod:`greenmachine.evolution` (each generation), the engine (test-sample scores),
``gm eval``, the benchmark script and the tests.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch

from greenmachine.errors import GMError
from greenmachine.proxy.operators import AGGREGATION, get_operator
from greenmachine.proxy.tree import Apply, Constant, LayerStatistic, NetworkStatistic, Node
from greenmachine.stats.table import StatisticTable


class PopulationEvaluator:
    """Evaluate trees on one table, remembering subtree values between calls.

    Parameters
    ----------
    table : StatisticTable
        The networks (any device).
    cache_bytes : int
        Upper bound on the memory of remembered subtree values kept *between* calls to
        :meth:`evaluate` (0 = forget after each call). Values are dropped oldest-used
        first. Within one call every distinct subtree is always computed once.

    Notes
    -----
    Remembered values are bit-identical to recomputed ones, so caching never changes a
    result (evolution stays reproducible whether or not a value was cached).
    """

    def __init__(self, table: StatisticTable, cache_bytes: int = 0) -> None:
        self.table = table
        self.cache_bytes = int(cache_bytes)
        self._layer_index = {name: i for i, name in enumerate(table.layer_statistic_names)}
        self._network_index = {name: i for i, name in enumerate(table.network_statistic_names)}
        self._mask = table.layer_mask
        self._device = table.layer_values.device
        self._cache: dict[Node, torch.Tensor] = {}
        self._cached_bytes = 0
        self.nodes_computed = 0
        """Number of distinct subtrees computed so far (for benchmarks)."""

    def evaluate(self, trees: Sequence[Node]) -> torch.Tensor:
        """Return the ``(P, N)`` float64 scores of the ``network``-typed ``trees``.

        Raises
        ------
        GMError
            If a tree is not ``network``-typed or names a statistic the table lacks.
        """
        count = self.table.num_networks
        values: dict[Node, torch.Tensor] = {}
        rows = []
        for tree in trees:
            if tree.type != "network":
                raise GMError(f"cannot score {tree}: a proxy must be network-typed, this one is {tree.type}-typed")
            value = self._value(tree, values)
            rows.append(value.reshape(-1).expand(count) if value.numel() == 1 else value.reshape(count))
        if self.cache_bytes > 0:
            self._remember(values)
        if not rows:
            return torch.empty((0, count), dtype=torch.float64, device=self._device)
        return torch.stack(rows)

    def _remember(self, values: dict[Node, torch.Tensor]) -> None:
        cache = self._cache
        for node, tensor in values.items():
            if node in cache:
                cache[node] = cache.pop(node)  # most recently used last
            elif not isinstance(node, (LayerStatistic, NetworkStatistic)):
                cache[node] = tensor
                self._cached_bytes += tensor.numel() * tensor.element_size()
        while self._cached_bytes > self.cache_bytes and cache:
            oldest = next(iter(cache))
            tensor = cache.pop(oldest)
            self._cached_bytes -= tensor.numel() * tensor.element_size()

    def _value(self, node: Node, values: dict[Node, torch.Tensor]) -> torch.Tensor:
        found = values.get(node)
        if found is not None:
            return found
        found = self._cache.get(node)
        if found is not None:
            values[node] = found
            return found
        if isinstance(node, LayerStatistic):
            index = self._layer_index.get(node.name)
            if index is None:
                raise GMError(f"the statistic table has no per-layer statistic {node.name!r}")
            result = self.table.layer_values[index]
        elif isinstance(node, NetworkStatistic):
            index = self._network_index.get(node.name)
            if index is None:
                raise GMError(f"the statistic table has no network statistic {node.name!r}")
            result = self.table.network_values[index].unsqueeze(-1)
        elif isinstance(node, Constant):
            result = torch.tensor(node.value, dtype=torch.float64, device=self._device)
        else:
            assert isinstance(node, Apply)
            operator = get_operator(node.operator)
            arguments = [self._value(child, values) for child in node.children]
            if operator.kind == AGGREGATION:
                result = operator.torch_function(arguments[0], self._mask)
            else:
                result = operator.torch_function(*arguments)
            self.nodes_computed += 1
        values[node] = result
        return result

    def clear(self) -> None:
        """Forget all remembered subtree values."""
        self._cache.clear()
        self._cached_bytes = 0


def evaluate_population(trees: Iterable[Node], table: StatisticTable) -> torch.Tensor:
    """Score ``trees`` on every network of ``table`` in one batched computation.

    Parameters
    ----------
    trees : iterable of Node
        ``network``-typed proxy trees (``P`` of them).
    table : StatisticTable
        ``N`` networks; the computation runs on its device.

    Returns
    -------
    torch.Tensor
        float64 ``(P, N)`` scores, on the table's device. Non-finite entries are possible
        only from float64 overflow.

    Raises
    ------
    GMError
        If a tree is not ``network``-typed or names a statistic the table lacks.
    """
    with torch.no_grad():
        return PopulationEvaluator(table).evaluate(list(trees))
