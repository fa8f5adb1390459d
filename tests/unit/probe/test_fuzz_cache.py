"""Property-based tests: random bytes in a probe-cache entry.

A damaged entry is either read back exactly (the bytes that changed carry no data, e.g. a
zip timestamp) or reported once, as one line, and treated as a miss so that the network is
probed again -- never returned with wrong values, never an exception. The ``slow`` variant
tries many more cases (``--hypothesis-show-statistics`` counts them).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from greenmachine.probe import ProbeCache
from greenmachine.stats.table import NetworkStatistics

FAST = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
MANY = settings(max_examples=4000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
KEY = ("tss", 7, "cifar10", 4, 0)
STATISTICS = NetworkStatistics(
    ("cells.0.conv", "cells.1.conv", "classifier"),
    {"snip": np.array([1.5, -2.0, 3.25]), "synflow": np.array([0.0, 1e-300, 7.0])},
    {"flops": 123.0, "params": 4.5},
)


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    path = ProbeCache(root).store(*KEY, STATISTICS)
    return root, path, path.read_bytes()


@st.composite
def damage(draw, size):
    """Random bytes: a few bytes replaced, a truncation, appended junk or a whole random file."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return ("replace_all", draw(st.binary(max_size=2 * size)))
    if choice == 1:
        return ("truncate", draw(st.integers(0, size - 1)))
    if choice == 2:
        return ("append", draw(st.binary(min_size=1, max_size=64)))
    edits = draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255)), min_size=1, max_size=8))
    return ("edit", edits)


def _apply(content: bytes, change) -> bytes:
    kind, argument = change
    if kind == "replace_all":
        return argument
    if kind == "truncate":
        return content[:argument]
    if kind == "append":
        return content + argument
    damaged = bytearray(content)
    for position, value in argument:
        damaged[position] = value
    return bytes(damaged)


def _same(a: NetworkStatistics, b: NetworkStatistics) -> bool:
    return (
        a.layer_names == b.layer_names
        and set(a.layer_statistics) == set(b.layer_statistics)
        and all(np.array_equal(a.layer_statistics[n], b.layer_statistics[n]) for n in a.layer_statistics)
        and dict(a.network_statistics) == dict(b.network_statistics)
    )


def _check(original, change) -> None:
    root, path, content = original
    damaged = _apply(content, change)
    path.write_bytes(damaged)
    try:
        reported: list[str] = []
        cache = ProbeCache(root, on_problem=reported.append)
        loaded = cache.load(*KEY)
        again = cache.load(*KEY)
    finally:
        path.write_bytes(content)
    if loaded is None:
        event("corrupt entry reported")
        assert again is None
        assert len(reported) == 1 and cache.problems == reported  # reported once, not twice
        message = reported[0]
        assert str(path) in message and "\n" not in message and "\r" not in message
    else:
        event("read back exactly (bytes without data changed)" if damaged != content else "unchanged")
        assert _same(loaded, STATISTICS) and reported == []


def _size(original) -> int:
    return len(original[2])


@FAST
@given(data=st.data())
def test_random_bytes_in_a_cache_entry(original, data):
    _check(original, data.draw(damage(_size(original))))


@pytest.mark.slow
@MANY
@given(data=st.data())
def test_random_bytes_in_a_cache_entry_many(original, data):
    _check(original, data.draw(damage(_size(original))))


def test_an_npy_file_or_a_folder_in_place_of_an_entry_is_reported(tmp_path):
    cache = ProbeCache(tmp_path)
    path = cache.path(*KEY)
    path.parent.mkdir(parents=True)
    with open(path, "wb") as handle:
        np.save(handle, np.arange(3.0))  # a bare .npy array, not an archive
    assert cache.load(*KEY) is None and len(cache.problems) == 1
    assert cache.load(*KEY) is None and len(cache.problems) == 1  # reported once per entry
    path.unlink()
    path.mkdir()
    fresh = ProbeCache(tmp_path)
    assert fresh.load(*KEY) is None and len(fresh.problems) == 1
