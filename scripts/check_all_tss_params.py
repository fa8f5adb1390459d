"""Build every NATS-Bench TSS network and compare its parameter count with the table.

Usage::

    PYTHONPATH=. GM_DATA_DIR=/path/to/data python scripts/check_all_tss_params.py [--dataset cifar10] [--limit N]

Reads ``nats_tss.csv.gz`` from ``GM_DATA_DIR`` directly (gzip + csv), builds each network with
:func:`greenmachine.spaces.build_network`, counts its parameters with
:func:`greenmachine.spaces.count_parameters` and compares the count, printed in millions to six
decimals, with the ``params_MB_<dataset>`` column. Prints how many matched and the seconds
taken; exits non-zero if any differ.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
import time
from pathlib import Path

import torch

from greenmachine.spaces import DATASETS, build_network, count_parameters


def main(argv: list[str] | None = None) -> int:
    """Run the check; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cifar10", choices=sorted(DATASETS))
    parser.add_argument("--limit", type=int, default=None, help="check only the first N rows")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    arguments = parser.parse_args(argv)
    torch.set_num_threads(arguments.threads)

    data_directory = os.environ.get("GM_DATA_DIR")
    if not data_directory:
        print("GM_DATA_DIR is not set", file=sys.stderr)
        return 2
    table = Path(data_directory) / "nats_tss.csv.gz"
    if not table.is_file():
        print(f"missing benchmark table: {table}", file=sys.stderr)
        return 2
    with gzip.open(table, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if arguments.limit is not None:
        rows = rows[: arguments.limit]

    column = f"params_MB_{arguments.dataset}"
    mismatches: list[tuple[str, str, str]] = []
    start = time.perf_counter()
    for row in rows:
        model = build_network("tss", row["arch_str"], arguments.dataset)
        counted = f"{count_parameters(model) / 1e6:.6f}"
        if counted != row[column]:
            mismatches.append((row["index"], counted, row[column]))
    seconds = time.perf_counter() - start

    matched = len(rows) - len(mismatches)
    print(f"{arguments.dataset}: {matched}/{len(rows)} TSS parameter counts match {column} "
          f"({seconds:.1f} s, {1000 * seconds / max(len(rows), 1):.1f} ms per network)")
    for index, counted, expected in mismatches[:10]:
        print(f"  index {index}: built {counted} M, table {expected} M")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
