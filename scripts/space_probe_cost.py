"""Probe cost of a space on this machine: seconds and joules per network, and for the whole space.

Run from the repository root::

    GM_DATA_DIR=../shared/data python scripts/space_probe_cost.py --space macro [--networks 10]
        [--batch 16] [--seed 0] [--sample-seed 0] [--grasp] [--country USA]

Probes ``--networks`` random networks of the space (drawn with ``--sample-seed``) with the
default bank, one torch thread, in this process, without the probe cache
(:func:`greenmachine.probe.engine.probe_network`), inside one energy span of
:func:`greenmachine.energy.make_meter` (codecarbon: CPU energy measured through RAPL where readable,
else *estimated* from the CPU load and TDP; RAM always estimated; every figure is printed
with its method). Prints wall-clock and CPU seconds per network, joules per network, the
machine's load average (the machine may be shared: CPU seconds are the steadier figure, and
an estimate from the machine-wide CPU load counts other processes' work too), and the time
to probe the whole space at that rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="macro", help="a registered space (default macro)")
    parser.add_argument("--dataset", default=None, help="default: the space's first dataset")
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="probe seed (minibatch and weights)")
    parser.add_argument("--sample-seed", type=int, default=0, help="which networks")
    parser.add_argument("--grasp", action="store_true", help="also the opt-in GraSP pass")
    parser.add_argument("--country", default="USA", help="energy-mix country for CO2 (codecarbon)")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.energy import make_meter
    from greenmachine.probe.engine import probe_network
    from greenmachine.spaces import get_space

    torch.set_num_threads(1)
    space = get_space(args.space)
    dataset = args.dataset or space.datasets[0]
    benchmark = load_benchmark(space)
    rng = np.random.default_rng(args.sample_seed)
    indices = rng.choice(len(benchmark), size=min(args.networks, len(benchmark)), replace=False)
    probe_network(space, benchmark.arch_strings[int(indices[0])], dataset, args.batch, args.seed, "cpu",
                  grasp=args.grasp)  # warm-up: imports, image file, allocator
    meter = make_meter(True, country=args.country)
    load_before = os.getloadavg()[0]
    cpu_start = time.process_time()
    span = meter.start("probe")
    for index in indices:
        probe_network(space, benchmark.arch_strings[int(index)], dataset, args.batch, args.seed, "cpu",
                      grasp=args.grasp)
    reading = meter.stop(span)
    cpu_seconds = time.process_time() - cpu_start
    methods = meter.describe().get("methods", {})
    meter.close()
    count = len(indices)
    wall = reading.duration_s / count
    print(f"{space.title} ({space.name}) {dataset}: {count} random networks (sample seed {args.sample_seed}), "
          f"batch {args.batch}, probe seed {args.seed}, one thread, CPU, bank{' + GraSP' if args.grasp else ''}; "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  {wall:.2f} s/network wall, {cpu_seconds / count:.2f} s/network CPU time of this process")
    if reading.energy_joules is not None:
        how = "; ".join(f"{part}: {way}" for part, way in methods.items())
        print(f"  {reading.energy_joules / count:.1f} J/network ({how}; country {args.country})")
    else:
        print("  energy not metered (codecarbon unavailable)")
    total = len(benchmark) * wall
    print(f"  whole space ({len(benchmark)} networks) at this rate: {total / 60:.0f} min wall, "
          f"{len(benchmark) * cpu_seconds / count / 60:.0f} min CPU, one worker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
