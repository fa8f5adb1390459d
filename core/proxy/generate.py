"""Random typed trees: the primitive set of a search and the tree generators.

:class:`Primitives` holds what a search may build trees from (per-layer and network
statistic names, operators, ephemeral constants) and draws random, type-correct trees from
it with the classic *full* and *grow* methods and *ramped half-and-half*
(:meth:`Primitives.ramped_half_and_half`). All randomness comes from the
``random.Random`` passed in, so a seeded caller gets the same trees every time.

Called by :mod:`greenmachine.evolution` (initial population, subtree/point/constant mutation) and
the tests (random trees for the round-trip checks).
"""

from __future__ import annotations

import math
import random
from typing import Sequence

from greenmachine.errors import GMError
from greenmachine.proxy.operators import AGGREGATION, ELEMENTWISE, LAYER, NETWORK, Operator, get_operator, operators
from greenmachine.proxy.tree import Apply, Constant, LayerStatistic, NetworkStatistic, Node

CONSTANT_CHOICES = (-1.0, 0.5, 1.0, 2.0, 3.0, 10.0)


def round_constant(value: float) -> float:
    """Round a constant to 3 significant digits (readable formulas; exact JSON)."""
    if value == 0.0 or not math.isfinite(value):
        return 0.0
    return float(f"{value:.3g}")


class Primitives:
    """The building blocks of one search, and random tree generation from them.

    Parameters
    ----------
    layer_statistic_names, network_statistic_names : sequence of str
        Statistics the trees may use (at least one per-layer statistic).
    operator_names : sequence of str, optional
        Registered operators to use (default: all).
    constant_probability : float
        Probability that a ``network``-typed leaf is an ephemeral constant rather than a
        network statistic.
    leaf_probability : float
        *Grow* method: probability of stopping at a leaf below the root.
    aggregation_probability : float
        Probability that a ``network``-typed inner node is an aggregation of a layer
        expression (rather than an elementwise operator on network values).
    binary_probability : float
        Probability that an elementwise inner node is binary (rather than unary).

    Raises
    ------
    GMError
        No per-layer statistic, or an unknown operator name.
    """

    def __init__(
        self,
        layer_statistic_names: Sequence[str],
        network_statistic_names: Sequence[str],
        operator_names: Sequence[str] | None = None,
        constant_probability: float = 0.2,
        leaf_probability: float = 0.3,
        aggregation_probability: float = 0.5,
        binary_probability: float = 0.5,
    ) -> None:
        self.layer_statistic_names = tuple(layer_statistic_names)
        self.network_statistic_names = tuple(network_statistic_names)
        if not self.layer_statistic_names:
            raise GMError("a proxy search needs at least one per-layer statistic")
        chosen = [get_operator(name) for name in operator_names] if operator_names is not None else list(operators())
        self.operator_names = tuple(op.name for op in chosen)
        self.unary = tuple(op for op in chosen if op.kind == ELEMENTWISE and op.arity == 1)
        self.binary = tuple(op for op in chosen if op.kind == ELEMENTWISE and op.arity == 2)
        self.aggregations = tuple(op for op in chosen if op.kind == AGGREGATION)
        if not self.aggregations:
            raise GMError("a proxy search needs at least one aggregation operator")
        if not (self.unary or self.binary):
            raise GMError("a proxy search needs at least one elementwise operator")
        self.constant_probability = constant_probability
        self.leaf_probability = leaf_probability
        self.aggregation_probability = aggregation_probability
        self.binary_probability = binary_probability

    # ----------------------------------------------------------------- leaves

    def random_constant(self, rng: random.Random) -> Constant:
        """Draw an ephemeral constant (a round value, or uniform in [-5, 5] to 3 digits)."""
        if rng.random() < 0.5:
            return Constant(rng.choice(CONSTANT_CHOICES))
        value = round_constant(rng.uniform(-5.0, 5.0))
        return Constant(value if value != 0.0 else 1.0)

    def terminal(self, rng: random.Random, type_: str) -> Node:
        """Draw a leaf of type ``type_``."""
        if type_ == LAYER:
            return LayerStatistic(rng.choice(self.layer_statistic_names))
        if not self.network_statistic_names or rng.random() < self.constant_probability:
            return self.random_constant(rng)
        return NetworkStatistic(rng.choice(self.network_statistic_names))

    # ----------------------------------------------------------------- inner nodes

    def function(self, rng: random.Random, type_: str) -> tuple[Operator, tuple[str, ...]]:
        """Draw an operator producing ``type_`` and the types of its children."""
        if type_ == NETWORK and rng.random() < self.aggregation_probability:
            return rng.choice(self.aggregations), (LAYER,)
        if self.binary and (not self.unary or rng.random() < self.binary_probability):
            operator = rng.choice(self.binary)
        else:
            operator = rng.choice(self.unary)
        if type_ == NETWORK:
            return operator, (NETWORK,) * operator.arity
        if operator.arity == 1:
            return operator, (LAYER,)
        draw = rng.random()
        if draw < 0.5:
            return operator, (LAYER, LAYER)
        return operator, ((LAYER, NETWORK) if draw < 0.75 else (NETWORK, LAYER))

    def alternatives(self, operator: Operator) -> tuple[Operator, ...]:
        """Operators that can replace ``operator`` in place (same kind and arity)."""
        if operator.kind == AGGREGATION:
            return self.aggregations
        return self.unary if operator.arity == 1 else self.binary

    # ----------------------------------------------------------------- trees

    def full(self, rng: random.Random, type_: str, depth: int) -> Node:
        """*Full* method: every branch reaches exactly ``depth`` (leaf = depth 1)."""
        if depth <= 1:
            return self.terminal(rng, type_)
        operator, child_types = self.function(rng, type_)
        return Apply(operator.name, tuple(self.full(rng, t, depth - 1) for t in child_types))

    def grow(self, rng: random.Random, type_: str, depth: int, root: bool = True) -> Node:
        """*Grow* method: branches stop at random, no deeper than ``depth``.

        The root itself is an inner node whenever ``depth > 1``.
        """
        if depth <= 1 or (not root and rng.random() < self.leaf_probability):
            return self.terminal(rng, type_)
        operator, child_types = self.function(rng, type_)
        return Apply(operator.name, tuple(self.grow(rng, t, depth - 1, root=False) for t in child_types))

    def random_tree(self, rng: random.Random, type_: str = NETWORK, depth: int = 4, method: str = "grow") -> Node:
        """Draw one tree of type ``type_`` by ``method`` (``full`` or ``grow``)."""
        if method == "full":
            return self.full(rng, type_, depth)
        if method == "grow":
            return self.grow(rng, type_, depth)
        raise GMError(f"unknown tree generation method {method!r} (full or grow)")

    def ramped_half_and_half(
        self,
        rng: random.Random,
        count: int,
        min_depth: int,
        max_depth: int,
        max_size: int | None = None,
        unique: bool = True,
        attempts: int = 20,
    ) -> list[Node]:
        """Draw ``count`` proxies, depths ramped over ``min_depth..max_depth``, half *full*
        and half *grow*.

        Trees over ``max_size`` nodes, trees without any statistic and (with ``unique``)
        repeats are redrawn, up to ``attempts`` times per tree (then the last draw that
        fits the size limit is kept).
        """
        depths = list(range(min_depth, max_depth + 1)) or [max_depth]
        population: list[Node] = []
        seen: set[Node] = set()
        for index in range(count):
            depth = depths[index % len(depths)]
            method = "full" if (index // len(depths)) % 2 == 0 else "grow"
            fallback: Node | None = None
            chosen: Node | None = None
            for attempt in range(attempts):
                draw_method = method if attempt < attempts // 2 else "grow"
                tree = self.random_tree(rng, NETWORK, depth, draw_method)
                if max_size is not None and tree.size > max_size:
                    continue
                fallback = tree
                if not uses_statistics(tree) or (unique and tree in seen):
                    continue
                chosen = tree
                break
            if chosen is None:
                chosen = fallback if fallback is not None else self.grow(rng, NETWORK, 2)
            population.append(chosen)
            seen.add(chosen)
        return population


def uses_statistics(tree: Node) -> bool:
    """True if ``tree`` contains at least one statistic (else its scores are constant)."""
    return any(isinstance(node, (LayerStatistic, NetworkStatistic)) for _, node in tree.subtrees())


def synthetic_table(
    num_networks: int = 200,
    num_layer_statistics: int = 40,
    num_network_statistics: int = 15,
    min_layers: int = 10,
    max_layers: int = 40,
    seed: int = 0,
    extreme: bool = True,
):
    """A random :class:`~greenmachine.stats.table.StatisticTable` of realistic shape (tests, benchmarks).

    Per-layer statistics are named ``layer_statistic_00``..., network statistics
    ``network_statistic_00``...; layer counts are ragged in ``min_layers..max_layers``.
    With ``extreme`` the magnitudes span about 1e-8..1e30 with exact zeros and negatives
    (like a real probe); without it values are moderate (about 0.05..20, with negatives).
    """
    import numpy as np
    import torch

    from greenmachine.stats.table import StatisticTable

    generator = np.random.default_rng(seed)
    counts = generator.integers(min_layers, max_layers + 1, size=num_networks)
    width = int(counts.max())
    mask = np.arange(width)[None, :] < counts[:, None]

    def draw(shape: tuple[int, ...], statistic: int) -> np.ndarray:
        if extreme:
            centre = generator.uniform(-8.0, 28.0)
            magnitude = 10.0 ** (centre + generator.normal(0.0, 1.0, size=shape))
        else:
            magnitude = np.exp(generator.normal(0.0, 1.0, size=shape))
        sign = np.where(generator.random(shape) < (0.3 if statistic % 3 == 0 else 0.0), -1.0, 1.0)
        values = sign * magnitude
        if extreme and statistic % 5 == 0:
            values[generator.random(shape) < 0.1] = 0.0
        return values

    layer_values = np.stack([draw((num_networks, width), s) for s in range(num_layer_statistics)])
    layer_values = np.where(mask[None], layer_values, 0.0)
    network_values = np.stack([draw((num_networks,), s) for s in range(num_network_statistics)])
    return StatisticTable(
        tuple(f"layer_statistic_{i:02d}" for i in range(num_layer_statistics)),
        tuple(f"network_statistic_{i:02d}" for i in range(num_network_statistics)),
        torch.from_numpy(layer_values),
        torch.from_numpy(mask),
        torch.from_numpy(network_values),
    )
