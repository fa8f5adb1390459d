"""Wall time of the same ``gm run`` with and without energy metering.

Run: ``GM_DATA_DIR=../shared/data python scripts/bench_metering_overhead.py [--repeats 3]
[--set k=v ...]``. Each run is a fresh ``gm run quick`` process (plus overrides) with
``energy.enabled=true`` or ``false`` and its own empty probe cache, so both modes do the same
work: start the process, probe every network, evolve, evaluate on the test sample and write
the report. The wall time is the whole process, as a user sees it, including codecarbon's
one-off hardware detection in metered runs (``gm run`` overlaps it with its own start-up).
Modes alternate (on, off, off, on, ...) to spread machine noise; the script prints each wall
time, the load average, the medians and means, and the metering overhead in percent.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def gm_command() -> list[str]:
    """``gm`` next to this interpreter (the venv's console script), else ``python -m``."""
    script = Path(sys.executable).with_name("gm")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from gm_tui.cli import main; main()"]


def one_run(profile: str, metered: bool, overrides: list[str], workdir: Path, label: str) -> float:
    cache = workdir / f"cache-{label}"
    command = [*gm_command(), "run", profile, "--out", str(workdir / f"run-{label}")]
    for item in [*overrides, f"energy.enabled={'true' if metered else 'false'}", f"probe.cache_dir='{cache}'"]:
        command += ["--set", item]
    start = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if finished.returncode != 0:
        tail = finished.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise SystemExit(f"gm run failed (exit {finished.returncode}): {tail[0]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick", help="profile to run (default quick)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="profile override")
    arguments = parser.parse_args()
    times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        order: list[bool] = []
        for repeat in range(arguments.repeats):
            order += [True, False] if repeat % 2 == 0 else [False, True]
        for number, metered in enumerate(order):
            seconds = one_run(arguments.profile, metered, arguments.overrides, workdir,
                              f"{number}-{'on' if metered else 'off'}")
            times[metered].append(seconds)
            print(f"run {number + 1}/{len(order)}: metering {'on ' if metered else 'off'} {seconds:8.2f} s"
                  f"   (load average {os.getloadavg()[0]:.2f})", flush=True)
    print(f"profile {arguments.profile} {' '.join(arguments.overrides) or '(as shipped)'}; "
          f"{arguments.repeats} runs per mode, each a fresh `gm run` process with a cold probe cache")
    for label, pick in (("median", statistics.median), ("mean", statistics.fmean)):
        on, off = pick(times[True]), pick(times[False])
        print(f"{label} wall time: metered {on:.2f} s, unmetered {off:.2f} s, "
              f"overhead {100 * (on - off) / off:+.2f} %")


if __name__ == "__main__":
    main()
