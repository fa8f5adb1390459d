"""Check every data file GreenMachine reads: present, readable, well-formed, and from where.

Called by the CLI (``gm data check``), which prints the list. Each file is found the way the
engine finds it (:func:`greenmachine.datadir.locate`: ``GM_DATA_DIR``, else the per-user folder,
else the embedded copy) and validated with the same reader the engine uses
(:mod:`greenmachine.benchmark.tables`, :mod:`greenmachine.benchmark.images`); the precomputed-proxy and hardware tables are
checked for their columns and row counts here. Files the engine needs for a run are
*required*; the others (CIFAR-10 test images, precomputed proxies, hardware table) are
optional: their absence is reported but is not a failure.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from greenmachine import datadir as _datadir
from greenmachine.benchmark.tables import read_table
from greenmachine.datadir import CIFAR10_TEST_IMAGES, IMAGE_FILES, TSS_HW_TABLE, ZC_PROXIES_TABLE
from greenmachine.errors import DataFileError, GMError
from greenmachine.benchmark.images import read_image_file
from greenmachine.spaces import get_space, space_names

#: Columns the precomputed zero-cost-proxy table must have.
ZC_REQUIRED_COLUMNS = ("dataset", "index", "arch_str", "naswot", "logsynflow", "synflow")
#: Rows of that table: every TSS architecture on each of the three datasets.
ZC_EXPECTED_ROWS = 3 * 15625
#: Columns the hardware table must have (one per dataset and hardware metric besides these).
HW_REQUIRED_COLUMNS = ("index", "arch_str", "cifar10_edgegpu_energy", "cifar10_fpga_latency")


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
    source : str
        Where it came from: ``"GM_DATA_DIR"``, ``"user folder"``, ``"embedded"`` or
        ``"given folder"`` (see :mod:`greenmachine.datadir`); ``""`` when missing.
    required : bool
        A run needs it; a missing optional file is not a failure.
    """

    name: str
    path: Path
    present: bool
    valid: bool
    detail: str
    role: str = ""
    source: str = ""
    required: bool = True

    @property
    def failed(self) -> bool:
        """The file is required and not valid, or present and invalid."""
        return not self.valid and (self.required or self.present)


def _check_gzip_csv(path: Path, required_columns: tuple[str, ...], expected_rows: int) -> str:
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError, OSError) as exc:
        raise GMError(f"truncated or unreadable gzip CSV ({type(exc).__name__}: {exc})") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    missing = [c for c in required_columns if c not in header]
    if missing:
        raise GMError(f"lacks column(s) {', '.join(missing)}")
    n = sum(1 for _ in reader)
    if n != expected_rows:
        raise GMError(f"has {n} rows, expected {expected_rows}")
    return f"{n} rows"


def _check_zc_table(path: Path) -> str:
    return _check_gzip_csv(path, ZC_REQUIRED_COLUMNS, ZC_EXPECTED_ROWS)


def _check_hw_table(path: Path) -> str:
    return _check_gzip_csv(path, HW_REQUIRED_COLUMNS, get_space("tss").size)


def _image_detail(path: Path, dataset: str) -> str:
    data = read_image_file(path, dataset)
    h, w = data.images.shape[1:3]
    if dataset == "ImageNet16-120":
        return f"{len(data)} images {h}x{w} in ImageNet16-120 classes"
    return f"{len(data)} images {h}x{w}"


def check_data(data_dir: Path | None = None) -> list[FileStatus]:
    """Check every data file, each where the engine would find it.

    Parameters
    ----------
    data_dir : Path, optional
        Look only in this folder. By default each file is found by
        :func:`greenmachine.datadir.locate` (``GM_DATA_DIR``, else the per-user folder, else the
        embedded copy) and its ``source`` says which.

    Returns
    -------
    list of FileStatus
        In a fixed order: the table of every registered space, proxy table, CIFAR-10 /
        CIFAR-100 / ImageNet16-120 minibatch images, CIFAR-10 test images, hardware table.
        Never raises for a bad file; the problem is in ``detail``.
    """
    tables = [(space.table_file, f"{space.title} ground truth", True,
               lambda p, space=space: f"{len(read_table(p, space))} rows")
              for space in map(get_space, space_names()) if space.table_file]
    checks = [
        *tables,
        (ZC_PROXIES_TABLE, "precomputed TSS proxy scores (baseline cross-check)", False, _check_zc_table),
        (IMAGE_FILES["cifar10"], "CIFAR-10 probe images", True,
         lambda p: _image_detail(p, "cifar10")),
        (IMAGE_FILES["cifar100"], "CIFAR-100 probe images", True,
         lambda p: _image_detail(p, "cifar100")),
        (IMAGE_FILES["ImageNet16-120"], "ImageNet16-120 probe images", True,
         lambda p: _image_detail(p, "ImageNet16-120")),
        (CIFAR10_TEST_IMAGES, "CIFAR-10 test images", False,
         lambda p: _image_detail(p, "cifar10")),
        (TSS_HW_TABLE, "HW-NAS-Bench hardware cost of TSS networks", False, _check_hw_table),
    ]
    folder = Path(data_dir) if data_dir is not None else None
    out = []
    for name, role, required, check in checks:
        try:
            location = _datadir.locate(name, folder)
        except DataFileError:
            where = folder if folder is not None else _datadir.describe_search(name)
            path = (folder if folder is not None else _datadir.data_dir()) / name
            out.append(FileStatus(name, path, False, False, f"missing (looked in {where})", role,
                                  "", required))
            continue
        try:
            detail = check(location.path)
            valid = True
        except GMError as exc:
            detail = str(exc)
            valid = False
        out.append(FileStatus(name, location.path, True, valid, detail, role, location.source, required))
    return out


__all__ = ["FileStatus", "check_data", "ZC_REQUIRED_COLUMNS", "ZC_EXPECTED_ROWS", "HW_REQUIRED_COLUMNS"]
