"""Wall time of the same ``gm run`` with and without energy metering.

Run: ``GM_DATA_DIR=../shared/data python scripts/bench_metering_overhead.py [--repeats 3]
[--set k=v ...]``. Each run is a fresh ``gm run quick`` process (plus overrides) with
``energy.enabled=true`` or ``false`` and its own empty probe cache, so both modes do the same
work: start the process, probe every network, evolve, evaluate on the test sample and write
the report. The wall time is the whole process, as a user sees it, including codecarbon's
one-off hardware detection in metered runs (``gm run`` overlaps it with its own start-up).
Modes alternate (on, off, off, on, ...) to spread machine noise; the script prints each wall
time, the load average, the medians and means, and the metering overhead in percent.

Whole-run wall times on a shared 2-core machine vary by several percent between identical
runs, so the script also measures metering's own costs one by one and adds them up
(``--components-only`` skips the whole runs):

1. start-up: a fresh interpreter imports the engine as ``gm run`` does, with and without the
   background :class:`greenmachine.energy.MeterStartup`; the extra time until the meter is ready
   (medians of ``--startup-repeats`` processes each) is what metering adds before the run;
2. spans: the cost of one span start/stop times the run's spans (probe, generations,
   evaluation, run);
3. codecarbon's background sampling (``_monitor_power`` once a second, plus a power
   measurement every 15 s) times the run's duration.
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
sys.path.insert(0, str(ROOT))

from bench_energy_overhead import pairs  # noqa: E402  (this folder is on sys.path)


def gm_command() -> list[str]:
    """``gm`` next to this interpreter (the venv's console script), else the CLI via ``python -c``."""
    script = Path(sys.executable).with_name("gm")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from greenmachine.tui.cli import main; main()"]


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


STARTUP_PROBE = """
import sys, time
t0 = time.perf_counter()
import numpy
from greenmachine.energy import MeterStartup
from greenmachine.settings.profile import load_profile
profile = load_profile("quick", [])
startup = MeterStartup(True, profile.energy.country) if sys.argv[1] == "on" else None
import greenmachine.run.controller, greenmachine.tui.headless
meter = startup.result() if startup is not None else None
print(time.perf_counter() - t0)
if meter is not None:
    meter.close()
"""


def startup_seconds(metered: bool) -> float:
    finished = subprocess.run([sys.executable, "-c", STARTUP_PROBE, "on" if metered else "off"], cwd=ROOT,
                              capture_output=True, text=True, check=True)
    return float(finished.stdout.strip().splitlines()[-1])


def component_costs(run_seconds: float, spans: int, startup_repeats: int) -> dict[str, float]:
    """Seconds that metering adds to a run of ``run_seconds`` with ``spans`` spans."""
    from greenmachine.energy import CodecarbonMeter

    on, off = [], []
    for _ in range(startup_repeats):
        on.append(startup_seconds(True))
        off.append(startup_seconds(False))
    meter = CodecarbonMeter(gpu=False)
    try:
        per_span = statistics.median(pairs(meter, 100))
        tracker = meter._tracker
        start = time.perf_counter()
        for _ in range(50):
            tracker._monitor_power()
        per_monitor = (time.perf_counter() - start) / 50
        start = time.perf_counter()
        for _ in range(5):
            tracker._measure_power_and_energy()
        per_measure = (time.perf_counter() - start) / 5
    finally:
        meter.close()
    return {
        "start-up (meter ready after the engine imports)": max(0.0, statistics.median(on) - statistics.median(off)),
        f"spans ({spans} x {per_span * 1e3:.2f} ms)": spans * per_span,
        f"background sampling ({run_seconds:.0f} s x {per_monitor * 1e3:.2f} ms/s + "
        f"{per_measure * 1e3:.1f} ms/15 s)": run_seconds * (per_monitor + per_measure / 15),
        "_startup_on": statistics.median(on),
        "_startup_off": statistics.median(off),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick", help="profile to run (default quick)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="profile override")
    parser.add_argument("--components-only", action="store_true", help="only the component estimate")
    parser.add_argument("--startup-repeats", type=int, default=3)
    parser.add_argument("--run-seconds", type=float, default=None,
                        help="run length for the component estimate (default: measured unmetered median)")
    arguments = parser.parse_args()
    if not arguments.components_only:
        off = whole_runs(arguments)
    else:
        off = arguments.run_seconds or 120.0
    from greenmachine.settings.profile import load_profile

    profile = load_profile(arguments.profile, arguments.overrides)
    spans = profile.evolution.generations + 3
    costs = component_costs(off, spans, arguments.startup_repeats)
    print(f"component estimate for a {off:.1f} s run (start-up medians of {arguments.startup_repeats} "
          f"processes: {costs.pop('_startup_on'):.2f} s metered, {costs.pop('_startup_off'):.2f} s unmetered):")
    for label, seconds in costs.items():
        print(f"  {label}: {seconds:.3f} s")
    total = sum(costs.values())
    print(f"  total {total:.2f} s = {100 * total / off:+.2f} % of the run")


def whole_runs(arguments: argparse.Namespace) -> float:
    """Alternate metered and unmetered runs; print the figures; return the unmetered median."""
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
    return statistics.median(times[False])


if __name__ == "__main__":
    main()
