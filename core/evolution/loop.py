"""The evolution loop: :class:`Evolution` evaluates one generation per call of
:meth:`Evolution.step` (the random population first, then bred ones), scores it on the
search sample, keeps the hall of fame and the final proxy (see :mod:`greenmachine.evolution`).

Called by the engine (``greenmachine.run.controller``) through :mod:`greenmachine.evolution`, and by the tests and
``scripts/bench_evolution.py``. Nothing here prints or emits events.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any, Callable, Mapping, Sequence

import torch

from greenmachine.errors import GMError
from greenmachine.evolution.checkpoint import evolution_state, restore_evolution
from greenmachine.evolution.entries import GenerationResult, HallOfFameEntry
from greenmachine.evolution.variation import Breeder
from greenmachine.stats.fitness import FITNESS_METRICS, WORST_FITNESS, rank_fitness
from greenmachine.proxy.evaluate import PopulationEvaluator
from greenmachine.proxy.generate import Primitives
from greenmachine.proxy.tree import Node
from greenmachine.settings.profile import EvolutionSettings
from greenmachine.stats.table import StatisticTable
from greenmachine.stats.aggregate import aggregate_taus
from greenmachine.stats.resolution import coarse_on_table

_FITNESS_CACHE_LIMIT = 200_000
_EVALUATION_CACHE_BYTES = 256 * 1024 * 1024


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
        Statistics the formulas may use (default: those present in every table), less
        ``settings.exclude_statistics``.
    operator_names : sequence of str, optional
        Operators the formulas may use (default: all registered).
    probe_cost : callable, optional
        ``probe_cost(tree) -> greenmachine.probe.costs.ProbeCost`` (seconds, joules, passes per
        network). When given, the search also keeps the best tree of each pass set (the
        candidates of the cost front, :meth:`cost_candidates`), and
        ``settings.cost_weight > 0`` subtracts ``cost_weight * joules`` from the fitness
        that selects, fills the hall of fame and chooses the final proxy.
    aggregate : {"min", "mean", "margin"}
        How the per-table (per-task) taus become one fitness (default ``min``; see
        :func:`greenmachine.stats.aggregate.aggregate_taus`).
    offsets : mapping, optional
        ``{"search": [...], "validation": [...]}``: each table's best-baseline tau (in
        ``metric``) on that sample, needed by the ``margin`` aggregate.
    metric : {"kendall", "weighted_kendall"}
        The correlation of each table's fitness (:func:`greenmachine.stats.fitness.rank_fitness`; default
        Kendall tau-b). The ``search_tau`` / ``validation_tau`` of the results are values of it.

    Raises
    ------
    GMError
        Inconsistent inputs (no dataset, mismatched lengths, unknown statistic), or a
        cost weight without ``probe_cost``.
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
        probe_cost: Callable[[Node], Any] | None = None,
        aggregate: str = "min",
        offsets: Mapping[str, Sequence[float]] | None = None,
        metric: str = "kendall",
    ) -> None:
        self.settings = settings
        self.probe_cost = probe_cost
        self.cost_weight = float(getattr(settings, "cost_weight", 0.0))
        if self.cost_weight > 0 and probe_cost is None:
            raise GMError("evolution.cost_weight > 0 needs the probe cost of each formula (no pass-cost table)")
        #: How the per-table taus become one fitness (``min``, ``mean`` or ``margin``; :func:`greenmachine.stats.aggregate.aggregate_taus`).
        self.aggregate = aggregate
        #: The correlation each table's fitness is (``kendall``, ``weighted_kendall`` or ``kendall_top``; :func:`greenmachine.stats.fitness.rank_fitness`).
        self.metric = metric
        if metric not in FITNESS_METRICS:
            raise GMError(f"unknown fitness metric {metric!r} (choose from {', '.join(FITNESS_METRICS)})")
        #: Per-table best-baseline taus of the search and validation samples (``margin`` only).
        self.offsets = {part: tuple(float(v) for v in values) for part, values in (offsets or {}).items()}
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
        excluded = set(getattr(settings, "exclude_statistics", ()))
        if excluded:
            layer_statistic_names = [n for n in layer_statistic_names if n not in excluded]
            network_statistic_names = [n for n in network_statistic_names if n not in excluded]
            if not layer_statistic_names and not network_statistic_names:
                raise GMError("evolution.exclude_statistics leaves no statistic for a formula to read")
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
        self._best_per_passes: dict[tuple[str, ...], HallOfFameEntry] = {}
        self._costs: dict[Node, Any] = {}
        self._best: HallOfFameEntry | None = None
        self._fitness_cache: dict[Node, float] = {}
        self._coarse: dict[Node, bool] = {}
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

        Rows whose scores on a validation table are coarse (far fewer distinct scores than
        networks whose statistics differ, :mod:`greenmachine.stats.resolution`) are passed over
        while any other row is left: a search guided by such a proxy picks arbitrarily among
        the networks that share its highest score.

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
            fitness = self._fitness(entry.tree, entry.search_tau)
            if fitness > best_so_far:
                front.append(entry)
                best_so_far = fitness
        if len(front) > self.settings.hall_of_fame:
            keep = sorted(front, key=lambda e: (-self._fitness(e.tree, e.search_tau), e.size))[: self.settings.hall_of_fame]
            front = sorted(keep, key=lambda e: e.size)
        return tuple(front)

    def cost_candidates(self) -> tuple[HallOfFameEntry, ...]:
        """The candidates of the cost front: the hall of fame plus, for every pass set the
        search met, its tree with the best search tau (empty pass sets: none without
        ``probe_cost``), each once, by size."""
        entries = {entry.tree: entry for entry in self.hall_of_fame()}
        for entry in self._best_per_passes.values():
            entries.setdefault(entry.tree, entry)
        return tuple(sorted(entries.values(), key=lambda e: (e.size, str(e.tree))))

    def hall_state(self) -> dict[str, Any]:
        """The hall-of-fame part of :meth:`state_dict`: the best tree per size, the final proxy
        so far and the best tree per pass set, as JSON-able data (read by
        :func:`greenmachine.evolution.checkpoint.evolution_state`)."""
        return {
            "best_per_size": [self._best_per_size[size].to_state() for size in sorted(self._best_per_size)],
            "best": None if self._best is None else self._best.to_state(),
            "best_per_passes": [entry.to_state() for _, entry in sorted(self._best_per_passes.items())],
        }

    def load_hall_state(self, state: Mapping[str, Any]) -> None:
        """Load :meth:`hall_state` output (part of a checkpoint) into this evolution.

        The best tree per pass set is loaded only with ``probe_cost`` (a checkpoint written
        before the cost front has none). Any malformed field raises (``KeyError``,
        ``TypeError``, ``ValueError``...); :func:`greenmachine.evolution.checkpoint.restore_evolution`
        turns that into one error line.
        """
        for data in state["best_per_size"]:
            entry = HallOfFameEntry.from_state(data)
            self._best_per_size[entry.size] = entry
        self._best = None if state.get("best") is None else HallOfFameEntry.from_state(state["best"])
        if self.probe_cost is not None:
            for data in state.get("best_per_passes") or []:
                entry = HallOfFameEntry.from_state(data)
                self._best_per_passes[self.probe_cost(entry.tree).passes] = entry

    def has_best(self) -> bool:
        """Whether a final proxy exists yet (after the first evaluated generation)."""
        return self._best is not None

    def remember_fitness(self, trees: Sequence[Node], search_taus: Sequence[float]) -> None:
        """Record known search fitness values (a restored population's), so they are not recomputed."""
        for tree, tau in zip(trees, search_taus):
            self._fitness_cache[tree] = tau

    def state_dict(self) -> dict[str, Any]:
        """Return the complete state as JSON-able data (population as tree JSON, RNG state,
        generation, hall of fame)."""
        return evolution_state(self)

    @classmethod
    def from_state_dict(
        cls,
        state: Mapping[str, Any],
        settings: EvolutionSettings,
        search_tables: Sequence[StatisticTable],
        search_targets: Sequence[torch.Tensor],
        validation_tables: Sequence[StatisticTable],
        validation_targets: Sequence[torch.Tensor],
        probe_cost: Callable[[Node], Any] | None = None,
        aggregate: str = "min",
        offsets: Mapping[str, Sequence[float]] | None = None,
        metric: str = "kendall",
    ) -> "Evolution":
        """Rebuild an :class:`Evolution` from :meth:`state_dict` output and the same inputs
        (and the same ``probe_cost``).

        Raises
        ------
        GMError
            If the state is not an evolution checkpoint or was made with another seed.
        """
        return restore_evolution(cls, state, settings, search_tables, search_targets, validation_tables,
                                 validation_targets, probe_cost=probe_cost, aggregate=aggregate, offsets=offsets,
                                 metric=metric)

    # ------------------------------------------------------------------ fitness

    def _search_fitness(self, population: list[Node]) -> tuple[list[float], int]:
        cache = self._fitness_cache
        pending = list(dict.fromkeys(tree for tree in population if tree not in cache))
        if pending:
            per_table = []
            with torch.no_grad():
                for evaluator, target in zip(self._search_evaluators, self.search_targets):
                    scores = evaluator.evaluate(pending)
                    per_table.append(rank_fitness(scores, target.to(scores.device), self.metric).cpu())
            taus = aggregate_taus(per_table, self.aggregate, self.offsets.get("search"))
            new = {tree: float(tau) for tree, tau in zip(pending, taus.tolist())}  # type: ignore[union-attr]
            # read the hits before a full cache is emptied (they are part of this population)
            fitness = [new[tree] if tree in new else cache[tree] for tree in population]
            if len(cache) + len(pending) > _FITNESS_CACHE_LIMIT:
                cache.clear()
            cache.update(new)
            return fitness, len(pending)
        return [cache[tree] for tree in population], 0

    def _validation_fitness(self, trees: list[Node]) -> list[float]:
        per_table = []
        with torch.no_grad():
            for table, target in zip(self.validation_tables, self.validation_targets):
                scores = PopulationEvaluator(table).evaluate(trees)
                per_table.append(rank_fitness(scores, target.to(scores.device), self.metric).cpu())
        return [float(v) for v in aggregate_taus(per_table, self.aggregate, self.offsets.get("validation")).tolist()]

    def _is_coarse(self, tree: Node) -> bool:
        """True where ``tree``'s scores on a validation table are coarse (:mod:`greenmachine.stats.resolution`)."""
        known = self._coarse.get(tree)
        if known is None:
            layer, network = tree.statistics()
            with torch.no_grad():
                known = any(coarse_on_table(PopulationEvaluator(table).evaluate([tree])[0], table, layer | network)
                            for table in self.validation_tables)
            if len(self._coarse) > _FITNESS_CACHE_LIMIT:
                self._coarse.clear()
            self._coarse[tree] = known
        return known

    def _cost(self, tree: Node) -> Any:
        cost = self._costs.get(tree)
        if cost is None:
            if len(self._costs) > _FITNESS_CACHE_LIMIT:
                self._costs.clear()
            cost = self._costs[tree] = self.probe_cost(tree)  # type: ignore[misc]
        return cost

    def _fitness(self, tree: Node, tau: float) -> float:
        """``tau`` less the cost term (``tau`` itself, untouched, when the weight is 0)."""
        if self.cost_weight == 0:
            return tau
        return tau - self.cost_weight * self._cost(tree).joules

    def _penalised(self) -> list[float]:
        parsimony = self.settings.parsimony
        return [self._fitness(tree, tau) - parsimony * tree.size for tree, tau in zip(self.population, self.search_tau)]

    def _update_hall_of_fame(self) -> None:
        candidates: dict[int, tuple[Node, float]] = {}
        by_passes: dict[tuple[str, ...], tuple[Node, float]] = {}
        for tree, tau in zip(self.population, self.search_tau):
            if tau <= WORST_FITNESS:
                continue
            if self.probe_cost is not None:
                passes = self._cost(tree).passes
                current = self._best_per_passes.get(passes)
                held = by_passes.get(passes)
                if (current is None or (tau > current.search_tau and tree != current.tree)) and (
                        held is None or tau > held[1]):
                    by_passes[passes] = (tree, tau)
            fitness = self._fitness(tree, tau)
            current = self._best_per_size.get(tree.size)
            if current is not None and (fitness <= self._fitness(current.tree, current.search_tau) or tree == current.tree):
                continue
            held = candidates.get(tree.size)
            if held is None or fitness > self._fitness(*held):
                candidates[tree.size] = (tree, tau)
        if candidates or by_passes:
            pending = list(dict.fromkeys([candidates[size][0] for size in sorted(candidates)]
                                         + [by_passes[key][0] for key in sorted(by_passes)]))
            validation = dict(zip(pending, self._validation_fitness(pending)))
            for size in sorted(candidates):
                tree, tau = candidates[size]
                self._best_per_size[size] = HallOfFameEntry(tree, tau, validation[tree], self.generation)
            for key in sorted(by_passes):
                tree, tau = by_passes[key]
                self._best_per_passes[key] = HallOfFameEntry(tree, tau, validation[tree], self.generation)
        front = self.hall_of_fame()
        if front:
            # a formula whose scores collapse to a few values cannot guide a search: never the best
            # while a resolved one is in the front (label-free, on the validation networks)
            resolved = [entry for entry in front if not self._is_coarse(entry.tree)] or front
            self._best = max(resolved, key=lambda e: (self._fitness(e.tree, e.validation_tau), -e.size, e.search_tau))
        elif self._best is None:
            # every tree so far is invalid: report the first one so the caller has something
            tree = self.population[0]
            self._best = HallOfFameEntry(tree, self.search_tau[0], WORST_FITNESS, self.generation)


    def _breed(self) -> list[Node]:
        breeder = Breeder(self.rng, self.settings, self.primitives)
        return breeder.breed(self.population, self._penalised())
