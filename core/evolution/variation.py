"""Breeding one generation from the last: elitism, tournament selection and the variation
operators of typed genetic programming.

Variations (chosen with the profile's rates; the remaining probability is plain
reproduction): typed subtree crossover (a subtree of the recipient is replaced by a donor
subtree of the same type), subtree mutation (a random subtree of the same type), point
mutation (an operator by another of the same kind and arity, a statistic by another of the
same type, a constant by a constant or a network statistic), hoist mutation (a subtree
replaced by one of its own same-typed subtrees) and constant mutation (a constant
perturbed). Children over ``max_depth`` / ``max_size``, without any statistic or already in
the new population are rejected and redrawn (a few times, then the parent is copied). Every
random draw comes from the caller's ``random.Random``, in a fixed order, so a seed gives one
population.

Called by :meth:`greenmachine.evolution.Evolution.step` (every generation after the first).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from greenmachine.proxy.generate import Primitives, round_constant, uses_statistics
from greenmachine.proxy.operators import NETWORK, get_operator
from greenmachine.proxy.tree import Apply, Constant, LayerStatistic, NetworkStatistic, Node
from greenmachine.settings.profile import EvolutionSettings

_MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Breeder:
    """Breeds the next population with ``rng`` (see the module docstring).

    Attributes
    ----------
    rng : random.Random
        The evolution's random generator (its state is part of the checkpoint).
    settings : EvolutionSettings
        Population size, elitism, tournament size, variation rates and tree limits.
    primitives : Primitives
        The statistics and operators the trees may use.
    """

    rng: random.Random
    settings: EvolutionSettings
    primitives: Primitives

    def breed(self, population: list[Node], penalised: list[float]) -> list[Node]:
        """Return the next population: the ``elitism`` best trees, then bred children.

        Parameters
        ----------
        population : list of Node
            The current population.
        penalised : list of float
            Its penalised fitness (``tau - parsimony * size``), aligned with ``population``.
        """
        settings = self.settings
        order = sorted(range(len(population)), key=lambda i: (-penalised[i], i))
        children: list[Node] = []
        seen: set[Node] = set()
        for index in order:
            if len(children) >= min(settings.elitism, settings.population):
                break
            tree = population[index]
            if tree not in seen:
                children.append(tree)
                seen.add(tree)
        while len(children) < settings.population:
            child = None
            parent = None
            for _ in range(_MAX_ATTEMPTS):
                parent = self.tournament(population, penalised)
                candidate = self.vary(parent, population, penalised)
                if candidate is None or not self.fits(candidate) or candidate in seen:
                    continue
                child = candidate
                break
            if child is None:
                child = parent if parent is not None else population[order[0]]
            children.append(child)
            seen.add(child)
        return children

    def fits(self, tree: Node) -> bool:
        """True if ``tree`` is a network-typed proxy within the limits that uses a statistic."""
        return (
            tree.type == NETWORK
            and tree.depth <= self.settings.max_depth
            and tree.size <= self.settings.max_size
            and uses_statistics(tree)
        )

    def tournament(self, population: list[Node], penalised: list[float]) -> Node:
        """Return the winner of one tournament (``tournament_size`` draws with replacement)."""
        size = len(population)
        best = self.rng.randrange(size)
        for _ in range(self.settings.tournament_size - 1):
            other = self.rng.randrange(size)
            if penalised[other] > penalised[best] or (penalised[other] == penalised[best] and other < best):
                best = other
        return population[best]

    def vary(self, parent: Node, population: list[Node], penalised: list[float]) -> Node | None:
        """Return ``parent`` after one variation drawn with the profile's rates (None: no child)."""
        s = self.settings
        rates = [
            ("crossover", s.crossover_rate),
            ("subtree", s.subtree_mutation_rate),
            ("point", s.point_mutation_rate),
            ("hoist", s.hoist_mutation_rate),
            ("constant", s.constant_mutation_rate),
        ]
        total = sum(rate for _, rate in rates)
        draw = self.rng.random() * max(total, 1.0)
        chosen = "reproduction"
        for name, rate in rates:
            if draw < rate:
                chosen = name
                break
            draw -= rate
        if chosen == "crossover":
            return self.crossover(parent, self.tournament(population, penalised))
        if chosen == "subtree":
            return self.subtree_mutation(parent)
        if chosen == "point":
            return self.point_mutation(parent)
        if chosen == "hoist":
            return self.hoist_mutation(parent)
        if chosen == "constant":
            return self.constant_mutation(parent)
        return parent

    def crossover(self, recipient: Node, donor: Node) -> Node | None:
        """Replace a subtree of ``recipient`` by a same-typed, different subtree of ``donor``."""
        points = list(recipient.subtrees())
        donor_points = list(donor.subtrees())
        for _ in range(3):
            path, node = self.rng.choice(points)
            matching = [sub for _, sub in donor_points if sub.type == node.type and sub != node]
            if not matching:
                continue
            return recipient.replace(path, self.rng.choice(matching))
        return None

    def subtree_mutation(self, parent: Node) -> Node:
        """Replace a random subtree of ``parent`` by a new random one of the same type."""
        path, node = self.rng.choice(list(parent.subtrees()))
        room = max(1, self.settings.max_depth - len(path))
        depth = self.rng.randint(1, min(room, max(self.settings.init_max_depth, 2)))
        return parent.replace(path, self.primitives.grow(self.rng, node.type, depth))

    def point_mutation(self, parent: Node) -> Node | None:
        """Replace one node of ``parent`` by another of the same type (operator: same kind and arity)."""
        path, node = self.rng.choice(list(parent.subtrees()))
        primitives = self.primitives
        if isinstance(node, LayerStatistic):
            options = [n for n in primitives.layer_statistic_names if n != node.name]
            return parent.replace(path, LayerStatistic(self.rng.choice(options))) if options else None
        if isinstance(node, (NetworkStatistic, Constant)):
            replacement = primitives.terminal(self.rng, NETWORK)
            return None if replacement == node else parent.replace(path, replacement)
        assert isinstance(node, Apply)
        options = [op.name for op in primitives.alternatives(get_operator(node.operator)) if op.name != node.operator]
        if not options:
            return None
        return parent.replace(path, Apply(self.rng.choice(options), node.children))

    def hoist_mutation(self, parent: Node) -> Node | None:
        """Replace a subtree of ``parent`` by one of its own same-typed subtrees."""
        inner = [(path, node) for path, node in parent.subtrees() if isinstance(node, Apply)]
        if not inner:
            return None
        path, node = self.rng.choice(inner)
        below = [sub for sub_path, sub in node.subtrees() if sub_path and sub.type == node.type]
        if not below:
            return None
        return parent.replace(path, self.rng.choice(below))

    def constant_mutation(self, parent: Node) -> Node | None:
        """Perturb one constant of ``parent`` (Gaussian, scale 0.1 max(1, |value|))."""
        constants = [(path, node) for path, node in parent.subtrees() if isinstance(node, Constant)]
        if not constants:
            return None
        path, node = self.rng.choice(constants)
        value = node.value
        new_value = round_constant(value + self.rng.gauss(0.0, 0.1 * max(1.0, abs(value))))
        if new_value == value:
            return None
        return parent.replace(path, Constant(new_value))
