"""Are the probe's statistics bit-identical to ``tests/unit/probe/probe_values_frozen.npz`` on this machine?

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python scripts/check_frozen_bits.py [CASE ...]

Probes every case of the frozen file (fast and slow ones, or only the named ones) with the
current code on one torch thread and compares each statistic's float64 values bit for bit
(``-0.0 != 0.0``), whatever tolerance the frozen-values test allows. Statistics are matched
by name: those the current bank adds (before the file is regenerated for a new bank
version) are listed, not compared, so the old ones can be checked unchanged. For changes that must
not move a single bit on the machine the file was recorded on (e.g. how the probe sees
activations); another CPU may differ in the last bits (see the test's docstring). Prints
one line per case and exits 1 when any differs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "unit" / "probe"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from greenmachine.probe.engine import probe_network  # noqa: E402
from frozen_cases import CASES, flatten as _flatten  # noqa: E402

FROZEN = ROOT / "tests" / "unit" / "probe" / "probe_values_frozen.npz"


def differing(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> list[str]:
    """Statistics (``case/name``) whose values are not bit-identical, and keys or statistics
    present in the frozen file only (statistics the current bank adds are not differences,
    see :func:`added`)."""
    out = sorted(set(expected) - set(got))
    for key, value in expected.items():
        if key not in got or key.endswith("_statistics"):
            continue
        if value.dtype != np.float64:
            if not np.array_equal(value, got[key]):
                out.append(key)
            continue
        names = [str(name) for name in expected[key.replace("_values", "_statistics")]]
        now = {str(name): row for name, row in zip(got[key.replace("_values", "_statistics")], got[key])}
        for position, name in enumerate(names):
            row = now.get(name)
            if row is None or np.shape(row) != np.shape(value[position]):
                out.append(f"{key.split('/')[0]}/{name}")
            elif not (np.ascontiguousarray(value[position]).view(np.uint64)
                      == np.ascontiguousarray(row).view(np.uint64)).all():
                out.append(f"{key.split('/')[0]}/{name}")
    return out


def added(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> list[str]:
    """Statistics the current bank computes that the frozen file does not hold (a new bank version)."""
    new = []
    for key, names in got.items():
        if key.endswith("_statistics") and key in expected:
            new.extend(sorted(set(map(str, names)) - set(map(str, expected[key]))))
    return new


def main(only: list[str]) -> int:
    torch.set_num_threads(1)
    with np.load(FROZEN) as stored:
        frozen = dict(stored.items())
    bad = 0
    for case, space, arch, dataset, batch, grasp in CASES:
        if only and case not in only:
            continue
        start = time.perf_counter()
        got = _flatten(case, probe_network(space, arch, dataset, batch, 0, "cpu", grasp=grasp))
        expected = {key: value for key, value in frozen.items() if key.startswith(case + "/")}
        problems = differing(got, expected)
        new = added(got, expected)
        bad += bool(problems)
        print(f"{case:24s} {'identical' if not problems else 'DIFFERS: ' + ', '.join(problems)}"
              f"{'; not in the file: ' + ', '.join(new) if new else ''}"
              f"  ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"{bad} case(s) differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
