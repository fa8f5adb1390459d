"""Sampling: disjoint, seeded, and stratified as promised (on the real TSS/SSS ground truth)."""

import numpy as np
import pytest

from greenmachine.benchmark.tables import load_benchmark
from greenmachine.sampling.samples import draw_samples, stratum_of
from greenmachine.settings.profile import SamplingSettings


@pytest.mark.parametrize("space", ["tss", "sss"])
@pytest.mark.parametrize("mode,stratification", [("random", "equal_width"), ("stratified", "equal_width"), ("stratified", "quantile")])
def test_samples_are_disjoint_sized_and_seeded(space, mode, stratification):
    accuracy = load_benchmark(space).accuracy("cifar10")
    settings = SamplingSettings(mode=mode, stratification=stratification, strata=10, search=300, validation=200, test=1000, seed=3)
    samples = draw_samples(accuracy, settings)
    assert (len(samples.search), len(samples.validation), len(samples.test)) == (300, 200, 1000)
    everything = samples.all_indices()
    assert len(np.unique(everything)) == len(everything)
    again = draw_samples(accuracy, settings)
    assert np.array_equal(again.test, samples.test)
    other = draw_samples(accuracy, SamplingSettings(mode=mode, stratification=stratification, seed=4))
    assert not np.array_equal(other.test, samples.test)


def test_stratified_equal_width_draws_evenly_from_populated_bins():
    accuracy = load_benchmark("tss").accuracy("cifar10")
    settings = SamplingSettings(mode="stratified", stratification="equal_width", strata=10, search=300, validation=200, test=1000, seed=0)
    samples = draw_samples(accuracy, settings)
    labels = stratum_of(accuracy, 10, "equal_width")
    counts = np.bincount(labels[samples.search], minlength=10)
    population = np.bincount(labels, minlength=10)
    # Every stratum gives min(its size, an equal share); sparse strata give all they have.
    assert counts.sum() == 300
    # Strata that gave fewer than the largest share are exhausted; the others are within one.
    short = counts < counts.max() - 1
    assert np.array_equal(counts[short], population[short])
    assert counts[~short].max() - counts[~short].min() <= 1
    assert counts[population > 0].min() > 0


def test_quantile_strata_are_equal_count():
    accuracy = load_benchmark("sss").accuracy("cifar100")
    labels = stratum_of(accuracy, 5, "quantile")
    counts = np.bincount(labels, minlength=5)
    assert counts.min() > 0.15 * len(accuracy)


def test_random_sample_has_space_like_accuracy_distribution():
    accuracy = load_benchmark("tss").accuracy("cifar10")
    samples = draw_samples(accuracy, SamplingSettings(mode="random", search=300, validation=200, test=1000, seed=1))
    assert abs(np.median(accuracy[samples.test]) - np.median(accuracy)) < 1.0
