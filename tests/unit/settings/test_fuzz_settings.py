"""Property-based tests: random profiles, ``--set`` overrides and profile TOML text.

Every input ends either in one :class:`~greenmachine.errors.ProfileError` line or in a profile whose
values are exactly what was given, within their documented ranges, and which survives the
``profile.toml`` round trip of a run directory. The default run keeps each property to a few
seconds; the ``slow`` variants try many more cases (``pytest -m slow tests/unit/settings/test_fuzz_settings.py
--hypothesis-show-statistics`` prints how many ran).
"""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from greenmachine.errors import GMError, ProfileError
from greenmachine.settings.profile import (
    _SECTIONS,
    SEED_LIMIT,
    Profile,
    load_profile,
    load_profile_text,
    profile_from_mapping,
)

FAST = settings(max_examples=400, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=4000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

KNOWN_KEYS = [(section, item.name) for section, cls in _SECTIONS.items() for item in dataclasses.fields(cls)]
INTERESTING_TEXT = [
    "auto", "cpu", "cuda", "cuda:0", "cuda:1", "cuda:abc", "cuda:-1", "cuda:01", "gpu", "tss", "sss", "nb101",
    "cifar10", "cifar100", "ImageNet16-120", "random", "stratified", "equal_width", "quantile", "USA", "usa",
    "ÄÖÜ", "default", "", " ", "a\nb", "\x00", "../x", "quick",
]

scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2, 9, 10, 11, 1000, 1024, 1025, SEED_LIMIT, SEED_LIMIT + 1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 1.5, 0.05, 3600.0, 1e308, 1e-320]),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(INTERESTING_TEXT),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=4), scalars, max_size=2))
section_names = st.one_of(st.sampled_from(list(_SECTIONS)), st.text(max_size=8))


def plausible(default):
    """Values near a field's own type and range (so that many profiles are accepted)."""
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(min_value=-2, max_value=3000)
    if isinstance(default, float):
        return st.floats(min_value=-0.5, max_value=2.0) | st.integers(0, 3)
    if isinstance(default, tuple):
        return st.lists(st.sampled_from(["cifar10", "cifar100", "ImageNet16-120", "mnist"]), max_size=3)
    return st.sampled_from(INTERESTING_TEXT)


@st.composite
def profile_mappings(draw):
    data: dict = {}
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 1, 2, 2, 3, 6]))):
        if draw(st.integers(0, 3)):
            section, key = draw(st.sampled_from(KNOWN_KEYS))
            value = draw(plausible(getattr(_SECTIONS[section](), key)) | values)
        else:
            section, key = draw(section_names), draw(st.text(max_size=8))
            value = draw(values)
        data.setdefault(section, {})
        if isinstance(data[section], dict):
            data[section][key] = value
    if draw(st.integers(0, 5)) == 0:
        data[draw(st.sampled_from(["name", "description", "benchmark"]))] = draw(values)
    return data


def _one_line(error: GMError) -> None:
    message = str(error)
    assert message and "\n" not in message and "\r" not in message


def _expected(default, given):
    """What a field must hold after validation when ``given`` was accepted."""
    if isinstance(default, tuple):
        return (given,) if isinstance(given, str) else tuple(given)
    if isinstance(default, float) and not isinstance(default, bool):
        return float(given)
    return given


def _check_accepted(profile: Profile, data) -> None:
    # exactly the given values (nothing coerced silently)
    for section, items in data.items():
        if section in ("name", "description"):
            assert getattr(profile, section) == items
            continue
        for key, given in items.items():
            default = getattr(_SECTIONS[section](), key)
            held = getattr(getattr(profile, section), key)
            assert type(held) is type(default)
            assert held == _expected(default, given)
    # documented ranges
    for seed in (profile.sampling.seed, profile.probe.seed, profile.evolution.seed):
        assert 0 <= seed <= SEED_LIMIT
    for section in _SECTIONS:
        for item in dataclasses.fields(_SECTIONS[section]):
            value = getattr(getattr(profile, section), item.name)
            if isinstance(value, float):
                assert math.isfinite(value)
    assert re.fullmatch(r"auto|cpu|cuda(:(0|[1-9][0-9]*))?", profile.probe.device)
    # the run directory's profile.toml reads back to the same profile
    assert load_profile_text(profile.to_toml(), "profile.toml") == profile


def _check_mapping(data) -> None:
    try:
        profile = profile_from_mapping(data, source="fuzz")
    except ProfileError as error:
        _one_line(error)
        event("rejected with one ProfileError line")
        return
    event("accepted")
    _check_accepted(profile, data)


@FAST
@given(profile_mappings())
def test_random_profiles_fail_cleanly_or_hold_exactly_what_was_given(data):
    _check_mapping(data)


@pytest.mark.slow
@MANY
@given(profile_mappings())
def test_random_profiles_many(data):
    _check_mapping(data)


raw_values = st.one_of(
    st.text(max_size=16),
    st.integers(-2, 3000).map(str),
    st.floats(-0.5, 2.0).map(repr),
    st.sampled_from(["-1", "nan", "inf", "-inf", "+nan", "1e400", "true", "1", "0", "[]", "['cifar10']",
                     "'cifar10'", "\"\"", "{a=1}", "1979-05-27", "0x10", "4294967296", "cuda:abc", "cuda:0"]),
    scalars.map(repr),
)


def _check_override(section: str, key: str, raw: str) -> None:
    text = f"{section}.{key}={raw}"
    try:
        profile = load_profile("quick", [text])
    except ProfileError as error:
        _one_line(error)
        event("rejected with one ProfileError line")
        return
    event("accepted")
    assert load_profile_text(profile.to_toml(), "profile.toml") == profile
    for seed in (profile.sampling.seed, profile.probe.seed, profile.evolution.seed):
        assert 0 <= seed <= SEED_LIMIT


overrides = st.tuples(
    st.one_of(st.sampled_from(KNOWN_KEYS), st.tuples(section_names, st.text(max_size=8))), raw_values
)


@FAST
@given(overrides)
def test_random_set_overrides(override):
    (section, key), raw = override
    _check_override(section, key, raw)


@pytest.mark.slow
@MANY
@given(overrides)
def test_random_set_overrides_many(override):
    (section, key), raw = override
    _check_override(section, key, raw)


@FAST
@given(st.text(max_size=200))
def test_random_profile_text(text):
    try:
        profile = load_profile_text(text, "fuzz.toml")
    except ProfileError as error:
        _one_line(error)
        return
    assert load_profile_text(profile.to_toml(), "copy") == profile
