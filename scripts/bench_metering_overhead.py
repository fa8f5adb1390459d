"""Wall time of the same run with and without energy metering.

Run: ``GM_DATA_DIR=../shared/data python scripts/bench_metering_overhead.py [--repeats 2]
[--set k=v ...]``. Each run uses the ``quick`` profile (plus overrides) and its own fresh
probe cache, so both modes do the same work (probe every network, evolve, evaluate, write
the report). Modes alternate (on, off, off, on, ...) to spread machine noise; the script
prints each wall time, the medians and the metering overhead in percent. The metered run
includes codecarbon's one-off hardware detection (warm-up) in its wall time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.engine import RunController  # noqa: E402
from core.events import ListSink  # noqa: E402
from core.settings import load_profile  # noqa: E402


def one_run(metered: bool, overrides: list[str], workdir: Path, label: str) -> float:
    cache = workdir / f"cache-{label}"
    profile = load_profile(
        "quick", [*overrides, f"energy.enabled={'true' if metered else 'false'}", f"probe.cache_dir='{cache}'"]
    )
    start = time.perf_counter()
    RunController(profile, ListSink(), run_dir=workdir / f"run-{label}").run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs per mode")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="profile override")
    arguments = parser.parse_args()
    times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        order = []
        for repeat in range(arguments.repeats):
            order += [True, False] if repeat % 2 == 0 else [False, True]
        for number, metered in enumerate(order):
            seconds = one_run(metered, arguments.overrides, workdir, f"{number}-{'on' if metered else 'off'}")
            times[metered].append(seconds)
            print(f"run {number + 1}/{len(order)}: metering {'on ' if metered else 'off'} {seconds:8.2f} s", flush=True)
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"quick profile {' '.join(arguments.overrides) or '(as shipped)'}; {arguments.repeats} runs per mode, cold probe cache each")
    print(f"median wall time: metered {on:.2f} s, unmetered {off:.2f} s, overhead {100 * (on - off) / off:+.2f} %")


if __name__ == "__main__":
    main()
