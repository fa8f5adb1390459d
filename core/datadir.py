"""Where GreenMachine finds its data files.

Every data-file lookup in ``core`` goes through :func:`data_file` (the benchmark, image and
hardware tables, :mod:`greenmachine.benchmark.check`, the baseline cross-check script). A file is looked
for, in this order:

1. ``GM_DATA_DIR`` set: that folder, and only that folder. A file missing there is a
   :class:`~greenmachine.errors.DataFileError`; there is no fallback to the embedded copy, so a
   folder named on purpose (the full files, or the official-archive imports) is never
   silently mixed with the reduced embedded data.
2. ``GM_DATA_DIR`` not set: the per-user folder (``$XDG_DATA_HOME/greenmachine`` or
   ``~/.local/share/greenmachine``, where ``gm data import-nats`` writes) if it holds the
   file,
3. else the **embedded** copy shipped inside the package (``core/data/embedded``, described
   in its ``DATA.md`` and built by ``scripts/build_embedded_data.py``): the TSS, SSS and
   hardware tables, the three probe-image samples and the NAS-Bench-Macro and NAS-Bench-101
   (500) JSON files, verbatim copies of the full files. The
   CIFAR-10 test images and the precomputed-proxy table are not embedded.

Loaders that take an explicit folder (``data_dir=...``) look only there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from greenmachine.errors import DataFileError

TSS_HW_TABLE = "nats_tss_hw.csv.gz"
ZC_PROXIES_TABLE = "nb201_zc_proxies_freerea.csv.gz"
IMAGE_FILES = {
    "cifar10": "cifar10_train_aug_freerea.npz",
    "cifar100": "cifar100_train_aug_freerea.npz",
    "ImageNet16-120": "imagenet16_sample_freerea.npz",
}
CIFAR10_TEST_IMAGES = "cifar10_test_yoongikim_jpeg.npz"

#: The ground truth of NAS-Bench-Macro and of the 500 NAS-Bench-101 networks: the benchmarks'
#: JSON files, gzipped (``greenmachine.spaces.macro`` / ``greenmachine.spaces.nb101`` read them).
SPACE_JSON_FILES = ("nasbench_macro_cifar10.json.gz", "nb101_zc_proxies_naslib_500.json.gz")

#: Files shipped in the package (``core/data/embedded``), verbatim copies of the full files:
#: the TSS and SSS tables (``greenmachine.spaces`` names them), the hardware table, the probe images,
#: the NAS-Bench-Macro and NAS-Bench-101 JSON files.
EMBEDDED_FILES = ("nats_tss.csv.gz", "nats_sss.csv.gz", TSS_HW_TABLE, *IMAGE_FILES.values(), *SPACE_JSON_FILES)

#: Names of the three places a file can come from (shown by ``gm data check``).
SOURCE_ENVIRONMENT = "GM_DATA_DIR"
SOURCE_USER = "user folder"
SOURCE_EMBEDDED = "embedded"
#: Source name of a file found in a folder given explicitly to a loader.
SOURCE_GIVEN = "given folder"


@dataclass(frozen=True)
class DataLocation:
    """Where one data file was found.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    source : str
        :data:`SOURCE_ENVIRONMENT`, :data:`SOURCE_USER`, :data:`SOURCE_EMBEDDED` or
        :data:`SOURCE_GIVEN`.
    """

    path: Path
    source: str


def embedded_dir() -> Path:
    """Return the folder of the embedded data shipped inside the package."""
    return Path(str(resources.files("greenmachine") / "data" / "embedded"))


def user_data_dir() -> Path:
    """Return the per-user data folder (``$XDG_DATA_HOME/greenmachine`` or ``~/.local/share/greenmachine``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "greenmachine"


def environment_data_dir() -> Path | None:
    """Return the folder named by ``GM_DATA_DIR``, or None when it is not set (or empty)."""
    env = os.environ.get("GM_DATA_DIR")
    return Path(env).expanduser() if env else None


def data_dir() -> Path:
    """Return the data folder a user controls: ``GM_DATA_DIR``, else the per-user folder.

    This is where imports are written (``gm data import-nats``); reading goes through
    :func:`data_file`, which also falls back to the embedded copy.
    """
    return environment_data_dir() or user_data_dir()


def describe_search(name: str | None = None) -> str:
    """Say in words where data files are looked for (for messages and ``gm data check``).

    With ``name``, the embedded copy is mentioned only if that file is embedded.
    """
    folder = environment_data_dir()
    if folder is not None:
        return f"{folder} (GM_DATA_DIR)"
    if name is not None and name not in EMBEDDED_FILES:
        return f"{user_data_dir()}; it is not in the embedded data"
    return f"{user_data_dir()}, then the embedded data in {embedded_dir()}"


def _in_folder(name: str, folder: Path) -> Path:
    path = folder / name
    if not path.exists():
        raise DataFileError(
            f"data file {name!r} not found in {folder} (set GM_DATA_DIR to the folder that holds it)"
        )
    if not path.is_file():
        raise DataFileError(f"data file {name!r} in {folder} is not a regular file")
    return path


def locate(name: str, folder: Path | None = None) -> DataLocation:
    """Find data file ``name`` and say which source it came from.

    Parameters
    ----------
    name : str
        File name, e.g. ``nats_tss.csv.gz``.
    folder : Path, optional
        Look only in this folder (source :data:`SOURCE_GIVEN`).

    Returns
    -------
    DataLocation
        The path and its source (see the module docstring for the order).

    Raises
    ------
    DataFileError
        The file is in none of the places searched (or is not a regular file); the one-line
        message names the file and where it was looked for.
    """
    if folder is not None:
        return DataLocation(_in_folder(name, Path(folder)), SOURCE_GIVEN)
    environment = environment_data_dir()
    if environment is not None:
        return DataLocation(_in_folder(name, environment), SOURCE_ENVIRONMENT)
    user_path = user_data_dir() / name
    if user_path.is_file():
        return DataLocation(user_path, SOURCE_USER)
    embedded_path = embedded_dir() / name
    if name in EMBEDDED_FILES and embedded_path.is_file():
        return DataLocation(embedded_path, SOURCE_EMBEDDED)
    raise DataFileError(
        f"data file {name!r} not found in {describe_search(name)} "
        "(set GM_DATA_DIR to the folder that holds it)"
    )


def data_file(name: str, folder: Path | None = None) -> Path:
    """Return the path of data file ``name`` (see :func:`locate`).

    Raises
    ------
    DataFileError
        If the file does not exist; the message names the file and the places searched.
    """
    return locate(name, folder).path
