"""Typed genetic programming over proxy formulas, one generation per call.

:class:`Evolution` is driven by the engine (``core.engine``), which calls :meth:`Evolution.step`
once per generation, emits events from the returned :class:`GenerationResult`, checks for
stop / pause between generations and checkpoints :meth:`Evolution.state_dict` (JSON-able)
after each one; :meth:`Evolution.from_state_dict` resumes *exactly* (a resumed run ends with
the same best formula as an uninterrupted one). Nothing here prints or emits events.

Algorithm
---------
* Generation 1 is a random population, *ramped half-and-half* over depths
  ``init_min_depth..init_max_depth`` (network-typed roots; trees over ``max_size`` or
  without any statistic are redrawn; duplicates avoided).
* Fitness of a tree: Kendall tau-b of its scores against the ground truth on the *search*
  sample, the minimum over datasets when several are given
  (:func:`core.fitness.kendall_tau_b`; NaN/inf/constant scores get ``-1``). Selection uses
  the penalised fitness ``tau - parsimony * size``.
* Later generations: the ``elitism`` best (penalised) trees are copied; every other child
  comes from tournament selection (``tournament_size``, drawn with replacement) followed by
  one variation chosen with the profile's rates -- typed subtree crossover (a subtree of
  the recipient is replaced by a donor subtree of the same type), subtree mutation (a
  random subtree of the same type), point mutation (an operator by another of the same
  kind and arity, a statistic by another of the same type, a constant by a constant or a
  network statistic), hoist mutation (a subtree replaced by one of its own same-typed
  subtrees) or constant mutation (a constant perturbed); the remaining probability is
  plain reproduction. Children over ``max_depth`` / ``max_size`` or already in the new
  population are rejected and redrawn (a few times, then the parent is copied).
* Scores are computed for the whole population in one batched pass per dataset
  (:mod:`core.proxy.evaluate`); a tree seen before reuses its exact fitness.
* Hall of fame (PySR-style): for every size the tree with the best search tau seen so far;
  each row also carries that tree's tau on the *validation* sample. The rows shown are the
  Pareto front (a larger size is listed only if it beats every smaller one on search tau),
  at most ``hall_of_fame`` of them. The final proxy is the row with the best
  *validation* tau (ties: the smaller tree). The test sample is never seen here.
* All randomness comes from one ``random.Random(settings.seed)`` whose state is part of
  the checkpoint: the same inputs and seed give the same best formula.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch

from core.errors import GMError
from core.fitness import WORST_FITNESS, kendall_tau_b
from core.proxy.evaluate import PopulationEvaluator
from core.proxy.generate import Primitives, round_constant, uses_statistics
from core.proxy.operators import NETWORK, get_operator
from core.proxy.tree import Apply, Constant, LayerStatistic, NetworkStatistic, Node, tree_from_dict
from core.rundir import HallOfFameRow
from core.settings import EvolutionSettings
from core.table import StatisticTable

STATE_FORMAT = "gm-evolution-1"
_MAX_ATTEMPTS = 10
_FITNESS_CACHE_LIMIT = 200_000
_EVALUATION_CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class HallOfFameEntry:
    """One hall-of-fame row: the best tree of its size on the search sample.

    Attributes
    ----------
    tree : Node
        The proxy.
    search_tau : float
        Fitness on the search sample (minimum over datasets).
    validation_tau : float
        Kendall tau on the validation sample (minimum over datasets).
    generation : int
        Generation (1-based) in which the tree entered the hall of fame.
    """

    tree: Node
    search_tau: float
    validation_tau: float
    generation: int

    @property
    def size(self) -> int:
        """Number of nodes of the tree."""
        return self.tree.size

    def to_row(self) -> HallOfFameRow:
        """Return the row as :class:`core.rundir.HallOfFameRow` (the project's one row type)."""
        return HallOfFameRow.from_entry(self)

    def to_state(self) -> dict[str, Any]:
        return {
            "tree": self.tree.to_dict(),
            "search_tau": self.search_tau,
            "validation_tau": self.validation_tau,
            "generation": self.generation,
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> "HallOfFameEntry":
        return cls(
            tree_from_dict(data["tree"]),
            float(data["search_tau"]),
            float(data["validation_tau"]),
            int(data["generation"]),
        )


@dataclass(frozen=True)
class GenerationResult:
    """What one call of :meth:`Evolution.step` did.

    Attributes
    ----------
    generation : int
        1-based number of the generation just evaluated (equals ``Evolution.generation``
        after the call).
    generations : int
        Planned number of generations (``settings.generations``).
    best_search_tau : float
        Best search tau in this population.
    mean_search_tau : float
        Mean search tau of this population (invalid trees count as -1).
    best_validation_tau : float
        Validation tau of the current final proxy (see :meth:`Evolution.best`).
    best : HallOfFameEntry
        The current final proxy (best validation tau in the hall of fame).
    best_changed : bool
        True if ``best`` differs from the previous generation's.
    seconds : float
        Wall time of the call.
    evaluated : int
        Trees scored in this generation (trees seen before reuse their fitness).
    hall_of_fame : tuple of HallOfFameRow
        :meth:`HallOfFameEntry.to_row` of every hall-of-fame row, by size.
    """

    generation: int
    generations: int
    best_search_tau: float
    mean_search_tau: float
    best_validation_tau: float
    best: HallOfFameEntry
    best_changed: bool
    seconds: float
    evaluated: int
    hall_of_fame: tuple[HallOfFameRow, ...]


def _common_names(tables: Sequence[StatisticTable], attribute: str) -> tuple[str, ...]:
    names = tuple(getattr(tables[0], attribute))
    for table in tables[1:]:
        present = set(getattr(table, attribute))
        names = tuple(name for name in names if name in present)
    return names


class Evolution:
    """Typed GP search for a proxy formula (see the module docstring).

    Parameters
    ----------
    settings : EvolutionSettings
        Population, generations, rates, limits, parsimony, hall-of-fame size, seed.
    search_tables, validation_tables : sequence of StatisticTable
        One table per dataset (the minimum tau over datasets is the fitness).
    search_targets, validation_targets : sequence of torch.Tensor
        Ground truth per dataset, ``(N_d,)``, aligned with the tables' networks.
    layer_statistic_names, network_statistic_names : sequence of str, optional
        Statistics the formulas may use (default: those present in every table).
    operator_names : sequence of str, optional
        Operators the formulas may use (default: all registered).

    Raises
    ------
    GMError
        Inconsistent inputs (no dataset, mismatched lengths, unknown statistic).
    """

    def __init__(
        self,
        settings: EvolutionSettings,
        search_tables: Sequence[StatisticTable],
        search_targets: Sequence[torch.Tensor],
        validation_tables: Sequence[StatisticTable],
        validation_targets: Sequence[torch.Tensor],
        layer_statistic_names: Sequence[str] | None = None,
        network_statistic_names: Sequence[str] | None = None,
        operator_names: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        self.search_tables = list(search_tables)
        self.validation_tables = list(validation_tables)
        self.search_targets = [torch.as_tensor(t, dtype=torch.float64) for t in search_targets]
        self.validation_targets = [torch.as_tensor(t, dtype=torch.float64) for t in validation_targets]
        if not self.search_tables or not self.validation_tables:
            raise GMError("evolution needs at least one search and one validation table")
        if len(self.search_tables) != len(self.search_targets) or len(self.validation_tables) != len(self.validation_targets):
            raise GMError("evolution needs one target per statistic table")
        for table, target in zip(self.search_tables + self.validation_tables, self.search_targets + self.validation_targets):
            if target.reshape(-1).shape[0] != table.num_networks:
                raise GMError(
                    f"a target has {target.reshape(-1).shape[0]} values for a table of {table.num_networks} networks"
                )
        all_tables = self.search_tables + self.validation_tables
        if layer_statistic_names is None:
            layer_statistic_names = _common_names(all_tables, "layer_statistic_names")
        if network_statistic_names is None:
            network_statistic_names = _common_names(all_tables, "network_statistic_names")
        for table in all_tables:
            missing = [n for n in layer_statistic_names if n not in table.layer_statistic_names]
            missing += [n for n in network_statistic_names if n not in table.network_statistic_names]
            if missing:
                raise GMError(f"statistic(s) {', '.join(missing)} missing from a statistic table")
        self.primitives = Primitives(layer_statistic_names, network_statistic_names, operator_names)
        self.rng = random.Random(settings.seed)
        self.generation = 0
        self.population: list[Node] = []
        self.search_tau: list[float] = []
        self._best_per_size: dict[int, HallOfFameEntry] = {}
        self._best: HallOfFameEntry | None = None
        self._fitness_cache: dict[Node, float] = {}
        self._search_evaluators = [PopulationEvaluator(t, _EVALUATION_CACHE_BYTES) for t in self.search_tables]

    # ------------------------------------------------------------------ public API

    @property
    def finished(self) -> bool:
        """True once ``settings.generations`` generations have been evaluated."""
        return self.generation >= self.settings.generations

    def step(self) -> GenerationResult:
        """Evaluate one generation (the random one first, then bred ones).

        Returns
        -------
        GenerationResult
        """
        start = time.perf_counter()
        previous = self._best
        if not self.population:
            population = self.primitives.ramped_half_and_half(
                self.rng,
                self.settings.population,
                self.settings.init_min_depth,
                self.settings.init_max_depth,
                self.settings.max_size,
            )
        else:
            population = self._breed()
        self.generation += 1
        fitness, evaluated = self._search_fitness(population)
        self.population = population
        self.search_tau = fitness
        self._update_hall_of_fame()
        best = self.best()
        return GenerationResult(
            generation=self.generation,
            generations=self.settings.generations,
            best_search_tau=max(fitness),
            mean_search_tau=sum(fitness) / len(fitness),
            best_validation_tau=best.validation_tau,
            best=best,
            best_changed=previous is None or previous.tree != best.tree,
            seconds=time.perf_counter() - start,
            evaluated=evaluated,
            hall_of_fame=tuple(entry.to_row() for entry in self.hall_of_fame()),
        )

    def best(self) -> HallOfFameEntry:
        """Return the final proxy so far: the hall-of-fame row with the best validation tau.

        Raises
        ------
        GMError
            Before the first generation.
        """
        if self._best is None:
            raise GMError("no generation has been evaluated yet")
        return self._best

    def hall_of_fame(self) -> tuple[HallOfFameEntry, ...]:
        """Return the hall of fame: the Pareto front of best-per-size trees, by size."""
        front: list[HallOfFameEntry] = []
        best_so_far = -math.inf
        for size in sorted(self._best_per_size):
            entry = self._best_per_size[size]
            if entry.search_tau > best_so_far:
                front.append(entry)
                best_so_far = entry.search_tau
        if len(front) > self.settings.hall_of_fame:
            keep = sorted(front, key=lambda e: (-e.search_tau, e.size))[: self.settings.hall_of_fame]
            front = sorted(keep, key=lambda e: e.size)
        return tuple(front)

    def state_dict(self) -> dict[str, Any]:
        """Return the complete state as JSON-able data (population as tree JSON, RNG state,
        generation, hall of fame)."""
        version, internal, gauss = self.rng.getstate()
        return {
            "format": STATE_FORMAT,
            "generation": self.generation,
            "seed": self.settings.seed,
            "settings": dataclasses.asdict(self.settings),
            "rng": [version, list(internal), gauss],
            "layer_statistic_names": list(self.primitives.layer_statistic_names),
            "network_statistic_names": list(self.primitives.network_statistic_names),
            "operator_names": list(self.primitives.operator_names),
            "population": [tree.to_dict() for tree in self.population],
            "search_tau": list(self.search_tau),
            "best_per_size": [self._best_per_size[size].to_state() for size in sorted(self._best_per_size)],
            "best": None if self._best is None else self._best.to_state(),
        }

    @classmethod
    def from_state_dict(
        cls,
        state: Mapping[str, Any],
        settings: EvolutionSettings,
        search_tables: Sequence[StatisticTable],
        search_targets: Sequence[torch.Tensor],
        validation_tables: Sequence[StatisticTable],
        validation_targets: Sequence[torch.Tensor],
    ) -> "Evolution":
        """Rebuild an :class:`Evolution` from :meth:`state_dict` output and the same inputs.

        Raises
        ------
        GMError
            If the state is not an evolution checkpoint or was made with another seed.
        """
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            raise GMError("not an evolution checkpoint (unknown format)")
        if state.get("seed", settings.seed) != settings.seed:
            raise GMError(f"checkpoint was made with seed {state.get('seed')!r}, the profile says {settings.seed}")
        try:
            return cls._restore(state, settings, search_tables, search_targets, validation_tables, validation_targets)
        except GMError as error:
            raise GMError(f"not a valid evolution checkpoint ({error})") from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as error:
            text = str(error).strip().splitlines()
            detail = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
            raise GMError(f"not a valid evolution checkpoint ({detail})") from None

    @classmethod
    def _restore(cls, state, settings, search_tables, search_targets, validation_tables, validation_targets) -> "Evolution":
        names = {key: state[key] for key in ("layer_statistic_names", "network_statistic_names", "operator_names")}
        for key, value in names.items():
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise TypeError(f"{key} is not a list of names")
        evolution = cls(settings, search_tables, search_targets, validation_tables, validation_targets, **names)
        version, internal, gauss = state["rng"]
        internal = tuple(int(v) for v in internal)
        if gauss is not None:
            gauss = float(gauss)
        evolution.rng.setstate((int(version), internal, gauss))
        evolution.generation = int(state["generation"])
        if not 0 <= evolution.generation <= settings.generations:
            raise ValueError(f"generation {evolution.generation} is out of range")
        layer, network = names["layer_statistic_names"], names["network_statistic_names"]
        evolution.population = [tree_from_dict(data, layer, network) for data in state["population"]]
        evolution.search_tau = [float(v) for v in state["search_tau"]]
        if len(evolution.search_tau) != len(evolution.population):
            raise ValueError("population and search_tau differ in length")
        for data in state["best_per_size"]:
            entry = HallOfFameEntry.from_state(data)
            evolution._best_per_size[entry.size] = entry
        evolution._best = None if state.get("best") is None else HallOfFameEntry.from_state(state["best"])
        if evolution.generation > 0 and (evolution._best is None or not evolution.population):
            raise ValueError("a checkpoint after a generation must hold a population and a best proxy")
        for tree, tau in zip(evolution.population, evolution.search_tau):
            evolution._fitness_cache[tree] = tau
        return evolution

    # ------------------------------------------------------------------ fitness

    def _search_fitness(self, population: list[Node]) -> tuple[list[float], int]:
        cache = self._fitness_cache
        pending = list(dict.fromkeys(tree for tree in population if tree not in cache))
        if pending:
            taus = None
            with torch.no_grad():
                for evaluator, target in zip(self._search_evaluators, self.search_targets):
                    scores = evaluator.evaluate(pending)
                    tau = kendall_tau_b(scores, target.to(scores.device)).cpu()
                    taus = tau if taus is None else torch.minimum(taus, tau)
            if len(cache) + len(pending) > _FITNESS_CACHE_LIMIT:
                cache.clear()
            for tree, tau in zip(pending, taus.tolist()):  # type: ignore[union-attr]
                cache[tree] = float(tau)
        return [cache[tree] for tree in population], len(pending)

    def _validation_fitness(self, trees: list[Node]) -> list[float]:
        taus = None
        with torch.no_grad():
            for table, target in zip(self.validation_tables, self.validation_targets):
                scores = PopulationEvaluator(table).evaluate(trees)
                tau = kendall_tau_b(scores, target.to(scores.device)).cpu()
                taus = tau if taus is None else torch.minimum(taus, tau)
        return [float(v) for v in taus.tolist()]  # type: ignore[union-attr]

    def _penalised(self) -> list[float]:
        parsimony = self.settings.parsimony
        return [tau - parsimony * tree.size for tree, tau in zip(self.population, self.search_tau)]

    def _update_hall_of_fame(self) -> None:
        candidates: dict[int, tuple[Node, float]] = {}
        for tree, tau in zip(self.population, self.search_tau):
            if tau <= WORST_FITNESS:
                continue
            current = self._best_per_size.get(tree.size)
            if current is not None and (tau <= current.search_tau or tree == current.tree):
                continue
            held = candidates.get(tree.size)
            if held is None or tau > held[1]:
                candidates[tree.size] = (tree, tau)
        if candidates:
            sizes = sorted(candidates)
            trees = [candidates[size][0] for size in sizes]
            validation = self._validation_fitness(trees)
            for size, tree, tau_validation in zip(sizes, trees, validation):
                self._best_per_size[size] = HallOfFameEntry(tree, candidates[size][1], tau_validation, self.generation)
        front = self.hall_of_fame()
        if front:
            self._best = max(front, key=lambda e: (e.validation_tau, -e.size, e.search_tau))
        elif self._best is None:
            # every tree so far is invalid: report the first one so the caller has something
            tree = self.population[0]
            self._best = HallOfFameEntry(tree, self.search_tau[0], WORST_FITNESS, self.generation)

    # ------------------------------------------------------------------ breeding

    def _breed(self) -> list[Node]:
        settings = self.settings
        penalised = self._penalised()
        order = sorted(range(len(self.population)), key=lambda i: (-penalised[i], i))
        children: list[Node] = []
        seen: set[Node] = set()
        for index in order:
            if len(children) >= min(settings.elitism, settings.population):
                break
            tree = self.population[index]
            if tree not in seen:
                children.append(tree)
                seen.add(tree)
        while len(children) < settings.population:
            child = None
            parent = None
            for _ in range(_MAX_ATTEMPTS):
                parent = self._tournament(penalised)
                candidate = self._vary(parent, penalised)
                if candidate is None or not self._fits(candidate) or candidate in seen:
                    continue
                child = candidate
                break
            if child is None:
                child = parent if parent is not None else self.population[order[0]]
            children.append(child)
            seen.add(child)
        return children

    def _fits(self, tree: Node) -> bool:
        return (
            tree.type == NETWORK
            and tree.depth <= self.settings.max_depth
            and tree.size <= self.settings.max_size
            and uses_statistics(tree)
        )

    def _tournament(self, penalised: list[float]) -> Node:
        size = len(self.population)
        best = self.rng.randrange(size)
        for _ in range(self.settings.tournament_size - 1):
            other = self.rng.randrange(size)
            if penalised[other] > penalised[best] or (penalised[other] == penalised[best] and other < best):
                best = other
        return self.population[best]

    def _vary(self, parent: Node, penalised: list[float]) -> Node | None:
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
            return self._crossover(parent, self._tournament(penalised))
        if chosen == "subtree":
            return self._subtree_mutation(parent)
        if chosen == "point":
            return self._point_mutation(parent)
        if chosen == "hoist":
            return self._hoist_mutation(parent)
        if chosen == "constant":
            return self._constant_mutation(parent)
        return parent

    def _crossover(self, recipient: Node, donor: Node) -> Node | None:
        points = list(recipient.subtrees())
        donor_points = list(donor.subtrees())
        for _ in range(3):
            path, node = self.rng.choice(points)
            matching = [sub for _, sub in donor_points if sub.type == node.type and sub != node]
            if not matching:
                continue
            return recipient.replace(path, self.rng.choice(matching))
        return None

    def _subtree_mutation(self, parent: Node) -> Node:
        path, node = self.rng.choice(list(parent.subtrees()))
        room = max(1, self.settings.max_depth - len(path))
        depth = self.rng.randint(1, min(room, max(self.settings.init_max_depth, 2)))
        return parent.replace(path, self.primitives.grow(self.rng, node.type, depth))

    def _point_mutation(self, parent: Node) -> Node | None:
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

    def _hoist_mutation(self, parent: Node) -> Node | None:
        inner = [(path, node) for path, node in parent.subtrees() if isinstance(node, Apply)]
        if not inner:
            return None
        path, node = self.rng.choice(inner)
        below = [sub for sub_path, sub in node.subtrees() if sub_path and sub.type == node.type]
        if not below:
            return None
        return parent.replace(path, self.rng.choice(below))

    def _constant_mutation(self, parent: Node) -> Node | None:
        constants = [(path, node) for path, node in parent.subtrees() if isinstance(node, Constant)]
        if not constants:
            return None
        path, node = self.rng.choice(constants)
        value = node.value
        new_value = round_constant(value + self.rng.gauss(0.0, 0.1 * max(1.0, abs(value))))
        if new_value == value:
            return None
        return parent.replace(path, Constant(new_value))
