"""evolution.exclude_statistics: the excluded statistics never enter a formula; the setting's checks."""

from __future__ import annotations

import pytest
import torch

from greenmachine.errors import GMError, ProfileError
from greenmachine.evolution import Evolution
from greenmachine.probe.passes.graph import GRAPH_STATISTICS
from greenmachine.proxy.tree import LayerStatistic, NetworkStatistic
from greenmachine.settings.profile import EvolutionSettings, load_profile, load_profile_text

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def problem(synthetic_problem):
    """The shared synthetic problem (tests/conftest.py: 80 search / 40 validation networks)."""
    return synthetic_problem


def _names(tree) -> set[str]:
    names, stack = set(), [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (LayerStatistic, NetworkStatistic)):
            names.add(node.name)
        stack.extend(getattr(node, "children", ()))
    return names


def test_excluded_statistics_never_enter_a_formula(problem):
    search, search_target, validation, validation_target = problem
    excluded = ("layer_statistic_01", "network_statistic_02")
    settings = EvolutionSettings(population=30, generations=4, seed=0, exclude_statistics=excluded)
    evolution = Evolution(settings, [search], [search_target], [validation], [validation_target])
    assert not set(excluded) & set(evolution.primitives.layer_statistic_names)
    assert not set(excluded) & set(evolution.primitives.network_statistic_names)
    while not evolution.finished:
        evolution.step()
    seen = set().union(*(_names(tree) for tree in evolution.population))
    seen |= set().union(*(_names(entry.tree) for entry in evolution.hall_of_fame()))
    assert seen and not seen & set(excluded)
    # without the exclusion the same seed reads the signal's statistics
    free = Evolution(EvolutionSettings(population=30, generations=4, seed=0),
                     [search], [search_target], [validation], [validation_target])
    while not free.finished:
        free.step()
    assert _names(free.best().tree) & set(excluded)


def test_excluding_every_statistic_is_an_error(problem):
    search, search_target, validation, validation_target = problem
    everything = tuple(search.layer_statistic_names) + tuple(search.network_statistic_names)
    with pytest.raises(GMError, match="leaves no statistic"):
        Evolution(EvolutionSettings(exclude_statistics=everything),
                  [search], [search_target], [validation], [validation_target])


def test_profile_setting_loads_round_trips_and_is_checked():
    default = load_profile("quick")
    assert default.evolution.exclude_statistics == ()
    assert "exclude_statistics" not in default.to_toml()  # profiles without it read and write as before
    names = sorted(GRAPH_STATISTICS)
    profile = load_profile("quick", [f"evolution.exclude_statistics={names!r}".replace("'", '"')])
    assert profile.evolution.exclude_statistics == tuple(names)
    assert load_profile_text(profile.to_toml(), "copy") == profile
    with pytest.raises(ProfileError, match="unknown statistic.*no_such_statistic"):
        load_profile("quick", ['evolution.exclude_statistics=["swap", "no_such_statistic"]'])
    with pytest.raises(ProfileError, match="listed twice"):
        load_profile("quick", ['evolution.exclude_statistics=["swap", "swap"]'])
    with pytest.raises(ProfileError, match="list of strings"):
        load_profile("quick", ["evolution.exclude_statistics=3"])
