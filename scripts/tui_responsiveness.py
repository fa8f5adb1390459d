"""Measure how responsive the TUI stays while the engine works.

Runs the Textual app headless (``run_test``, 100x30) with an engine working in its thread
worker and records, during the probe phase,

* the ticks of a ``set_interval(0.02)`` timer on the UI thread (event-loop latency), and
* the paint times of a one-cell heartbeat widget refreshed by that timer (real repaints),

then prints the longest gap between consecutive ticks / paints in milliseconds (target
< 200 ms). Engines:

* ``real``: the real ``greenmachine.run.controller.RunController`` (profile ``quick``, small samples, a cold
  probe cache in a temporary folder), measured while it probes networks on the CPU/GPU;
* ``busy``: a stand-in that holds the GIL in bursts (long C-level calls, as torch's Python
  side does), emitting ``ProbeProgress`` events between bursts;
* ``idle``: the same stand-in sleeping instead of working (baseline of the machine: what
  the UI gets when the engine costs nothing).

Usage: ``PYTHONPATH=. python scripts/tui_responsiveness.py [--engine real|busy|idle|auto] [--seconds 20]``
Exit status 1 when the longest gap reaches the target (``--target-ms``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

EXTRA = tuple(a for a in os.environ.get("GM_RESP_SET", "").split() if a)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.widget import Widget  # noqa: E402

from greenmachine.events import EnergySample, ProbeProgress, RunFinished, RunStarted  # noqa: E402
from greenmachine.tui.app import create_app  # noqa: E402
from greenmachine.tui.widgets import ProbeProgress as ProbeWidget  # noqa: E402


class Heartbeat(Widget):
    """One cell that records the time of every paint."""

    DEFAULT_CSS = "Heartbeat { dock: right; width: 1; height: 1; }"

    def __init__(self) -> None:
        super().__init__()
        self.paints: list[float] = []
        self.beat = 0

    def render(self) -> str:
        self.paints.append(time.perf_counter())
        return "·" if self.beat % 2 else " "

    def tick(self) -> None:
        self.beat += 1
        self.refresh()


class BusyController:
    """Holds the GIL in bursts (C-level calls of ``burst_ms``) between ProbeProgress events."""

    def __init__(self, profile, sink, networks: int = 400, burst_ms: float = 60.0) -> None:
        self.profile, self.sink, self.networks = profile, sink, networks
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self.burst_s = burst_ms / 1000
        self.burst_n = self._calibrate(self.burst_s) if burst_ms > 0 else 0

    @staticmethod
    def _calibrate(seconds: float) -> int:
        n = 200_000
        while True:
            start = time.perf_counter()
            sum(range(n))  # one C call: the GIL is not released inside it
            elapsed = time.perf_counter() - start
            if elapsed > 0.005:
                return max(int(n * seconds / elapsed), 1)
            n *= 4

    def request_stop(self) -> None:
        self._stop.set()
        self._unpaused.set()

    def pause(self) -> None:
        self._unpaused.clear()

    def resume(self) -> None:
        self._unpaused.set()

    def run(self) -> str:
        self.sink(RunStarted(run_dir="(busy)", profile_name=self.profile.name, space="tss", datasets=("cifar10",),
                             sampling_mode="busy loop", sample_sizes={"search": self.networks}, seed=0, device="cpu"))
        start = time.perf_counter()
        for done in range(1, self.networks + 1):
            self._unpaused.wait()
            if self._stop.is_set():
                break
            for _ in range(3):  # three GIL-holding bursts per "network"
                if self.burst_n:
                    sum(range(self.burst_n))
                else:  # idle baseline: the engine sleeps (GIL released)
                    time.sleep(0.03)
            rate = done / (time.perf_counter() - start)
            self.sink(ProbeProgress(done=done, total=self.networks, cache_hits=0, networks_per_second=rate,
                                    eta_seconds=(self.networks - done) / rate))
        self.sink(EnergySample(span="probe", phase="probe", duration_s=time.perf_counter() - start, energy_joules=0.0,
                               co2_grams=0.0, cpu_joules=None, ram_joules=None, gpu_joules=None, gpu_mean_watts=None,
                               methods={}))
        self.sink(RunFinished(status="stopped" if self._stop.is_set() else "completed", run_dir="(busy)"))
        return "(busy)"


def data_dir() -> Path | None:
    from greenmachine.spaces import get_space

    TSS_TABLE = get_space("tss").table_file

    for candidate in (os.environ.get("GM_DATA_DIR"), str(ROOT.parent / "shared" / "data")):
        if candidate and (Path(candidate) / TSS_TABLE).is_file():
            return Path(candidate)
    return None


def gaps_ms(times: list[float]) -> list[float]:
    return [(b - a) * 1000 for a, b in zip(times, times[1:])]


async def measure(engine: str, seconds: float, burst_ms: float, workdir: Path) -> dict:
    if engine == "real":
        overrides = ("sampling.search=40", "sampling.validation=20", "sampling.test=20", "probe.batch_size=16",
                     "evolution.population=10", "evolution.generations=2", *EXTRA,
                     f'probe.cache_dir="{workdir / "cache"}"')
        app = create_app("quick", overrides=overrides)
    else:
        burst = 0.0 if engine == "idle" else burst_ms
        app = create_app("quick", controller_factory=lambda profile, sink: BusyController(profile, sink, burst_ms=burst))
    ticks: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        heartbeat = Heartbeat()
        await app.run_screen.mount(heartbeat)
        app.set_interval(0.02, lambda: (ticks.append(time.perf_counter()), heartbeat.tick()))
        probe = app.run_screen.query_one(ProbeWidget)
        deadline = time.monotonic() + 600
        while probe.done == 0:  # wait for the probe to start (imports, data loading)
            if app.state in ("failed", "completed", "stopped") or time.monotonic() > deadline:
                raise SystemExit(f"engine did not start probing: {app.state} {app.run_screen.last_error}")
            await pilot.pause(0.05)
        window_start = time.perf_counter()
        first_done = probe.done
        while time.perf_counter() - window_start < seconds and probe.done < probe.total:
            await pilot.pause(0.05)
        window_end = time.perf_counter()
        networks = probe.done - first_done
        await pilot.press("x")
        while app.state not in ("failed", "completed", "stopped"):
            await pilot.pause(0.05)
    window_ticks = [t for t in ticks if window_start <= t <= window_end]
    window_paints = [t for t in heartbeat.paints if window_start <= t <= window_end]
    tick_gaps, paint_gaps = gaps_ms(window_ticks), gaps_ms(window_paints)
    return {
        "engine": engine,
        "window_s": window_end - window_start,
        "networks_probed": networks,
        "ticks": len(window_ticks),
        "paints": len(window_paints),
        "max_tick_gap_ms": max(tick_gaps, default=float("nan")),
        "p99_tick_gap_ms": statistics.quantiles(tick_gaps, n=100)[98] if len(tick_gaps) > 100 else float("nan"),
        "mean_tick_gap_ms": statistics.fmean(tick_gaps) if tick_gaps else float("nan"),
        "max_paint_gap_ms": max(paint_gaps, default=float("nan")),
        "gaps_over_100ms": sum(gap > 100 for gap in tick_gaps),
        "top_gaps_ms": sorted(tick_gaps, reverse=True)[:5],
        "worst_at_s": (window_ticks[tick_gaps.index(max(tick_gaps))] - window_start) if tick_gaps else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("auto", "real", "busy", "idle"), default="auto")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the measured window during the probe")
    parser.add_argument("--burst-ms", type=float, default=60.0, help="busy engine: length of one GIL-holding burst")
    parser.add_argument("--target-ms", type=float, default=200.0)
    args = parser.parse_args()
    engine = args.engine
    if engine in ("auto", "real"):
        found = data_dir()
        if found is None:
            if engine == "real":
                raise SystemExit("real engine needs the data files (set GM_DATA_DIR)")
            engine = "busy"
        else:
            os.environ["GM_DATA_DIR"] = str(found)
            engine = "real"
    with tempfile.TemporaryDirectory(prefix="gm-tui-resp-") as folder:
        os.chdir(folder)  # the real engine writes runs/<id> under the cwd
        result = asyncio.run(measure(engine, args.seconds, args.burst_ms, Path(folder)))
    print(f"engine: {result['engine']}  window: {result['window_s']:.1f} s  networks probed: {result['networks_probed']}")
    print(f"UI timer ticks (every 20 ms): {result['ticks']}  mean gap {result['mean_tick_gap_ms']:.1f} ms"
          f"  p99 {result['p99_tick_gap_ms']:.1f} ms")
    print(f"heartbeat repaints: {result['paints']}  max repaint gap {result['max_paint_gap_ms']:.1f} ms")
    print(f"tick gaps over 100 ms: {result['gaps_over_100ms']}; largest: "
          + ", ".join(f"{gap:.0f}" for gap in result["top_gaps_ms"])
          + f" ms (worst {result['worst_at_s']:.1f} s into the window)")
    print(f"max gap between UI refreshes: {result['max_tick_gap_ms']:.1f} ms (target < {args.target_ms:.0f} ms)")
    return 0 if max(result["max_tick_gap_ms"], result["max_paint_gap_ms"]) < args.target_ms else 1


if __name__ == "__main__":
    sys.exit(main())
