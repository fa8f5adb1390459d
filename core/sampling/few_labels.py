"""Design from few labels: N labelled networks, split into search and validation; the test is the rest.

Called by :func:`greenmachine.sampling.samples.draw_samples` when a profile sets ``sampling.labels = N``
(``gm run PROFILE --labels N``), so the run controller, ``gm probe``, ``gm baselines``, the
exclusion of a proxy's own networks in ``gm eval`` and multi-task runs all draw the same
networks; and by ``scripts/few_labels.py`` (test τ against N). The check of ``sampling.labels``
and its limits live with the other profile checks (:mod:`greenmachine.settings.checks`) and are
re-exported here.

The protocol, for a space of ``S`` networks, ``N`` labels and ``sampling.test = T``:

1. **Test networks.** When ``S - N <= T`` the test set is every network that is not
   labelled (*the rest of the space*). Otherwise it is a uniform random sample of ``T``
   networks of the space, drawn *first* with the sampling seed (before the labelled ones and
   without reading any accuracy), so it is the same networks for every ``N`` and every
   evolution seed; the labelled networks are then drawn among the others.
2. **Labelled networks.** The first ``N`` of a seeded order of the remaining networks in the
   profile's sampling mode: ``random`` is a permutation; ``stratified`` takes one network of
   every stratum per round, the strata in a new random order each round, skipping emptied
   strata. Every prefix of that order is a sample of the mode (a stratified prefix gives each
   stratum an equal share and spreads the shortfall of small strata over the others, as
   :func:`greenmachine.sampling.samples.draw_sample`), so with one seed the labelled sets are nested:
   the 25 labels are among the 50, the 50 among the 100, and so on. A stratified draw reads
   the accuracy of the *whole* space to form its strata, which a user with a new space does
   not have: ``random`` is the realistic few-label mode.
3. **Split.** ``validation = max(MIN_VALIDATION, round(N / 3))`` and ``search = N -
   validation``. The validation networks span the labelled accuracy range: the labelled
   networks in accuracy order are cut into ``validation`` consecutive blocks and one network
   is drawn at random from each block; the others are the search sample.

Why two thirds for search: the search τ is what evolution optimises, for every tree of every
generation, so it gets the larger share; the validation τ only chooses the final proxy among
the hall of fame (some twenty trees). The sampling error of τ on ``n`` networks is about
``sqrt(2 (2n + 5) / (9 n (n - 1)))``: 0.27 at ``n = 8`` (``N = 25``: 17 search / 8
validation), 0.14 at ``n = 33`` (``N = 100``), so validation needs a third rather than a
token few; below five networks a τ takes so few values that it cannot tell the hall of fame
apart, hence at least five of each and ``N >= MIN_LABELS``. No choice reads the test
networks' accuracy or any proxy's test τ.
"""

from __future__ import annotations

import numpy as np

from greenmachine.errors import GMError
from greenmachine.sampling.sets import Samples, stratum_of
from greenmachine.settings.checks import (  # noqa: F401  (re-exported: the profile checks own the limits)
    MIN_LABELS,
    MIN_SEARCH,
    MIN_VALIDATION,
    check_labels,
)

MIN_TEST = 10
"""Fewest test networks a labelled draw must leave."""
VALIDATION_SHARE = 1.0 / 3.0
"""Share of the labelled networks that validates (see the module docstring)."""
TEST_REST = "rest"
"""``Samples.test_mode`` when the test set is every unlabelled network of the space."""
TEST_RANDOM = "random"
"""``Samples.test_mode`` when the test set is a uniform random sample drawn before the labels."""


def split_sizes(labels: int) -> tuple[int, int]:
    """The (search, validation) sizes of ``labels`` labelled networks.

    Parameters
    ----------
    labels : int
        Number of labelled networks, at least :data:`MIN_LABELS`.

    Returns
    -------
    (int, int)
        ``validation = max(MIN_VALIDATION, round(labels / 3))``, ``search = labels - validation``
        (25 -> 17 / 8, 100 -> 67 / 33, 400 -> 267 / 133).
    """
    check_labels(labels)
    validation = max(MIN_VALIDATION, int(round(labels * VALIDATION_SHARE)))
    return labels - validation, validation


def labelled_order(accuracy: np.ndarray, count: int, mode: str, rng: np.random.Generator,
                   available: np.ndarray, strata: int = 10, stratification: str = "equal_width") -> np.ndarray:
    """The first ``count`` networks of a seeded, nested order of the ``available`` ones.

    ``random``: a permutation of the available networks. ``stratified``: one network of every
    non-empty stratum per round, the strata in a fresh random order each round (see the module
    docstring). Any prefix of the order is a sample of the mode, so a larger ``count`` with the
    same generator state extends a smaller one.

    Parameters
    ----------
    accuracy : numpy.ndarray
        Ground truth of every network of the space (the strata are formed on it).
    count : int
        How many networks to return.
    mode : {"random", "stratified"}
    rng : numpy.random.Generator
    available : numpy.ndarray
        Boolean mask over the space: the networks that may be drawn.

    Raises
    ------
    GMError
        Fewer than ``count`` networks available, or an unknown mode.
    """
    candidates = np.flatnonzero(available)
    if count > len(candidates):
        raise GMError(f"cannot draw {count} labelled networks: only {len(candidates)} are left in the space")
    if mode == "random":
        return rng.permutation(candidates)[:count]
    if mode != "stratified":
        raise GMError(f"unknown sampling mode {mode!r} (random or stratified)")
    labels = stratum_of(accuracy, strata, stratification)[candidates]
    members = [rng.permutation(candidates[labels == stratum]) for stratum in range(strata)]
    order: list[int] = []
    depth = 0
    while len(order) < count:
        open_strata = [stratum for stratum in range(strata) if len(members[stratum]) > depth]
        for stratum in rng.permutation(open_strata):
            order.append(int(members[stratum][depth]))
        depth += 1
    return np.asarray(order[:count], dtype=np.int64)


def split_labelled(labelled: np.ndarray, accuracy: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split labelled networks into (search, validation), both sorted.

    The labelled networks in accuracy order are cut into ``validation`` consecutive blocks
    (sizes from :func:`split_sizes`); one network drawn at random from each block validates.
    Only the labelled networks' accuracy is read.

    Parameters
    ----------
    labelled : numpy.ndarray
        Indices of the labelled networks.
    accuracy : numpy.ndarray
        Ground truth of every network of the space.
    rng : numpy.random.Generator
    """
    labelled = np.asarray(labelled, dtype=np.int64)
    _, validation_size = split_sizes(len(labelled))
    ranked = labelled[np.argsort(accuracy[labelled], kind="stable")]
    edges = np.linspace(0, len(ranked), validation_size + 1).round().astype(np.int64)
    chosen = np.array([rng.integers(start, stop) for start, stop in zip(edges[:-1], edges[1:])], dtype=np.int64)
    validation = ranked[chosen]
    search = np.setdiff1d(labelled, validation)
    return np.sort(search), np.sort(validation)


def draw_labelled_samples(accuracy: np.ndarray, settings, source: str = "the space"):
    """The :class:`greenmachine.sampling.samples.Samples` of a profile with ``sampling.labels = N`` (module docstring).

    Parameters
    ----------
    accuracy : numpy.ndarray
        Ground truth of every network of the space (strata and the split read it).
    settings : SamplingSettings
        ``labels`` (N), ``test`` (the test sample size when the space is larger), mode,
        stratification, strata and seed; ``search`` and ``validation`` are not used.

    Raises
    ------
    GMError
        ``labels`` too small, or too large to leave :data:`MIN_TEST` test networks.
    """
    labels = int(settings.labels)
    check_labels(labels)
    size = len(accuracy)
    rest = size - labels
    if rest < MIN_TEST:
        raise GMError(f"{source} has {size} networks: {labels} labelled networks leave {max(rest, 0)} for the test "
                      f"(at least {MIN_TEST} needed)")
    rng = np.random.default_rng(settings.seed)
    available = np.ones(size, dtype=bool)
    if settings.test >= rest:
        test_mode = TEST_REST
        labelled = labelled_order(accuracy, labels, settings.mode, rng, available, settings.strata,
                                  settings.stratification)
        available[labelled] = False
        test = np.flatnonzero(available)
    else:
        test_mode = TEST_RANDOM
        test = np.sort(rng.choice(size, size=settings.test, replace=False))
        available[test] = False
        labelled = labelled_order(accuracy, labels, settings.mode, rng, available, settings.strata,
                                  settings.stratification)
    search, validation = split_labelled(labelled, accuracy, rng)
    return Samples(search, validation, test, settings.mode, settings.stratification, settings.strata, settings.seed,
                   labels=labels, test_mode=test_mode, space_size=size)
