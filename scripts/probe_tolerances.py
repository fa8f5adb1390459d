"""Measure how much each probe statistic moves when the CPU kernels change.

Called by hand (not by the tests) to justify the per-statistic tolerances of
``core/probe/reproducibility.py`` that ``tests/unit/probe/test_probe_values_frozen.py`` applies.

The cases of the frozen-values test are probed once per *kernel configuration*, each in a
fresh process because the switches are read when torch loads:

* ``reference``: this machine's default kernels, one torch thread (how the frozen file is made);
* ``threads2``: two torch threads (other reduction splits);
* ``avx2``: ATen's AVX2 kernels and oneDNN capped at AVX2 (what an AVX2-only CPU runs);
* ``scalar``: ATen's non-vectorised kernels and oneDNN capped at SSE4.1;
* ``no_onednn``: oneDNN convolutions disabled (ATen's own convolution path).

For every statistic it prints the largest difference from ``reference`` over all cases and
configurations, relative to the statistic's scale in that network (the largest absolute
value over its layers, or the value itself for a network statistic), and the tolerance the
test uses. Run::

    GM_DATA_DIR=... PYTHONPATH=. python scripts/probe_tolerances.py [--fast] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATIONS = {
    "reference": {},
    "threads2": {"GM_TOLERANCE_THREADS": "2"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "scalar": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"},
    "no_onednn": {"GM_TOLERANCE_NO_ONEDNN": "1"},
}


def _probe_cases(output: Path, fast: bool) -> None:
    """Child process: probe the frozen-values cases with this process's kernels."""
    import torch

    torch.set_num_threads(int(os.environ.get("GM_TOLERANCE_THREADS", "1")))
    if os.environ.get("GM_TOLERANCE_NO_ONEDNN"):
        torch.backends.mkldnn.enabled = False
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    from frozen_cases import CASES, FAST, flatten, probe_case

    values: dict[str, np.ndarray] = {}
    for case in CASES:
        if fast and case[0] not in FAST:
            continue
        values |= flatten(case[0], probe_case(*case[1:]))
    np.savez(output, **values)


def relative_differences(got: dict, expected: dict) -> dict[str, float]:
    """Largest difference per statistic, relative to the statistic's scale in each case."""
    worst: dict[str, float] = {}
    for key, value in expected.items():
        if not key.endswith("_values") or key not in got:
            continue
        names = expected[key.replace("_values", "_statistics")]
        other = got[key]
        for position, name in enumerate(names):
            a, b = np.atleast_1d(value[position]), np.atleast_1d(other[position])
            both_nan = np.isnan(a) & np.isnan(b)
            scale = np.nanmax(np.abs(a)) if np.isfinite(a).any() else 0.0
            difference = np.where(both_nan, 0.0, np.abs(a - b))
            if not np.isfinite(difference).all():
                relative = np.inf
            else:
                relative = float(difference.max() / scale) if scale > 0 else float(difference.max())
            worst[str(name)] = max(worst.get(str(name), 0.0), relative)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the default test run's cases")
    parser.add_argument("--out", type=Path, help="write the measured differences as JSON")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        _probe_cases(arguments.child, arguments.fast)
        return
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, environment in CONFIGURATIONS.items():
            output = Path(folder) / f"{name}.npz"
            command = [sys.executable, __file__, "--child", str(output)] + (["--fast"] if arguments.fast else [])
            subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1", **environment})
            with np.load(output) as stored:
                results[name] = dict(stored.items())
    reference = results.pop("reference")
    measured = {name: relative_differences(values, reference) for name, values in results.items()}
    sys.path.insert(0, str(ROOT))
    from greenmachine.probe.reproducibility import TOLERANCES

    statistics = sorted(set().union(*(m.keys() for m in measured.values())))
    print(f"{'statistic':40s} " + " ".join(f"{name:>10s}" for name in measured) + f" {'tolerance':>10s}")
    for statistic in statistics:
        row = " ".join(f"{measured[name].get(statistic, 0.0):10.1e}" for name in measured)
        tolerance = TOLERANCES.get(statistic)
        print(f"{statistic:40s} {row} {tolerance.relative if tolerance else float('nan'):10.1e}")
    if arguments.out:
        arguments.out.write_text(json.dumps(measured, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
