"""Search strategies over a benchmark space, guided by a score: sampling and aging evolution.

Called by :mod:`greenmachine.search.run` (``gm search``) and the tests. A strategy sees networks only
as table indices and a *scorer* (indices -> proxy scores, higher = predicted better); it never
receives accuracies, so the true accuracy of what it picks can only be looked up afterwards.

* :func:`sample_search` — score ``budget`` distinct random networks, keep the best (the
  protocol of NASWOT, Mellor et al., ICML 2021).
* :func:`evolution_search` — regularised (aging) evolution, REA (Real et al., AAAI 2019), as
  FreeREA (Cavagnero et al., WACV 2023) runs it with a training-free fitness: a population of
  random networks; each step samples ``sample_size`` members, mutates the fittest (one choice
  of the arch, see :meth:`greenmachine.spaces.SearchSpace.mutate`), scores the child, adds it and
  removes the oldest member. The answer is the best-scored network ever scored.

``budget`` counts scored networks (each scoring call, a repeated network included).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from greenmachine.errors import GMError

Scorer = Callable[[np.ndarray], np.ndarray]
"""Maps table indices (int64 array) to their scores (float64 array, same length)."""

Neighbour = Callable[[int, np.random.Generator], int]
"""Maps a table index to the index of a mutated network."""

STRATEGIES = ("sample", "evolution")
MUTATION_TRIES = 100


@dataclass(frozen=True)
class SearchTrace:
    """What a strategy did, in order.

    Attributes
    ----------
    evaluated : numpy.ndarray
        Table index of each scored network, in scoring order (``budget`` entries).
    scores : numpy.ndarray
        Its score (non-finite scores are kept as ``-inf``).
    chosen_after : numpy.ndarray
        The strategy's answer after each scoring: the index of the best-scored network so
        far (first one on ties).
    """

    evaluated: np.ndarray
    scores: np.ndarray
    chosen_after: np.ndarray

    @property
    def chosen(self) -> int:
        """The network the search returns."""
        return int(self.chosen_after[-1])

    @property
    def budget(self) -> int:
        """Networks scored."""
        return int(self.evaluated.size)


def _clean(scores: np.ndarray, expected: int) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size != expected:
        raise ValueError(f"the scorer returned {scores.size} scores for {expected} networks")
    return np.where(np.isfinite(scores), scores, -np.inf)


def _trace(evaluated: list[int], scores: list[float]) -> SearchTrace:
    evaluated_array = np.asarray(evaluated, dtype=np.int64)
    score_array = np.asarray(scores, dtype=np.float64)
    chosen, best, best_score = [], -1, -np.inf
    for index, score in zip(evaluated_array, score_array):
        if best < 0 or score > best_score:
            best, best_score = int(index), float(score)
        chosen.append(best)
    return SearchTrace(evaluated_array, score_array, np.asarray(chosen, dtype=np.int64))


def check_budget(budget: int, feasible: np.ndarray) -> None:
    """Refuse a budget below 1 or above the number of networks that may be chosen.

    Raises
    ------
    GMError
        One line naming the budget and the number of candidate networks.
    """
    available = int(np.count_nonzero(feasible))
    if available == 0:
        raise GMError("no network of the space meets the constraint")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise GMError(f"a search budget must be a positive number of networks, got {budget!r}")
    if budget > available:
        raise GMError(f"a search budget of {budget} networks is larger than the {available} candidate networks "
                      f"of the space"
                      f"{'' if available == feasible.size else ' that meet the constraint'}")


def sample_search(feasible: np.ndarray, budget: int, rng: np.random.Generator, scorer: Scorer) -> SearchTrace:
    """Score ``budget`` distinct networks drawn uniformly from ``feasible``; keep the best.

    Parameters
    ----------
    feasible : numpy.ndarray of bool
        Which table indices may be drawn (e.g. those meeting a hardware constraint).
    budget : int
        Networks to score: the first ``budget`` of a seeded random order of ``feasible``,
        so a smaller budget with the same seed scores a prefix of the same networks.
    rng : numpy.random.Generator
        The only source of randomness (same seed, same networks).
    scorer : callable
        Indices -> scores (see :data:`Scorer`); called once with all ``budget`` networks.
    """
    check_budget(budget, feasible)
    drawn = rng.permutation(np.flatnonzero(feasible))[:budget]  # a smaller budget scores a prefix
    scores = _clean(scorer(drawn), budget)
    return _trace([int(i) for i in drawn], scores.tolist())


def evolution_search(feasible: np.ndarray, budget: int, rng: np.random.Generator, scorer: Scorer,
                     neighbour: Neighbour, population: int = 20, sample_size: int = 5) -> SearchTrace:
    """Aging evolution (REA) with the scorer as fitness.

    Parameters
    ----------
    feasible, budget, rng, scorer :
        As :func:`sample_search`. The initial population is ``min(population, budget)``
        distinct networks drawn from ``feasible`` with ``rng`` first, scored in one call.
    neighbour : callable
        ``(index, rng) -> index`` of a network one mutation away. A child outside
        ``feasible`` is mutated again (up to 100 tries, then a random feasible network is
        used); such rejected children are not scored and do not count in the budget.
    population : int
        Members alive at a time.
    sample_size : int
        Members compared to pick each parent (tournament size).
    """
    check_budget(budget, feasible)
    if population < 2 or sample_size < 1 or sample_size > population:
        raise GMError(f"evolution needs population >= 2 and 1 <= sample size <= population, "
                      f"got {population} and {sample_size}")
    candidates = np.flatnonzero(feasible)
    first = rng.permutation(candidates)[:min(population, budget)]
    first_scores = _clean(scorer(first), first.size)
    evaluated = [int(i) for i in first]
    scores = first_scores.tolist()
    alive: deque[tuple[int, float]] = deque(zip(evaluated, scores))
    while len(evaluated) < budget:
        members = list(alive)
        picked = rng.choice(len(members), size=min(sample_size, len(members)), replace=False)
        parent = max((members[p] for p in picked), key=lambda member: member[1])[0]
        child = -1
        for _ in range(MUTATION_TRIES):
            proposal = int(neighbour(parent, rng))
            if feasible[proposal]:
                child = proposal
                break
        if child < 0:
            child = int(rng.choice(candidates))
        score = float(_clean(scorer(np.array([child], dtype=np.int64)), 1)[0])
        evaluated.append(child)
        scores.append(score)
        alive.append((child, score))
        if len(alive) > population:
            alive.popleft()
    return _trace(evaluated, scores)


def run_strategy(strategy: str, feasible: np.ndarray, budget: int, seed: int, scorer: Scorer,
                 neighbour: Neighbour | None = None, population: int = 20, sample_size: int = 5) -> SearchTrace:
    """Run ``strategy`` (``sample`` or ``evolution``) with a generator seeded by ``seed``.

    Raises
    ------
    GMError
        Unknown strategy, bad budget or evolution settings.
    """
    rng = np.random.default_rng(seed)
    if strategy == "sample":
        return sample_search(feasible, budget, rng, scorer)
    if strategy == "evolution":
        if neighbour is None:
            raise GMError("evolution needs a mutation of the space's networks")
        return evolution_search(feasible, budget, rng, scorer, neighbour, population, sample_size)
    raise GMError(f"unknown strategy {strategy!r}; valid strategies: {', '.join(STRATEGIES)}")


__all__ = ["STRATEGIES", "Neighbour", "Scorer", "SearchTrace", "check_budget", "evolution_search",
           "run_strategy", "sample_search"]
