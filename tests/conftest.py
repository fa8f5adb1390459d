"""Shared test set-up: the ``real_data`` fixture and marker.

Most tests read their data the way the product does (:mod:`greenmachine.datadir`: ``GM_DATA_DIR``,
else the per-user folder, else the embedded copy shipped in the package), so they run on any
machine. Tests that need the **full data files** (the 28 MB CIFAR-10 test set, the
precomputed-proxy table, or the tables read straight from ``GM_DATA_DIR``) ask for the
``real_data`` fixture (the folder) or carry ``@pytest.mark.real_data``: they run only when
``GM_DATA_DIR`` names a folder holding every full file, and are skipped otherwise with the
reason. CI sets ``GM_DATA_DIR`` to ``../shared/data``.

Probing is in-process unless a test asks for workers: ``probe.workers = 0`` (the default)
means every usable CPU, but the suite probes tiny samples, where starting a process pool
costs more than it saves, so ``GM_PROBE_WORKERS=1`` makes that default one worker here (and
in the ``gm`` subprocesses the tests start). Tests of the pool and of Ray give ``workers``
explicitly. Statistics are identical either way.

Whole-run tests on the tiny TSS sample (:data:`TINY_SAMPLE`) start from ``tiny_probe_cache``:
the module's copy of a cache probed once per session, so each module does not probe the same
32 networks again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

os.environ.setdefault("GM_PROBE_WORKERS", "1")

from greenmachine.datadir import CIFAR10_TEST_IMAGES, IMAGE_FILES, SPACE_JSON_FILES, TSS_HW_TABLE, ZC_PROXIES_TABLE
from greenmachine.spaces import get_space

TSS_TABLE, SSS_TABLE = get_space("tss").table_file, get_space("sss").table_file

#: Every file of the full data folder (``../shared/data``).
FULL_DATA_FILES = (
    TSS_TABLE, SSS_TABLE, ZC_PROXIES_TABLE, *IMAGE_FILES.values(), CIFAR10_TEST_IMAGES, TSS_HW_TABLE,
    *SPACE_JSON_FILES,
)


def full_data_folder() -> tuple[Path | None, str]:
    """Return (the ``GM_DATA_DIR`` folder, "") when it holds every full file, else (None, why not)."""
    env = os.environ.get("GM_DATA_DIR")
    if not env:
        return None, "needs the full data files: GM_DATA_DIR is not set"
    folder = Path(env).expanduser()
    missing = [name for name in FULL_DATA_FILES if not (folder / name).is_file()]
    if missing:
        return None, f"needs the full data files: GM_DATA_DIR={folder} lacks {', '.join(missing)}"
    return folder, ""


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder with the full data files (``GM_DATA_DIR``); skips the test when absent."""
    folder, reason = full_data_folder()
    if folder is None:
        pytest.skip(reason)
    return folder


@contextlib.contextmanager
def _cache_dir_set(path: Path):
    """``GM_CACHE_DIR`` is ``path`` inside the block, and what it was before after it."""
    previous = os.environ.get("GM_CACHE_DIR")
    os.environ["GM_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("GM_CACHE_DIR", None)
        else:
            os.environ["GM_CACHE_DIR"] = previous


@pytest.fixture(scope="module")
def module_probe_cache(tmp_path_factory):
    """An empty probe cache for one test module, set as ``GM_CACHE_DIR`` while the module runs."""
    path = tmp_path_factory.mktemp("probe-cache")
    with _cache_dir_set(path):
        yield path


#: The tiny TSS sample many whole-run tests share: the ``quick`` profile (stratified, seed 0) with
#: 12 search, 10 validation and 10 test networks, probed at batch 8 with probe seed 0.
TINY_SAMPLE = ("sampling.search=12", "sampling.validation=10", "sampling.test=10", "probe.batch_size=8")


@pytest.fixture(scope="session")
def tiny_sample_cache(tmp_path_factory) -> Path:
    """A probe cache holding the 32 networks of :data:`TINY_SAMPLE`, probed once per session.

    Read-only: tests take their copy through :func:`tiny_probe_cache`. Probing these networks
    is most of a tiny run's time, and several modules run the same sample.
    """
    from greenmachine.evaluation.evaluate import probe_profile
    from greenmachine.events import ListSink
    from greenmachine.settings.profile import load_profile

    folder = tmp_path_factory.mktemp("tiny-sample-cache")
    probe_profile(load_profile("quick", [*TINY_SAMPLE, f"probe.cache_dir='{folder}'"]), ListSink())
    return folder


@pytest.fixture(scope="module")
def tiny_probe_cache(tiny_sample_cache, tmp_path_factory):
    """The module's own copy of :func:`tiny_sample_cache`, set as ``GM_CACHE_DIR`` while the module runs.

    A run of :data:`TINY_SAMPLE` finds every network in it (all cache hits), and the module may
    damage its copy. Tests about computing networks (misses, energy per computed network) use a
    cache of their own.
    """
    import shutil

    path = tmp_path_factory.mktemp("probe-cache") / "cache"
    shutil.copytree(tiny_sample_cache, path)
    with _cache_dir_set(path):
        yield path


@pytest.fixture(scope="session")
def synthetic_problem():
    """120 synthetic networks whose target is mean(layer_statistic_01) * network_statistic_02.

    ``(search table, search target, validation table, validation target)`` with 80 / 40
    networks: the evolution tests' problem, with a known answer. Read-only.
    """
    from greenmachine.proxy.evaluate import evaluate_population
    from greenmachine.proxy.generate import synthetic_table
    from greenmachine.proxy.tree import Apply, LayerStatistic, NetworkStatistic

    table = synthetic_table(120, 5, 3, 4, 12, seed=7, extreme=False)
    truth = Apply("multiply", (Apply("mean", (LayerStatistic("layer_statistic_01"),)),
                               NetworkStatistic("network_statistic_02")))
    target = evaluate_population([truth], table)[0]
    return table.subset(range(0, 80)), target[:80], table.subset(range(80, 120)), target[80:]


@pytest.fixture
def one_torch_thread():
    """Run the test with one torch thread (probe timings and values as the profiles' probes)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip tests marked ``real_data`` when the full data files are absent."""
    if item.get_closest_marker("real_data") is not None:
        folder, reason = full_data_folder()
        if folder is None:
            pytest.skip(reason)
