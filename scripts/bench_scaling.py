"""Probe scaling: networks/s in-process, with a local pool of N workers and with Ray, same networks.

Each configuration probes the same networks into its own empty cache (every network is
computed), timed from the call to the last result; the start-up of the pool (forkserver and
workers, imports done) and of Ray (``ray.init`` of a local instance and the workers' imports)
is timed apart and shown beside, and the in-process run reuses this process's imports; the
statistics of every configuration are checked bit for bit against the in-process ones. The
load average is printed before and after each configuration: on a shared machine other
processes take CPU from the workers, so read the speed-ups next to it, and next to the CPU
seconds per network spent in the workers (each chunk measures its process's CPU time), which
show what each configuration costs whatever the load.

Usage::

    GM_DATA_DIR=... OMP_NUM_THREADS=1 python scripts/bench_scaling.py --networks 40 --batch 16 --ray
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def identical(left, right) -> bool:
    import numpy as np

    for a, b in zip(left, right, strict=True):
        if a.layer_names != b.layer_names or a.network_statistics.keys() != b.network_statistics.keys():
            return False
        if any(a.layer_statistics[n].tobytes() != b.layer_statistics[n].tobytes() for n in a.layer_statistics):
            return False
        if any(np.float64(v).tobytes() != np.float64(b.network_statistics[n]).tobytes()
               for n, v in a.network_statistics.items()):
            return False
    return True


def run(name: str, executor, job_of, indices, start_up: float = 0.0):
    """Probe ``indices`` into an empty cache; rate excludes ``start_up`` (timed before), also shown with it."""
    from greenmachine.probe.cache import ProbeCache

    with tempfile.TemporaryDirectory(prefix="gm-bench-scaling-") as root:
        before = load()
        start = time.perf_counter()
        statistics = executor.probe(job_of(root), indices, ProbeCache(root))
        seconds = time.perf_counter() - start
        executor.close()
        cpu = sum(host["cpu_seconds"] for host in executor.describe()["hosts"].values())
        shown = f"{cpu / len(indices):.2f} CPU s/network in the workers"
        cold = f"; {len(indices) / (seconds + start_up):.3f}/s with start-up {start_up:.1f} s" if start_up else ""
        print(f"{name:24s} {len(indices) / seconds:6.3f} networks/s  ({seconds:6.1f} s{cold}; {shown}; "
              f"load {before} -> {load()})", flush=True)
    return statistics, len(indices) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="tss")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--networks", type=int, default=40)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="pool sizes to time (besides 1)")
    parser.add_argument("--ray", action="store_true", help="also time Ray on a local instance (2 CPUs)")
    args = parser.parse_args()

    import numpy as np
    import torch

    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.probe.executors import InProcessExecutor, LocalPoolExecutor, ProbeJob, usable_cpus

    torch.set_num_threads(1)
    count = len(load_benchmark(args.space).accuracy(args.dataset))
    indices = sorted(int(i) for i in np.random.default_rng(0).choice(count, size=args.networks, replace=False))

    def job_of(root):
        return ProbeJob(args.space, args.dataset, args.batch, args.seed, "cpu", root)

    print(f"{args.space} {args.dataset}: {args.networks} networks, batch {args.batch}, probe seed {args.seed}; "
          f"{usable_cpus()} usable CPUs, {os.cpu_count()} logical; one torch thread per worker", flush=True)
    reference, single = run("in-process (1 worker)", InProcessExecutor(), job_of, indices)
    for workers in args.workers:
        started = time.perf_counter()
        executor = LocalPoolExecutor(workers)
        executor.start()
        statistics, rate = run(f"local pool, {workers} workers", executor, job_of, indices,
                               time.perf_counter() - started)
        print(f"  speed-up over 1 worker: {rate / single:.2f}x; statistics identical: {identical(reference, statistics)}")
        if workers == 2:
            pool_rate = rate
    if args.ray:
        from greenmachine.probe.ray_executor import RayExecutor

        started = time.perf_counter()
        executor = RayExecutor(workers=2)
        statistics, rate = run("ray local, 2 CPUs", executor, job_of, indices, time.perf_counter() - started)
        print(f"  speed-up over 1 worker: {rate / single:.2f}x; statistics identical: {identical(reference, statistics)}")
        if 2 in args.workers:
            print(f"  ray / pool of 2: {rate / pool_rate:.2f} (target >= 0.85)")


if __name__ == "__main__":
    main()
