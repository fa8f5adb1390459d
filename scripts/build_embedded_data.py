"""Build the embedded default data shipped in the package (``core/data/embedded``).

Run::

    python scripts/build_embedded_data.py ../shared/data [--out core/data/embedded]

Copies the TSS, SSS and hardware tables, the three probe-image samples and the NAS-Bench-Macro
and NAS-Bench-101 (500) JSON files from the full data folder verbatim (byte for byte: results
on the embedded data equal results on the full files), with the folder's ``PROVENANCE.md``,
and writes ``DATA.md`` beside them: what each file is, its source file, its columns, arrays
or entry fields, its size and its sha256. The output is deterministic, so rerunning the script on
the same source reproduces the shipped folder exactly (``tests/unit/test_datadir.py`` checks
this when the full data is available). The 28 MB CIFAR-10 test set and the precomputed-proxy
table are not embedded. Standard library and numpy only; no project imports.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "core" / "data" / "embedded"
#: The shipped folder must stay small: fail above this many bytes in all.
SIZE_LIMIT = 10_500_000
#: The source folder's description of every file, copied beside the data.
PROVENANCE = "PROVENANCE.md"

#: (file name, what it is, section of the source folder's PROVENANCE.md).
FILES = (
    ("nats_tss.csv.gz", "NATS-Bench TSS (= NAS-Bench-201) ground truth, all 15625 cell topologies", "§1"),
    ("nats_sss.csv.gz", "NATS-Bench SSS ground truth, all 32768 channel configurations", "§2"),
    ("nats_tss_hw.csv.gz", "HW-NAS-Bench hardware cost (latency, energy) of every TSS network", "§5"),
    ("cifar10_train_aug_freerea.npz", "CIFAR-10 probe images: 960 augmented training images", "§3"),
    ("cifar100_train_aug_freerea.npz", "CIFAR-100 probe images: 960 augmented training images", "§3"),
    ("imagenet16_sample_freerea.npz", "ImageNet16 probe images: 960 images, 106 in ImageNet16-120 classes", "§3"),
    ("nasbench_macro_cifar10.json.gz", "NAS-Bench-Macro ground truth (the benchmark's JSON): 6561 keys, "
     "3969 distinct networks, 3 CIFAR-10 training runs each", "§6"),
    ("nb101_zc_proxies_naslib_500.json.gz", "500 NAS-Bench-101 networks with validation accuracy and NASLib's "
     "scores of 11 zero-cost proxies (NAS-Bench-Suite-Zero's JSON)", "§6"),
)

HEADER = """# Embedded default data

This folder ships inside the `greenmachine` package. GreenMachine reads a file from here
only when `GM_DATA_DIR` is not set and the per-user folder (`~/.local/share/greenmachine`)
does not hold it (see `core/datadir.py`); `gm data check` names the source of every file.

Every file is a **verbatim copy** (same bytes, same sha256) of the file of the same name in
the full data folder (`../shared/data` in development and CI), so a run on the embedded
data gives exactly the result of a run on the full files. Sources, licences, column
meanings, checks and caveats of each file are in `PROVENANCE.md` beside this file (a
verbatim copy of the full data folder's; section given below). Not
embedded: `cifar10_test_yoongikim_jpeg.npz` (28 MB CIFAR-10 test set) and
`nb201_zc_proxies_freerea.csv.gz` (precomputed proxy scores, a cross-check only); set
`GM_DATA_DIR` to a folder with the full files for those.

Built by `python scripts/build_embedded_data.py SOURCE_FOLDER` (deterministic: rerunning it
on the same source reproduces this folder, this file included).
"""


def sha256(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_table(path: Path) -> tuple[str, list[str]]:
    """Return ("N rows", columns) of a gzip CSV table."""
    with gzip.open(path, "rt", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = sum(1 for _ in reader)
    return f"{rows} rows x {len(header)} columns", header


def describe_json(path: Path) -> tuple[str, list[str]]:
    """Return ("N entries", fields of the first entry) of a gzip JSON benchmark file.

    Objects with a single key are descended into (``{"nasbench101": {"cifar10": {...}}}``);
    the entries are the keys of the first object with several.
    """
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    trail = []
    while isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), dict):
        key = next(iter(data))
        trail.append(key)
        data = data[key]
    first = next(iter(data.values()))
    where = "".join(f"[{key!r}]" for key in trail)
    return f"{len(data)} entries{' under ' + where if where else ''}", sorted(first)


def describe_arrays(path: Path) -> tuple[str, list[str]]:
    """Return ("N images HxW", array descriptions) of an image ``.npz`` (no pickles)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = [f"{key} {archive[key].dtype} {tuple(archive[key].shape)}" for key in archive.files]
        images = archive["images"].shape
    return f"{images[0]} images {images[1]}x{images[2]}", arrays


def build(source: Path, out: Path) -> list[str]:
    """Copy the embedded files from ``source`` into ``out`` and write ``out/DATA.md``.

    Returns the lines of ``DATA.md``. Raises SystemExit with one line on a missing source
    file or when the files exceed :data:`SIZE_LIMIT`.
    """
    missing = [name for name, _, _ in FILES if not (source / name).is_file()]
    missing += [] if (source / PROVENANCE).is_file() else [PROVENANCE]
    if missing:
        raise SystemExit(f"not found in {source}: {', '.join(missing)}")
    total = sum((source / name).stat().st_size for name, _, _ in FILES)
    if total > SIZE_LIMIT:
        raise SystemExit(f"embedded files would take {total} bytes, over the limit of {SIZE_LIMIT}")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / PROVENANCE, out / PROVENANCE)
    summary = ["| file | bytes | contents | sha256 |", "|---|---:|---|---|"]
    sections = []
    for name, what, section in FILES:
        target = out / name
        shutil.copyfile(source / name, target)
        digest = sha256(target)
        if digest != sha256(source / name):
            raise SystemExit(f"copy of {name} differs from its source")
        if name.endswith(".csv.gz"):
            shape, parts = describe_table(target)
            label = "Columns"
        elif name.endswith(".json.gz"):
            shape, parts = describe_json(target)
            label = "Fields of each entry"
        else:
            shape, parts = describe_arrays(target)
            label = "Arrays"
        size = target.stat().st_size
        summary.append(f"| `{name}` | {size} | {shape} | `{digest}` |")
        sections += [
            f"## `{name}`",
            "",
            f"{what}. Source: `{name}` of the full data folder, copied verbatim "
            f"(PROVENANCE.md {section}). {shape}, {size} bytes.",
            "",
            f"{label}: " + ", ".join(f"`{part}`" for part in parts) + ".",
            "",
        ]
    provenance = out / PROVENANCE
    summary.append(f"| `{PROVENANCE}` | {provenance.stat().st_size} | sources and checks of every file | `{sha256(provenance)}` |")
    lines = HEADER.splitlines() + ["", f"Total: {total} bytes.", ""] + summary + [""] + sections
    (out / "DATA.md").write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the full data folder (e.g. ../shared/data)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    build(args.source, args.out)
    total = sum((args.out / name).stat().st_size for name, _, _ in FILES)
    print(f"wrote {len(FILES)} files ({total} bytes), {PROVENANCE} and DATA.md to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
