"""Typed genetic programming over proxy formulas, one generation per call.

:class:`Evolution` is driven by the engine (``greenmachine.run.controller``), which calls :meth:`Evolution.step`
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
  sample, the minimum (or, with ``aggregate="mean"``, the mean) over datasets or tasks when
  several are given (:func:`greenmachine.stats.fitness.kendall_tau_b`, :func:`greenmachine.stats.aggregate.aggregate_taus`; NaN/inf/constant scores get ``-1``). Selection uses
  the penalised fitness ``tau - parsimony * size``. With ``metric="weighted_kendall"``
  (``fitness.metric``) the top-weighted :func:`greenmachine.stats.fitness.weighted_kendall_tau`, with
  ``metric="kendall_top"`` the top-guarded :func:`greenmachine.stats.fitness.guarded_kendall_tau`, takes the
  place of tau-b everywhere in the search (search and validation fitness).
* Optional cost term (``cost_weight > 0``, with a ``probe_cost`` per tree): the fitness
  that selects, keeps the best tree of each size and chooses the final proxy is
  ``tau - cost_weight * J`` (``J``: the tree's probe energy per network, the measured
  cost of the passes its statistics need, :mod:`greenmachine.probe.costs`); the taus reported
  stay plain taus. With ``cost_weight = 0`` nothing changes. Given ``probe_cost``, the
  search also keeps the best tree of each pass set: with the hall of fame, the
  candidates of the cost front (:meth:`Evolution.cost_candidates`).
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
  (:mod:`greenmachine.proxy.evaluate`); a tree seen before reuses its exact fitness.
* Hall of fame (PySR-style): for every size the tree with the best search tau seen so far;
  each row also carries that tree's tau on the *validation* sample. The rows shown are the
  Pareto front (a larger size is listed only if it beats every smaller one on search tau),
  at most ``hall_of_fame`` of them. The final proxy is the row with the best
  *validation* tau (ties: the smaller tree). The test sample is never seen here.
* All randomness comes from one ``random.Random(settings.seed)`` whose state is part of
  the checkpoint: the same inputs and seed give the same best formula.

Layout: :mod:`~greenmachine.evolution.loop` (:class:`Evolution`: one generation per call, fitness,
hall of fame), :mod:`~greenmachine.evolution.variation` (tournament selection and the variation
operators), :mod:`~greenmachine.evolution.entries` (:class:`HallOfFameEntry`,
:class:`GenerationResult`) and :mod:`~greenmachine.evolution.checkpoint` (the JSON state and its
exact restore). Every public name is re-exported here: import from ``greenmachine.evolution``.
"""

from greenmachine.evolution.checkpoint import STATE_FORMAT
from greenmachine.evolution.entries import GenerationResult, HallOfFameEntry
from greenmachine.evolution.loop import Evolution

__all__ = ["STATE_FORMAT", "Evolution", "GenerationResult", "HallOfFameEntry"]
