"""Profiles: shipped ones load; unknown keys, bad values and bad overrides name file and key."""

import pytest

from core.errors import ProfileError
from core.settings import available_profiles, load_profile, load_profile_text


def test_every_shipped_profile_loads_and_round_trips():
    shipped = available_profiles()
    assert {"quick", "tss-cifar10", "tss-cifar100", "sss-cifar10", "sss-cifar100"} <= set(shipped)
    for name in shipped:
        profile = load_profile(name)
        assert load_profile_text(profile.to_toml(), "copy") == profile


def test_paper_profiles_follow_the_protocol():
    for name in ("tss-cifar10", "tss-cifar100", "sss-cifar10", "sss-cifar100"):
        sampling = load_profile(name).sampling
        assert sampling.mode == "stratified"
        assert (sampling.search, sampling.validation, sampling.test) >= (300, 200, 1000)


def test_override_changes_value():
    profile = load_profile("quick", ["evolution.population=77", "sampling.mode=random", "benchmark.datasets=['cifar100']"])
    assert profile.evolution.population == 77
    assert profile.sampling.mode == "random"
    assert profile.benchmark.datasets == ("cifar100",)


@pytest.mark.parametrize(
    "override,fragment",
    [
        ("evolution.populaton=3", "unknown key evolution.populaton"),
        ("sampling.mode=sideways", "sampling.mode must be one of"),
        ("evolution.population=many", "evolution.population must be an integer"),
        ("evolution.crossover_rate=1.5", "evolution.crossover_rate must be between 0 and 1"),
        ("benchmark.datasets=['mnist']", "unknown dataset 'mnist'"),
        ("nosection.key=1", "unknown section 'nosection'"),
        ("novalue", "expected section.key=value"),
    ],
)
def test_bad_override_is_one_clear_error(override, fragment):
    with pytest.raises(ProfileError) as error:
        load_profile("quick", [override])
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_file_names_file_and_key(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[evolution]\npopulation = 10\nmutation = 0.3\n')
    with pytest.raises(ProfileError) as error:
        load_profile(str(path))
    assert str(path) in str(error.value) and "evolution.mutation" in str(error.value)
    path.write_text("[evolution\n")
    with pytest.raises(ProfileError, match="invalid TOML"):
        load_profile(str(path))


def test_unknown_profile_lists_available():
    with pytest.raises(ProfileError, match="unknown profile 'nope'.*quick"):
        load_profile("nope")
