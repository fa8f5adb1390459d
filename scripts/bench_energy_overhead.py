"""Measure the cost of one span start/stop pair of the energy meters (after warm-up).

Run: ``python scripts/bench_energy_overhead.py [N]``. Prints construction (warm-up) time and
the median / 90th percentile of a start+stop pair, for a flat span and for a span nested in an
open outer span (two segment boundaries each), for CodecarbonMeter, NullMeter and FakeMeter.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from greenmachine.energy import CodecarbonMeter, NullMeter  # noqa: E402
from greenmachine.energy.testing import FakeMeter  # noqa: E402


def pairs(meter, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        meter.stop(meter.start("bench"))
        times.append(time.perf_counter() - t0)
    return times


def report(label: str, times: list[float]) -> None:
    times = sorted(times)
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"{label:<34} median {statistics.median(times) * 1e3:7.3f} ms   p90 {p90 * 1e3:7.3f} ms")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    t0 = time.perf_counter()
    meter = CodecarbonMeter("USA")
    print(f"CodecarbonMeter construction + warm-up: {time.perf_counter() - t0:.2f} s")
    print(f"methods: {meter.methods}")
    pairs(meter, 10)
    report("codecarbon start/stop (flat)", pairs(meter, n))
    outer = meter.start("outer")
    report("codecarbon start/stop (nested)", pairs(meter, n))
    meter.stop(outer)
    meter.close()
    report("null start/stop", pairs(NullMeter(), n))
    report("fake start/stop", pairs(FakeMeter(gpu_watts=1.0), n))


if __name__ == "__main__":
    main()
