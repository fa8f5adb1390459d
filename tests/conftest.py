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
"""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def module_probe_cache(tmp_path_factory):
    """An empty probe cache for one test module, set as ``GM_CACHE_DIR`` while the module runs."""
    path = tmp_path_factory.mktemp("probe-cache")
    previous = os.environ.get("GM_CACHE_DIR")
    os.environ["GM_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("GM_CACHE_DIR", None)
    else:
        os.environ["GM_CACHE_DIR"] = previous


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
