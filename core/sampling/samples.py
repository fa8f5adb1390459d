"""Seeded, disjoint search / validation / test samples of a search space.

Called by the engine (``greenmachine.run.controller``), ``gm baselines`` and ``gm eval``. Two modes:
``random`` draws uniformly from the whole space; ``stratified`` splits the space's accuracy
range into strata — equal-width accuracy bins (``equal_width``) or equal-count bins
(``quantile``) — and draws the same number of networks from each stratum. A stratum with
too few networks gives all it has and the shortfall is spread over the other strata, so
the sample size is always the one asked for.
"""

from __future__ import annotations

import numpy as np

from greenmachine.errors import GMError
from greenmachine.sampling.sets import Samples, sampling_label, stratum_of  # noqa: F401  (re-exported)
from greenmachine.settings.profile import SamplingSettings


def draw_sample(
    accuracy: np.ndarray,
    size: int,
    mode: str,
    rng: np.random.Generator,
    available: np.ndarray,
    strata: int = 10,
    stratification: str = "equal_width",
) -> np.ndarray:
    """Draw ``size`` distinct indices among ``available`` (a boolean mask over the space).

    Raises
    ------
    GMError
        If fewer than ``size`` networks are available or ``mode`` is unknown.
    """
    candidates = np.flatnonzero(available)
    if size > len(candidates):
        raise GMError(f"cannot draw {size} networks: only {len(candidates)} are left in the space")
    if mode == "random":
        return np.sort(rng.choice(candidates, size=size, replace=False))
    if mode != "stratified":
        raise GMError(f"unknown sampling mode {mode!r} (random or stratified)")
    labels = stratum_of(accuracy, strata, stratification)[candidates]
    members = [rng.permutation(candidates[labels == s]) for s in range(strata)]
    sizes = np.array([len(m) for m in members])
    quota = np.zeros(strata, dtype=np.int64)
    remaining = size
    # Water-filling: smallest strata first, each gets min(its size, an equal share).
    order = [s for s in np.argsort(sizes, kind="stable") if sizes[s] > 0]
    for position, s in enumerate(order):
        share = remaining // (len(order) - position)
        quota[s] = min(sizes[s], share)
        remaining -= quota[s]
    # The remainder (fewer than the open strata) goes one each to random open strata.
    open_strata = [s for s in order if quota[s] < sizes[s]]
    for s in rng.permutation(open_strata)[:remaining]:
        quota[s] += 1
    chosen = np.concatenate([members[s][: quota[s]] for s in range(strata)])
    return np.sort(chosen)


def draw_samples(accuracy: np.ndarray, settings: SamplingSettings, source: str = "the space") -> Samples:
    """Draw the disjoint search, validation and test samples of a profile.

    With ``settings.labels = N`` the N labelled networks are split into search and
    validation and the test is the rest of the space or a random sample of it
    (:func:`greenmachine.sampling.few_labels.draw_labelled_samples`).

    Parameters
    ----------
    accuracy : numpy.ndarray
        Ground truth of every network of the space (stratification uses it).
    settings : SamplingSettings
        Mode, stratification, strata, sizes and seed.
    """
    if getattr(settings, "labels", 0):
        from greenmachine.sampling.few_labels import draw_labelled_samples

        return draw_labelled_samples(accuracy, settings, source)
    needed = settings.search + settings.validation + settings.test
    if len(accuracy) < needed:
        raise GMError(f"{source} has {len(accuracy)} networks, but the samples need {needed} "
                      f"(search {settings.search} + validation {settings.validation} + test {settings.test})")
    rng = np.random.default_rng(settings.seed)
    available = np.ones(len(accuracy), dtype=bool)
    drawn = []
    for size in (settings.search, settings.validation, settings.test):
        sample = draw_sample(
            accuracy, size, settings.mode, rng, available, settings.strata, settings.stratification
        )
        available[sample] = False
        drawn.append(sample)
    return Samples(*drawn, settings.mode, settings.stratification, settings.strata, settings.seed)
