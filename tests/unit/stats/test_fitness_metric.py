"""The ``fitness.metric`` option: profile key, evolution on the weighted tau, checkpoint resume."""

from __future__ import annotations

import pytest
import torch

from greenmachine.errors import GMError, ProfileError
from greenmachine.evolution import Evolution
from greenmachine.stats.fitness import FITNESS_METRICS, kendall_tau_b, weighted_kendall_tau
from greenmachine.proxy.evaluate import evaluate_population
from greenmachine.settings.profile import EvolutionSettings, load_profile, load_profile_text, profile_from_mapping
from greenmachine.settings.checks import _CHOICES
from greenmachine.stats.table import StatisticTable


def test_metric_key_defaults_to_kendall_and_round_trips():
    assert load_profile("tss-cifar10").fitness.metric == "kendall"
    assert _CHOICES[("fitness", "metric")] == FITNESS_METRICS
    profile = profile_from_mapping({"fitness": {"metric": "weighted_kendall"}})
    assert profile.fitness.metric == "weighted_kendall"
    assert 'metric = "weighted_kendall"' in profile.to_toml()
    assert load_profile_text(profile.to_toml(), "round trip") == profile
    assert load_profile("quick", ["fitness.metric='weighted_kendall'"]).fitness.metric == "weighted_kendall"


@pytest.mark.parametrize("value", ["pearson", "Kendall", 1])
def test_bad_metric_is_one_clear_line(value):
    with pytest.raises(ProfileError) as caught:
        profile_from_mapping({"fitness": {"metric": value}}, source="p.toml")
    text = str(caught.value)
    assert text.startswith("p.toml") and "fitness.metric" in text and "\n" not in text


def _table(seed, count=40):
    generator = torch.Generator().manual_seed(seed)
    mask = torch.ones(count, 3, dtype=torch.bool)
    return StatisticTable(("a", "b"), ("n",), torch.rand(2, count, 3, generator=generator, dtype=torch.float64),
                          mask, torch.rand(1, count, generator=generator, dtype=torch.float64))


@pytest.fixture()
def problem():
    search, validation = _table(1), _table(2, 30)
    targets = [table.network_values[0] + table.layer_values[0].sum(1) ** 2 for table in (search, validation)]
    return [search], [targets[0]], [validation], [targets[1]]


def test_evolution_selects_on_the_chosen_metric(problem):
    settings = EvolutionSettings(population=16, generations=2, seed=5)
    default = Evolution(settings, *problem)
    weighted = Evolution(settings, *problem, metric="weighted_kendall")
    default.step(), weighted.step()
    assert default.population == weighted.population  # the same random first generation
    scores = evaluate_population(weighted.population, problem[0][0])
    expected = weighted_kendall_tau(scores, problem[1][0])
    assert weighted.search_tau == pytest.approx(expected.tolist(), abs=0)
    assert default.search_tau == pytest.approx(kendall_tau_b(scores, problem[1][0]).tolist(), abs=0)
    assert weighted.search_tau != default.search_tau
    best = weighted.best()
    validation_scores = evaluate_population([best.tree], problem[2][0])
    assert best.validation_tau == pytest.approx(float(weighted_kendall_tau(validation_scores, problem[3][0])[0]))
    with pytest.raises(GMError, match="unknown fitness metric"):
        Evolution(settings, *problem, metric="pearson")


def test_a_resumed_weighted_evolution_equals_an_uninterrupted_one(problem):
    settings = EvolutionSettings(population=12, generations=4, seed=2)
    whole = Evolution(settings, *problem, metric="weighted_kendall")
    for _ in range(4):
        whole.step()
    first = Evolution(settings, *problem, metric="weighted_kendall")
    first.step(), first.step()
    resumed = Evolution.from_state_dict(first.state_dict(), settings, *problem, metric="weighted_kendall")
    resumed.step(), resumed.step()
    assert resumed.best().tree == whole.best().tree and resumed.search_tau == whole.search_tau


def test_margin_offsets_are_the_best_baseline_in_the_chosen_metric():
    from greenmachine.run.multitask import TaskData, _best_baseline_tau
    from scipy.stats import kendalltau

    count = 40
    generator = torch.Generator().manual_seed(4)
    target = torch.rand(count, generator=generator, dtype=torch.float64)
    naswot = target + 0.3 * torch.rand(count, generator=generator, dtype=torch.float64)
    synflow = -target + 0.1 * torch.rand(count, generator=generator, dtype=torch.float64)
    constant = torch.ones(count, dtype=torch.float64)  # params: undefined, never the best
    table = StatisticTable(("a",), ("naswot", "synflow_total", "parameter_count"),
                           torch.zeros(1, count, 1, dtype=torch.float64), torch.ones(count, 1, dtype=torch.bool),
                           torch.stack([naswot, synflow, constant]))
    item = TaskData(None, None, None, {"search": table}, {}, {"search": target})
    assert _best_baseline_tau(item, "search", "weighted_kendall") == pytest.approx(
        float(weighted_kendall_tau(naswot, target)[0]), abs=1e-12)
    assert _best_baseline_tau(item, "search") == pytest.approx(kendalltau(naswot, target).statistic, abs=1e-12)
