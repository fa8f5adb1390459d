"""Evolution: seeded golden run, exact resume, limits, hall of fame, JSON-able state."""

from __future__ import annotations

import json

import pytest
import torch

from greenmachine.errors import GMError
from greenmachine.evolution import Evolution
from greenmachine.stats.fitness import kendall_tau_b
from greenmachine.proxy.evaluate import evaluate_population
from greenmachine.settings.profile import EvolutionSettings

torch.set_num_threads(1)

GOLDEN_FORMULA = "mean(((tanh(layer_statistic_01) * |network_statistic_02|) * layer_statistic_01))"


@pytest.fixture(scope="module")
def problem(synthetic_problem):
    """The shared synthetic problem (tests/conftest.py: 80 search / 40 validation networks)."""
    return synthetic_problem


def _evolution(problem, **overrides):
    search, search_target, validation, validation_target = problem
    settings = EvolutionSettings(**{"population": 20, "generations": 5, "seed": 0, **overrides})
    return Evolution(settings, [search], [search_target], [validation], [validation_target])


def _run(evolution):
    results = []
    while not evolution.finished:
        results.append(evolution.step())
    return results


def test_seeded_golden_run(problem):
    evolution = _evolution(problem)
    results = _run(evolution)
    assert [r.generation for r in results] == [1, 2, 3, 4, 5]
    best = evolution.best()
    assert str(best.tree) == GOLDEN_FORMULA
    assert best.search_tau >= 0.9 and best.validation_tau >= 0.9  # found the signal (uses both statistics)
    # the reported taus are the real ones
    search, search_target, validation, validation_target = problem
    scores = evaluate_population([best.tree], validation)
    assert float(kendall_tau_b(scores, validation_target)[0]) == best.validation_tau
    # same inputs + seed => same result; another seed explores differently
    again = _evolution(problem)
    _run(again)
    assert again.best().tree == best.tree
    assert [r.best_search_tau for r in results] == sorted(r.best_search_tau for r in results)  # elitism


def test_a_full_fitness_cache_is_emptied_without_losing_the_population(problem, monkeypatch):
    # the cache was emptied after reading the new trees but before reading the population's
    # cached ones: a long run (population 1000 x 300) stopped with a KeyError
    import greenmachine.evolution.loop as loop

    expected = _evolution(problem)
    _run(expected)
    monkeypatch.setattr(loop, "_FITNESS_CACHE_LIMIT", 25)
    small = _evolution(problem)
    results = _run(small)
    assert len(small._fitness_cache) <= 25 + 20  # emptied at least once, then refilled
    assert small.best().tree == expected.best().tree
    assert small.best().search_tau == expected.best().search_tau and len(results) == 5


def test_resume_equals_uninterrupted(problem):
    uninterrupted = _evolution(problem, generations=8, population=24, seed=3)
    _run(uninterrupted)
    first = _evolution(problem, generations=8, population=24, seed=3)
    for _ in range(3):
        first.step()
    state = json.loads(json.dumps(first.state_dict()))  # must be JSON-able
    search, search_target, validation, validation_target = problem
    resumed = Evolution.from_state_dict(
        state, first.settings, [search], [search_target], [validation], [validation_target]
    )
    assert resumed.generation == 3 and resumed.population == first.population
    _run(resumed)
    assert resumed.best().tree == uninterrupted.best().tree
    assert resumed.population == uninterrupted.population
    assert [e.to_row() for e in resumed.hall_of_fame()] == [e.to_row() for e in uninterrupted.hall_of_fame()]
    with pytest.raises(GMError, match="seed"):
        Evolution.from_state_dict(state, EvolutionSettings(seed=9), [search], [search_target], [validation], [validation_target])


def test_limits_hall_of_fame_and_multi_dataset(problem):
    search, search_target, validation, validation_target = problem
    settings = EvolutionSettings(population=30, generations=6, seed=1, max_depth=4, max_size=9, hall_of_fame=3,
                                 init_min_depth=2, init_max_depth=3)
    evolution = Evolution(settings, [search, search], [search_target, -search_target],
                          [validation], [validation_target])
    results = _run(evolution)
    assert all(tree.depth <= 4 and tree.size <= 9 for tree in evolution.population)
    assert all(tree.type == "network" for tree in evolution.population)
    rows = evolution.hall_of_fame()
    assert 1 <= len(rows) <= 3
    assert [r.size for r in rows] == sorted(r.size for r in rows)
    assert all(b.search_tau > a.search_tau for a, b in zip(rows, rows[1:]))  # Pareto front
    # opposite targets: the minimum over the two datasets can never be positive
    assert results[-1].best_search_tau <= 1e-12
    best = evolution.best()
    assert best in rows and best.validation_tau == max(r.validation_tau for r in rows)


def test_a_coarse_formula_is_never_the_best_while_a_resolved_one_is_in_the_front(problem):
    # truth * c + exp(50): the clamp's huge addend leaves the truth a few float64 steps, so its
    # scores take a handful of values in the right order (high tau) yet rank each class arbitrarily
    from greenmachine.proxy.tree import Apply, Constant, LayerStatistic, NetworkStatistic
    from greenmachine.stats.resolution import distinct_count

    search, search_target, validation, validation_target = problem
    truth = Apply("multiply", (Apply("mean", (LayerStatistic("layer_statistic_01"),)),
                               NetworkStatistic("network_statistic_02")))
    spread = float(search_target.max() - search_target.min())
    coarse = Apply("add", (Apply("multiply", (truth, Constant(6 * 2.0 ** 20 / spread))),
                           Apply("exponential", (Constant(60.0),))))
    resolved = NetworkStatistic("network_statistic_02")

    def tau(tree, table, target):
        return float(kendall_tau_b(evaluate_population([tree], table), target)[0])

    assert distinct_count(evaluate_population([coarse], validation)[0].numpy()) <= 10
    assert tau(coarse, validation, validation_target) > tau(resolved, validation, validation_target)
    assert tau(coarse, search, search_target) > tau(resolved, search, search_target)
    evolution = _evolution(problem)
    evolution.step()
    evolution.population = [resolved, coarse]
    evolution.search_tau = [tau(resolved, search, search_target), tau(coarse, search, search_target)]
    evolution._best_per_size.clear()
    evolution._update_hall_of_fame()
    assert [row.tree for row in evolution.hall_of_fame()] == [resolved, coarse]  # both on the front
    assert evolution.best().tree == resolved
    # with only the coarse formula there is nothing better to give
    evolution.population, evolution.search_tau = [coarse], [tau(coarse, search, search_target)]
    evolution._best_per_size.clear()
    evolution._update_hall_of_fame()
    assert evolution.best().tree == coarse


def test_bad_inputs(problem):
    search, search_target, validation, validation_target = problem
    with pytest.raises(GMError, match="target"):
        Evolution(EvolutionSettings(), [search], [search_target[:5]], [validation], [validation_target])
    with pytest.raises(GMError, match="missing"):
        Evolution(EvolutionSettings(), [search], [search_target], [validation], [validation_target],
                  layer_statistic_names=["snip"])
    with pytest.raises(GMError, match="no generation"):
        Evolution(EvolutionSettings(), [search], [search_target], [validation], [validation_target]).best()
