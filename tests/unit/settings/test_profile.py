"""Profiles: shipped ones load; unknown keys, bad values and bad overrides name file and key."""

import pytest

from greenmachine.errors import ProfileError
from greenmachine.settings.profile import available_profiles, load_profile, load_profile_text


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


@pytest.mark.parametrize(
    "override,fragment",
    [
        ("sampling.seed=-1", "sampling.seed must be >= 0"),
        ("probe.seed=-1", "probe.seed must be >= 0"),
        ("evolution.seed=4294967296", "evolution.seed must be <= 4294967295"),
        ("evolution.parsimony=nan", "evolution.parsimony must be a finite number"),
        ("export.simplify_timeout=inf", "export.simplify_timeout must be a finite number"),
        ("evolution.crossover_rate=nan", "evolution.crossover_rate must be a finite number"),
        ("evolution.parsimony=1e400", "evolution.parsimony must be a finite number"),
        ("probe.device='cuda:abc'", "probe.device must be auto, cpu, cuda or cuda:N"),
        ("probe.device='cuda:-1'", "probe.device must be auto, cpu, cuda or cuda:N"),
        ("probe.device='cudafoo'", "probe.device must be auto, cpu, cuda or cuda:N"),
        ("energy.enabled=1", "energy.enabled must be true or false"),
        ("sampling.search='300'", "sampling.search must be an integer"),
        ("sampling.search=300.0", "sampling.search must be an integer"),
        ("benchmark.datasets=[]", "benchmark.datasets must be a non-empty list"),
        ("sampling.test=0", "sampling.test must be >= 10"),
        ("sampling.strata=50", "sampling.strata (50) must not exceed the smallest sample size"),
        ("probe.batch_size=100000", "probe.batch_size must be <= 1024"),
        ("evolution.max_depth=100", "evolution.max_depth must be <= 32"),
        ("evolution.max_size=100000", "evolution.max_size must be <= 2000"),
        ("energy.country='ÄÖÜ'", "ISO 3166 alpha-3"),
        ('probe.cache_dir="a\\u0000b"', "without control characters"),
    ],
)
def test_out_of_range_values_are_one_clear_error(override, fragment):
    with pytest.raises(ProfileError) as error:
        load_profile("quick", [override])
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_valid_devices_pass_and_strings_round_trip():
    for device in ("auto", "cpu", "cuda", "cuda:0", "cuda:12"):
        assert load_profile("quick", [f"probe.device='{device}'"]).probe.device == device
    from greenmachine.settings.profile import profile_from_mapping

    profile = profile_from_mapping({"description": 'tab\\t quote" back\\\\ newline\n nul\x00 del\x7f é'})
    assert load_profile_text(profile.to_toml(), "copy") == profile
    with pytest.raises(ProfileError, match="name must be"):
        profile_from_mapping({"name": "../../elsewhere"})


def test_cuda_index_beyond_the_devices_is_refused(monkeypatch):
    import torch

    from greenmachine.errors import GMError
    from greenmachine.probe.engine import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == "cuda:1"
    assert resolve_device("cuda") == "cuda"
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(GMError, match="only 2 CUDA device"):
        resolve_device("cuda:2")
