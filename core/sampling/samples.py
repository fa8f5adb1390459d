"""Seeded, disjoint search / validation / test samples of a search space.

Called by the engine (``greenmachine.run.controller``), ``gm baselines`` and ``gm eval``. Two modes:
``random`` draws uniformly from the whole space; ``stratified`` splits the space's accuracy
range into strata — equal-width accuracy bins (``equal_width``) or equal-count bins
(``quantile``) — and draws the same number of networks from each stratum. A stratum with
too few networks gives all it has and the shortfall is spread over the other strata, so
the sample size is always the one asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from greenmachine.errors import GMError
from greenmachine.settings.profile import SamplingSettings


@dataclass(frozen=True)
class Samples:
    """Disjoint samples of architecture indices (positions into the benchmark table)."""

    search: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    mode: str
    stratification: str
    strata: int
    seed: int
    #: Labelled networks (``sampling.labels``; 0: the usual search / validation / test draw).
    labels: int = 0
    #: With labels: ``rest`` (the test is every unlabelled network) or ``random`` (a uniform
    #: random sample drawn before the labels); see :mod:`greenmachine.sampling.few_labels`.
    test_mode: str = ""
    #: With labels: the number of networks of the space.
    space_size: int = 0

    def describe(self) -> str:
        """One line saying how the samples were drawn (for reports)."""
        if self.labels:
            return (
                f"{self._how()}, seed {self.seed}: {self.labels} labelled networks (search n={len(self.search)}, "
                f"validation n={len(self.validation)}); test n={len(self.test)}: {self.test_sampling()}"
            )
        return (
            f"{self._how()}, seed {self.seed}: search n={len(self.search)}, "
            f"validation n={len(self.validation)}, test n={len(self.test)}"
        )

    def test_sampling(self) -> str:
        """How the test sample was drawn, without its n (``gm baselines``, report headings)."""
        if not self.labels:
            return f"{self._how()}, seed {self.seed}"
        if self.test_mode == "rest":
            return (f"every unlabelled network of the space ({self.space_size} less the {self.labels} labelled, "
                    f"drawn {self._how()}, seed {self.seed})")
        return (f"uniform random of the space's {self.space_size} networks, seed {self.seed}, drawn before the "
                f"{self.labels} labelled networks (the same test networks for every number of labels at this seed)")

    def sampling_record(self) -> dict:
        """The labelled draw for ``report.json`` (empty without labels)."""
        if not self.labels:
            return {}
        return {"labels": self.labels, "test_mode": self.test_mode, "space_size": self.space_size,
                "test_sampling": self.test_sampling()}

    def _how(self) -> str:
        return self.mode if self.mode == "random" else f"stratified ({self.stratification}, {self.strata} strata)"

    def all_indices(self) -> np.ndarray:
        """Every sampled index once (search, then validation, then test)."""
        return np.concatenate([self.search, self.validation, self.test])


def sampling_label(samples: Samples) -> str:
    """How ``samples`` were drawn, in words, for the ``RunStarted`` event and the report.

    Parameters
    ----------
    samples : Samples
        The drawn search / validation / test samples.

    Returns
    -------
    str
        For example ``"random"`` or ``"stratified (accuracy, 5 strata)"``; with few labels,
        the number of labelled networks and how the test sample was drawn.
    """
    how = "random" if samples.mode == "random" else f"stratified ({samples.stratification}, {samples.strata} strata)"
    if getattr(samples, "labels", 0):
        test = "the rest of the space" if samples.test_mode == "rest" else "a uniform random sample of the rest"
        return f"{samples.labels} labelled networks drawn {how}; test: {test}"
    return how

def stratum_of(accuracy: np.ndarray, strata: int, stratification: str) -> np.ndarray:
    """Return the stratum (0..strata-1) of every network.

    Parameters
    ----------
    accuracy : numpy.ndarray
        Ground-truth accuracy of every network of the space.
    strata : int
        Number of strata.
    stratification : {"equal_width", "quantile"}
        Equal-width accuracy bins over [min, max], or bins at accuracy quantiles.
    """
    if stratification == "equal_width":
        edges = np.linspace(accuracy.min(), accuracy.max(), strata + 1)
    elif stratification == "quantile":
        edges = np.quantile(accuracy, np.linspace(0.0, 1.0, strata + 1))
    else:
        raise GMError(f"unknown stratification {stratification!r} (equal_width or quantile)")
    return np.clip(np.searchsorted(edges[1:-1], accuracy, side="right"), 0, strata - 1)


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
