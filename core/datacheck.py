"""Check every data file GreenMachine reads: present, readable, well-formed.

Called by the CLI (``gm data check``), which prints the list. Each file is validated with
the same reader the engine uses (:mod:`core.benchmarks`, :mod:`core.images`); the
precomputed-proxy table is checked for its columns and row count here.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from core import datadir as _datadir
from core.benchmarks import read_table
from core.datadir import CIFAR10_TEST_IMAGES, IMAGE_FILES, ZC_PROXIES_TABLE
from core.errors import GMError
from core.images import read_image_file
from core.spaces import get_space, space_names

#: Columns the precomputed zero-cost-proxy table must have.
ZC_REQUIRED_COLUMNS = ("dataset", "index", "arch_str", "naswot", "logsynflow", "synflow")
#: Rows of that table: every TSS architecture on each of the three datasets.
ZC_EXPECTED_ROWS = 3 * 15625


@dataclass(frozen=True)
class FileStatus:
    """State of one data file.

    Attributes
    ----------
    name : str
        File name (e.g. ``nats_tss.csv.gz``).
    path : pathlib.Path
        Where it was looked for.
    present : bool
        The file exists.
    valid : bool
        It exists and passed validation.
    detail : str
        What was found (``"15625 rows"``, ``"960 images 32x32"``), ``"missing"``, or the
        one-line validation error.
    role : str
        What the engine uses it for.
    """

    name: str
    path: Path
    present: bool
    valid: bool
    detail: str
    role: str = ""


def _check_zc_table(path: Path) -> str:
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError, OSError) as exc:
        raise GMError(f"truncated or unreadable gzip CSV ({type(exc).__name__}: {exc})") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    missing = [c for c in ZC_REQUIRED_COLUMNS if c not in header]
    if missing:
        raise GMError(f"lacks column(s) {', '.join(missing)}")
    n = sum(1 for _ in reader)
    if n != ZC_EXPECTED_ROWS:
        raise GMError(f"has {n} rows, expected {ZC_EXPECTED_ROWS}")
    return f"{n} rows"


def _image_detail(path: Path, dataset: str) -> str:
    data = read_image_file(path, dataset)
    h, w = data.images.shape[1:3]
    if dataset == "ImageNet16-120":
        return f"{len(data)} images {h}x{w} in ImageNet16-120 classes"
    return f"{len(data)} images {h}x{w}"


def check_data(data_dir: Path | None = None) -> list[FileStatus]:
    """Check the seven data files of the data directory.

    Parameters
    ----------
    data_dir : Path, optional
        Folder to check; defaults to :func:`core.datadir.data_dir` (``GM_DATA_DIR``).

    Returns
    -------
    list of FileStatus
        In a fixed order: the table of every registered space, proxy table, CIFAR-10 / CIFAR-100 /
        ImageNet16-120 minibatch images, CIFAR-10 test images. Never raises for a bad file;
        the problem is in ``detail``.
    """
    folder = Path(data_dir) if data_dir is not None else _datadir.data_dir()
    tables = [(space.table_file, f"{space.title} ground truth",
               lambda p, space=space: f"{len(read_table(p, space))} rows")
              for space in map(get_space, space_names()) if space.table_file]
    checks = [
        *tables,
        (ZC_PROXIES_TABLE, "precomputed TSS proxy scores (baseline cross-check)", _check_zc_table),
        (IMAGE_FILES["cifar10"], "CIFAR-10 probe images",
         lambda p: _image_detail(p, "cifar10")),
        (IMAGE_FILES["cifar100"], "CIFAR-100 probe images",
         lambda p: _image_detail(p, "cifar100")),
        (IMAGE_FILES["ImageNet16-120"], "ImageNet16-120 probe images",
         lambda p: _image_detail(p, "ImageNet16-120")),
        (CIFAR10_TEST_IMAGES, "CIFAR-10 test images",
         lambda p: _image_detail(p, "cifar10")),
    ]
    out = []
    for name, role, check in checks:
        path = folder / name
        if not path.is_file():
            out.append(FileStatus(name, path, False, False, f"missing (looked in {folder})", role))
            continue
        try:
            detail = check(path)
            valid = True
        except GMError as exc:
            detail = str(exc)
            valid = False
        out.append(FileStatus(name, path, True, valid, detail, role))
    return out


__all__ = ["FileStatus", "check_data", "ZC_REQUIRED_COLUMNS", "ZC_EXPECTED_ROWS"]
