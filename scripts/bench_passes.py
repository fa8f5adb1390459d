"""Measure what each probe pass costs per network, and what each shipped proxy costs.

Usage::

    PYTHONPATH=. python scripts/bench_passes.py [--space tss] [--dataset cifar10] [--batch 16]
        [--networks 10] [--threads 1] [--seed 0] [--repeats 1] [--json pass_costs.json] [--write]

For ``--networks`` random networks of the space (seeded), each pass runs alone on a freshly
built and initialised network (structure alone; then structure + one other pass, minus the
structure time), and the whole default bank runs once. Seconds are wall time on this
machine; joules come from codecarbon's offline tracker over each pass's spans (estimated
from CPU load and TDP when there is no RAPL, as the printed method says). The last table is
the cost of every shipped proxy: the sum of the passes its formula needs, against the whole
bank (lazy probing). The machine may be shared: the load average is printed.

``--write`` stores the space's pass costs, with their context (machine, load, energy method
and label, date, this command), in ``core/probe/pass_costs.json``: the table
:mod:`greenmachine.probe.costs` reads for the probe cost of every formula (hall of fame, reports,
``evolution.cost_weight``). The other spaces' entries are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from greenmachine.benchmark.tables import load_benchmark  # noqa: E402
from greenmachine.energy import make_meter  # noqa: E402
from greenmachine.benchmark.images import minibatch  # noqa: E402
from greenmachine.probe.engine import build_initialised, probe_model  # noqa: E402
from greenmachine.probe.costs import write_space_costs  # noqa: E402
from greenmachine.probe.registry import GRASP, MAIN, NOISE, STRUCTURE, SYNFLOW  # noqa: E402
from greenmachine.proxies import shipped_proxies  # noqa: E402
from greenmachine.spaces import weighted_layers  # noqa: E402

PASSES = (STRUCTURE, MAIN, SYNFLOW, NOISE, GRASP)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="tss")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--energy", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--repeats", type=int, default=1,
                        help="time each pass this many times per network and keep the fastest (with its "
                             "energy): on a shared machine the fastest is the least disturbed by other work")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--write", action="store_true",
                        help="store the pass costs in core/probe/pass_costs.json (greenmachine.probe.costs)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    torch.set_num_threads(args.threads)
    benchmark = load_benchmark(args.space)
    indices = np.random.default_rng(args.seed).choice(len(benchmark), size=args.networks, replace=False)
    images, labels = minibatch(args.dataset, args.batch, args.seed)
    meter = make_meter(args.energy)
    runs = {name: [] for name in (*PASSES, "bank")}
    joules = {name: [] for name in runs}

    def timed(name: str, index: int, only) -> None:
        fastest = None
        for _ in range(max(1, args.repeats)):
            model = build_initialised(args.space, benchmark.arch(index), args.dataset, args.seed, "cpu")
            layers = weighted_layers(model)
            with meter.span(name) as handle:
                start = time.perf_counter()
                probe_model(model, images, labels, args.seed, layers=layers, only=only)
                seconds = time.perf_counter() - start
            if fastest is None or seconds < fastest[0]:
                fastest = (seconds, handle.reading.energy_joules)
        runs[name].append(fastest[0])
        joules[name].append(fastest[1])

    for index in indices:  # warm-up on the first network is included: it is what a user meets
        timed(STRUCTURE, index, set())
        for name in (MAIN, SYNFLOW, NOISE, GRASP):
            timed(name, index, {name})
        timed("bank", index, None)
    description = meter.describe()
    meter.close()
    structure = float(np.mean(runs[STRUCTURE]))
    structure_joules = None if joules[STRUCTURE][0] is None else float(np.mean(joules[STRUCTURE]))
    costs = {}
    for name in runs:
        # a pass alone = (structure + pass) - structure; under load a tiny pass can come out
        # below zero, which is floored at 0 (its cost is within the noise)
        seconds = max(0.0, float(np.mean(runs[name])) - (structure if name not in (STRUCTURE, "bank") else 0.0))
        energy = None if joules[name][0] is None else max(0.0, float(np.mean(joules[name])) - (
            structure_joules if name not in (STRUCTURE, "bank") else 0.0))
        costs[name] = {"seconds_per_network": seconds, "joules_per_network": energy}
    method = "; ".join(f"{part}: {how}" for part, how in meter.methods.items())
    load_after = os.getloadavg()[0]
    print(f"{args.space} {args.dataset}, batch {args.batch}, {args.networks} networks (seed {args.seed}), "
          f"{args.threads} thread(s), load {load_before:.1f} -> {load_after:.1f}; energy {method}")
    print(f"{'pass':10s} {'s/network':>10s} {'J/network':>10s}")
    for name, cost in costs.items():
        energy = "–" if cost["joules_per_network"] is None else f"{cost['joules_per_network']:.2f}"
        print(f"{name:10s} {cost['seconds_per_network']:10.3f} {energy:>10s}")
    proxies = {}
    for proxy in (p for p in shipped_proxies() if p.space == args.space):
        seconds = sum(costs[p]["seconds_per_network"] for p in proxy.passes if p in costs)
        proxies[proxy.name] = {"passes": sorted(proxy.passes), "seconds_per_network": seconds}
        print(f"proxy {proxy.name:14s} passes {','.join(sorted(proxy.passes)):28s} {seconds:.3f} s/network "
              f"({seconds / costs['bank']['seconds_per_network']:.0%} of the whole bank)")
    if args.write:
        context = {"dataset": args.dataset, "batch": args.batch, "networks": args.networks, "seed": args.seed,
                   "repeats": args.repeats, "kept": "the fastest of the repeats per network, mean over networks",
                   "threads": args.threads, "energy_method": meter.methods,
                   "machine": {"cpu_model": description.get("cpu_model"), "cpu_count": description.get("cpu_count"),
                               "gpu_models": description.get("gpu_models"), "device": "cpu"},
                   "load_average": {"before": round(load_before, 2), "after": round(load_after, 2)},
                   "niceness": os.nice(0), "torch": torch.__version__,
                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "command": "PYTHONPATH=. python scripts/bench_passes.py " + " ".join(sys.argv[1:])}
        path = write_space_costs(args.space, {p: costs[p] for p in PASSES}, costs["bank"], context)
        print(f"wrote {path} ({args.space})")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "context": {"space": args.space, "dataset": args.dataset, "batch": args.batch,
                        "networks": args.networks, "seed": args.seed, "threads": args.threads,
                        "energy_method": meter.methods},
            "passes": costs, "proxies": proxies}, indent=2) + "\n")


if __name__ == "__main__":
    main()
