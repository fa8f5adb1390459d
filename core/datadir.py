"""Where GreenMachine finds its data files.

Called by the benchmark, image and baseline loaders. ``GM_DATA_DIR`` wins; otherwise a
per-user folder (``$XDG_DATA_HOME/greenmachine`` or ``~/.local/share/greenmachine``).
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import DataFileError

ZC_PROXIES_TABLE = "nb201_zc_proxies_freerea.csv.gz"
IMAGE_FILES = {
    "cifar10": "cifar10_train_aug_freerea.npz",
    "cifar100": "cifar100_train_aug_freerea.npz",
    "ImageNet16-120": "imagenet16_sample_freerea.npz",
}
CIFAR10_TEST_IMAGES = "cifar10_test_yoongikim_jpeg.npz"


def data_dir() -> Path:
    """Return the data directory (``GM_DATA_DIR`` or the per-user default)."""
    env = os.environ.get("GM_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "greenmachine"


def data_file(name: str) -> Path:
    """Return the path of data file ``name``.

    Raises
    ------
    DataFileError
        If the file does not exist; the message names the file and the folder searched.
    """
    folder = data_dir()
    path = folder / name
    if not path.is_file():
        raise DataFileError(
            f"data file {name!r} not found in {folder} (set GM_DATA_DIR to the folder that holds it)"
        )
    return path
