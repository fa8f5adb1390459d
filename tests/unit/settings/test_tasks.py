"""Per-task normalisation, fitness aggregates and the multi-task profile settings (greenmachine.settings.tasks)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from greenmachine.errors import GMError, ProfileError
from greenmachine.evolution import Evolution
from greenmachine.settings.profile import EvolutionSettings, load_profile, load_profile_text, profile_from_mapping
from greenmachine.stats.table import StatisticTable
from greenmachine.stats.aggregate import aggregate_taus
from greenmachine.stats.normalise import normalise_table, normalise_values
from greenmachine.settings.tasks import profile_tasks

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=2, max_size=40)


@settings(deadline=None)
@given(samples, st.sampled_from(["rank", "zscore"]))
def test_normalisation_is_monotone_within_a_task(values, how):
    values = np.array(values)
    result = normalise_values(values, how)
    for i in range(len(values)):
        for j in range(len(values)):
            if values[i] < values[j]:
                assert result[i] <= result[j]
                if how == "rank":
                    assert result[i] < result[j]
            elif values[i] == values[j]:
                assert result[i] == result[j]


def test_zscore_of_equal_values_is_zero_despite_a_rounded_mean():
    values = np.full(3, 342.01208896616765)
    assert values.mean() != values[0]  # the float mean is off in the last bit
    assert normalise_values(values, "zscore").tolist() == [0.0, 0.0, 0.0]
    assert normalise_values(values * 3.0, "zscore").tolist() == [0.0, 0.0, 0.0]


@settings(max_examples=60, deadline=None)
@given(samples, st.floats(min_value=1e-3, max_value=1e3), st.floats(min_value=-1e3, max_value=1e3),
       st.sampled_from(["rank", "zscore"]))
@example([342.01208896616765] * 3, 3.0, 0.0, "zscore")
def test_normalisation_ignores_a_tasks_scale_and_offset(values, scale, offset, how):
    values = np.array(values)
    scaled = values * scale + offset
    if len(np.unique(scaled)) != len(np.unique(values)):
        return  # float rounding merged two values: not the same sample any more
    np.testing.assert_allclose(normalise_values(scaled, how), normalise_values(values, how), rtol=1e-6, atol=1e-6)


@settings(deadline=None)
@given(samples)
def test_rank_ignores_any_increasing_map(values):
    values = np.array(values)
    mapped = np.sign(values) * np.log1p(np.abs(values))  # strictly increasing
    if len(np.unique(mapped)) != len(np.unique(values)):
        return
    np.testing.assert_array_equal(normalise_values(mapped, "rank"), normalise_values(values, "rank"))


def test_rank_and_zscore_values():
    values = np.array([10.0, 30.0, 20.0, 20.0, np.nan])
    np.testing.assert_allclose(normalise_values(values, "rank")[:4], [0.5 / 4, 3.5 / 4, 2.0 / 4, 2.0 / 4])
    assert np.isnan(normalise_values(values, "rank")[4])
    zscore = normalise_values(np.array([1.0, 2.0, 3.0, np.inf]), "zscore")
    np.testing.assert_allclose(zscore[:3], [-1.224744871, 0.0, 1.224744871])
    assert zscore[3] == np.inf
    np.testing.assert_array_equal(normalise_values(np.array([5.0, 5.0]), "zscore"), [0.0, 0.0])
    with pytest.raises(GMError, match="unknown normalisation"):
        normalise_values(values, "minmax")


def _table(layer, mask, network):
    return StatisticTable(("a",), ("n",), torch.tensor([layer], dtype=torch.float64), torch.tensor(mask),
                          torch.tensor([network], dtype=torch.float64))


def test_table_normalises_layers_over_every_valid_layer_and_keeps_padding():
    table = _table([[1.0, 2.0, 0.0], [3.0, 4.0, 5.0]], [[True, True, False], [True, True, True]], [7.0, -1.0])
    ranked = normalise_table(table, "rank")
    np.testing.assert_allclose(ranked.layer_values[0].numpy(), [[0.1, 0.3, 0.0], [0.5, 0.7, 0.9]])
    np.testing.assert_allclose(ranked.network_values[0].numpy(), [0.75, 0.25])
    assert normalise_table(table, "none") is table
    assert table.layer_values[0, 0, 0] == 1.0  # the input is not modified


def test_aggregate_min_and_mean():
    taus = [torch.tensor([0.1, 0.5], dtype=torch.float64), torch.tensor([0.3, 0.2], dtype=torch.float64)]
    assert aggregate_taus(taus, "min").tolist() == [0.1, 0.2]
    np.testing.assert_allclose(aggregate_taus(taus, "mean").numpy(), [0.2, 0.35])
    with pytest.raises(GMError, match="aggregate"):
        aggregate_taus(taus, "max")
    with pytest.raises(GMError):
        aggregate_taus([], "min")


def test_aggregate_margin_is_half_the_worst_lead_over_each_task_baseline():
    taus = [torch.tensor([0.7, 0.9, -1.0], dtype=torch.float64), torch.tensor([0.8, 0.6, 0.9], dtype=torch.float64)]
    offsets = [0.6, 0.8]
    margin = aggregate_taus(taus, "margin", offsets)
    # tree 0: leads 0.1 and 0.0 -> 0.0; tree 1: 0.3 and -0.2 -> -0.1; tree 2 is invalid on task 0
    np.testing.assert_allclose(margin.numpy(), [0.0, -0.1, -1.0], atol=1e-12)
    nearly = [torch.tensor([-1.0 + 1e-9], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)]
    assert float(aggregate_taus(nearly, "margin", [1.0, -1.0])) > -1.0  # valid, if far below its baseline
    for bad in (None, [0.5]):
        with pytest.raises(GMError, match="margin aggregate needs"):
            aggregate_taus(taus, "margin", bad)


def _random_tables(seed, count=30):
    generator = torch.Generator().manual_seed(seed)
    mask = torch.ones(count, 3, dtype=torch.bool)
    return StatisticTable(("a", "b"), ("n",), torch.rand(2, count, 3, generator=generator, dtype=torch.float64),
                          mask, torch.rand(1, count, generator=generator, dtype=torch.float64))


def test_evolution_mean_aggregate_differs_from_min_and_min_is_the_default():
    tables = [_random_tables(1), _random_tables(2)]
    targets = [table.network_values[0] + table.layer_values[0].sum(1) for table in tables]
    settings_ = EvolutionSettings(population=12, generations=2, seed=3)
    default, explicit, mean = (Evolution(settings_, tables, targets, tables, targets, **options)
                               for options in ({}, {"aggregate": "min"}, {"aggregate": "mean"}))
    for evolution in (default, explicit, mean):
        evolution.step()
    assert default.search_tau == explicit.search_tau
    assert default.population == mean.population  # same first generation
    assert all(m >= d for m, d in zip(mean.search_tau, default.search_tau))
    assert mean.search_tau != default.search_tau


# ---------------------------------------------------------------------------- settings

TASKS = {"tasks": ["tss/cifar10", "sss/cifar100"]}


def test_tasks_profile_loads_round_trips_and_lists_its_tasks():
    profile = profile_from_mapping({"benchmark": TASKS, "fitness": {"aggregate": "mean", "normalise": "zscore"}})
    assert profile.space_name == "tss" and profile.benchmark.datasets == ("cifar10",)
    assert [task.label for task in profile_tasks(profile)] == TASKS["tasks"]
    assert [task.stratify_on for task in profile_tasks(profile)] == ["cifar10", "cifar100"]
    text = profile.to_toml()
    assert "space =" not in text and "tasks = " in text
    assert load_profile_text(text, "round trip") == profile


def test_single_space_profile_toml_has_no_tasks_and_default_fitness():
    profile = load_profile("tss-cifar10")
    assert "tasks" not in profile.to_toml()
    assert (profile.fitness.aggregate, profile.fitness.normalise) == ("min", "none")
    assert [task.label for task in profile_tasks(profile)] == ["tss/cifar10"]


@pytest.mark.parametrize("section, message", [
    ({"benchmark": {**TASKS, "space": "tss"}}, "benchmark.tasks replaces benchmark.space"),
    ({"benchmark": {**TASKS, "datasets": ["cifar10"]}}, "benchmark.tasks replaces benchmark.datasets"),
    ({"benchmark": {"tasks": ["tss-cifar10"]}}, "must be written space/dataset"),
    ({"benchmark": {"tasks": ["nas101/cifar10"]}}, "unknown space 'nas101'"),
    ({"benchmark": {"tasks": ["sss/mnist"]}}, "unknown dataset 'mnist' in task 'sss/mnist'"),
    ({"benchmark": {"tasks": ["sss/cifar10", "sss/cifar10"]}}, "tasks are listed twice"),
    ({"benchmark": {"tasks": []}}, "non-empty list"),
    ({"fitness": {"aggregate": "max"}}, "fitness.aggregate must be one of min, mean"),
    ({"fitness": {"normalise": "minmax"}}, "fitness.normalise must be one of none, rank, zscore"),
    ({"fitness": {"weight": 1}}, "unknown key fitness.weight"),
])
def test_bad_multi_task_settings_are_one_clear_line(section, message):
    with pytest.raises(ProfileError, match=message) as caught:
        profile_from_mapping(section, source="p.toml")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("p.toml")


def test_shipped_universal_profile_is_valid():
    profile = load_profile("universal")
    assert len(profile_tasks(profile)) == 4 and profile.fitness.normalise == "rank"


def test_shipped_universal_proxy_is_normalised_and_refuses_one_network():
    from greenmachine.proxies import ProxyError, load_proxy

    proxy = load_proxy("universal")
    assert proxy.normalise == "rank" and len(proxy.tasks) >= 2
    cells = proxy.provenance["cells"]
    assert [cell["task"] for cell in cells] == list(proxy.tasks)
    assert all(cell["best_baseline"]["chosen_by"] == "validation tau" for cell in cells)
    with pytest.raises(ProxyError, match="ranks a set of two or more networks"):
        proxy.score(torch.nn.Linear(2, 2), torch.zeros(1, 2), torch.zeros(1, dtype=torch.long))
