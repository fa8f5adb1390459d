"""The drawn samples of a search space (:class:`Samples`), how they are described, and strata.

The lower half of sampling, shared by :mod:`greenmachine.sampling.samples` (which draws samples and
re-exports these names) and :mod:`greenmachine.sampling.few_labels` (labelled samples); it imports
neither, nor the profile settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from greenmachine.errors import GMError


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
