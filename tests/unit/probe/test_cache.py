"""Tests of the probe cache: hits skip the passes, corruption is detected, concurrency is safe."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import torch

import greenmachine.probe.engine as engine
from greenmachine.probe import ProbeCache, default_cache_root, probe_many
from greenmachine.stats.table import NetworkStatistics

# Two small TSS networks (official indices) probed at batch 4.
INDICES = [0, 1]
BATCH = 4


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here probes on one torch thread (see conftest.py)."""


def _counting(monkeypatch):
    calls = []
    original = engine.probe_model

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "probe_model", counted)
    return calls


def _key(index: int = 0, dataset: str = "cifar10") -> dict:
    """The rest of the cache key probe_many uses for a CPU probe of TSS network ``index``."""
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.benchmark.images import image_identity

    return dict(arch=load_benchmark("tss").arch(index), device="cpu", images=image_identity(dataset))


def _same(a: NetworkStatistics, b: NetworkStatistics) -> None:
    assert a.layer_names == b.layer_names
    assert set(a.layer_statistics) == set(b.layer_statistics)
    for name in a.layer_statistics:
        np.testing.assert_array_equal(a.layer_statistics[name], b.layer_statistics[name])
    assert dict(a.network_statistics) == dict(b.network_statistics)


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("GM_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_root() == tmp_path / "c"
    assert default_cache_root(str(tmp_path / "d")) == tmp_path / "d"
    monkeypatch.delenv("GM_CACHE_DIR")
    assert default_cache_root().parts[-2:] == ("greenmachine", "probe")


def test_hit_runs_no_forward_pass(tmp_path, monkeypatch):
    cache = ProbeCache(tmp_path)
    calls = _counting(monkeypatch)
    events = []
    first = probe_many("tss", INDICES, "cifar10", BATCH, 0, "cpu", cache,
                       on_network=lambda *e: events.append(e))
    assert len(calls) == 2 and cache.writes == 2
    assert [e[:3] for e in events] == [(0, 0, False), (1, 1, False)]

    def refuse(*args, **kwargs):
        raise AssertionError("a cache hit must not run a pass")

    monkeypatch.setattr(engine, "probe_model", refuse)
    monkeypatch.setattr(torch.nn.Module, "__call__", refuse)
    events.clear()
    second = probe_many("tss", INDICES, "cifar10", BATCH, 0, "cpu", ProbeCache(tmp_path),
                        on_network=lambda *e: events.append(e))
    assert [e[:3] for e in events] == [(0, 0, True), (1, 1, True)]
    for a, b in zip(first, second):
        _same(a, b)
    with np.load(ProbeCache(tmp_path).path("tss", 0, "cifar10", BATCH, 0, "cpu", _key()["images"]), allow_pickle=False) as z:
        assert "checksum" in z.files


def test_other_key_is_a_miss_and_should_stop(tmp_path, monkeypatch):
    cache = ProbeCache(tmp_path)
    calls = _counting(monkeypatch)
    probe_many("tss", INDICES[:1], "cifar10", BATCH, 0, "cpu", cache)
    assert cache.load("tss", 0, "cifar10", BATCH, 1, **_key(0)) is None
    assert cache.load("tss", 0, "cifar100", BATCH, 0, **_key(0)) is None
    assert cache.load("tss", 0, "cifar10", BATCH, 0, **_key(0)) is not None
    # every part of the key counts: another arch string, device or image file is a miss
    assert cache.load("tss", 0, "cifar10", BATCH, 0, **{**_key(0), "arch": _key(1)["arch"]}) is None
    assert cache.load("tss", 0, "cifar10", BATCH, 0, **{**_key(0), "device": "cuda"}) is None
    assert cache.load("tss", 0, "cifar10", BATCH, 0, **{**_key(0), "images": "0" * 16}) is None
    # an arch string names the same entry as its index
    (by_string,) = probe_many("tss", [_key(0)["arch"]], "cifar10", BATCH, 0, "cpu", cache)
    assert len(calls) == 1 and cache.hits >= 1
    done = probe_many("tss", INDICES, "cifar10", BATCH, 0, "cpu", cache, should_stop=lambda: True)
    assert done == [] and len(calls) == 1
    assert ProbeCache(tmp_path, grasp=True).load("tss", 0, "cifar10", BATCH, 0, **_key(0)) is None
    with pytest.raises(ValueError):
        probe_many("tss", INDICES, "cifar10", BATCH, 0, "cpu", cache, grasp=True)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "tamper"])
def test_corrupt_entry_is_reported_once_and_recomputed(tmp_path, monkeypatch, damage):
    messages = []
    cache = ProbeCache(tmp_path, on_problem=messages.append)
    calls = _counting(monkeypatch)
    (original,) = probe_many("tss", INDICES[:1], "cifar10", BATCH, 0, "cpu", cache)
    path = cache.path("tss", 0, "cifar10", BATCH, 0, "cpu", _key()["images"])
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        middle = len(data) // 2
        data[middle:middle + 8] = bytes(b ^ 0xFF for b in data[middle:middle + 8])
    elif damage == "garbage":
        data = bytearray(b"not a cache file")
    if damage == "tamper":
        # a well-formed npz whose values were changed without updating the checksum
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["network_values"] = arrays["network_values"] + 1.0
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
    else:
        path.write_bytes(bytes(data))
    assert cache.load("tss", 0, "cifar10", BATCH, 0, **_key(0)) is None
    assert cache.load("tss", 0, "cifar10", BATCH, 0, **_key(0)) is None
    assert len(messages) == 1 and len(cache.problems) == 1 and str(path) in messages[0]
    (again,) = probe_many("tss", INDICES[:1], "cifar10", BATCH, 0, "cpu", cache)
    assert len(calls) == 2
    _same(original, again)
    assert cache.load("tss", 0, "cifar10", BATCH, 0, **_key(0)) is not None
    assert len(messages) == 1


def _worker(root: str) -> None:
    # the spawned process inherits the environment, so it finds the data as this one does
    torch.set_num_threads(1)
    probe_many("tss", INDICES, "cifar10", BATCH, 0, "cpu", ProbeCache(root))


def test_two_processes_share_one_cache(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(str(tmp_path),)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
        assert worker.exitcode == 0
    cache = ProbeCache(tmp_path)
    for index in INDICES:
        assert cache.load("tss", index, "cifar10", BATCH, 0, **_key(index)) is not None
    assert cache.problems == []
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".npz"]
    assert leftovers == []


def _statistics(undefined: dict[str, str]) -> NetworkStatistics:
    layer = np.array([1.0, 2.0])
    layer.setflags(write=False)
    return NetworkStatistics(("conv", "classifier"), {"weight_l2_norm": layer},
                             {"naswot": 0.0, "swap": 0.0, "parameter_count": 10.0}, undefined)


def test_undefined_statistics_survive_the_cache(tmp_path):
    """A statistic the probe could not define (e.g. NASWOT of a ReLU-less model) stays undefined on a hit."""
    cache = ProbeCache(tmp_path)
    undefined = {"naswot": "no ReLU-family activation", "swap": "no ReLU-family activation"}
    cache.store("tss", 3, "cifar10", 8, 0, _statistics(undefined), arch="a")
    loaded = cache.load("tss", 3, "cifar10", 8, 0, arch="a")
    assert loaded is not None and dict(loaded.undefined) == undefined
    cache.store("tss", 4, "cifar10", 8, 0, _statistics({}), arch="b")
    assert dict(cache.load("tss", 4, "cifar10", 8, 0, arch="b").undefined) == {}


def test_an_entry_written_before_undefined_was_cached_still_loads(tmp_path):
    import greenmachine.probe.cache as cache_module

    cache = ProbeCache(tmp_path)
    path = cache.store("tss", 5, "cifar10", 8, 0, _statistics({"naswot": "why"}), arch="c")
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in cache_module._FIELDS}
    arrays["checksum"] = np.array(cache_module._checksum(arrays))  # the older layout: no undefined fields
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    loaded = cache.load("tss", 5, "cifar10", 8, 0, arch="c")
    assert loaded is not None and dict(loaded.undefined) == {} and cache.problems == []
    # a changed reason fails the checksum like any other damage
    path = cache.store("tss", 6, "cifar10", 8, 0, _statistics({"naswot": "why"}), arch="d")
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["undefined_reasons"] = np.array(["another reason"])
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    assert cache.load("tss", 6, "cifar10", 8, 0, arch="d") is None
    assert len(cache.problems) == 1 and "checksum mismatch" in cache.problems[0]
