"""A quick check of the graph statistics: Kendall tau of each alone against accuracy, and the cut-off networks.

Usage::

    GM_DATA_DIR=... PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 10 python scripts/graph_statistics_tau.py
        [--space tss] [--dataset cifar10] [--networks 200] [--sample-seed 0] [--batch 16]
        [--probe-seed 0] [--cache DIR]

Probes ``--networks`` random networks of the space (drawn with ``--sample-seed``, without
replacement) with the whole default bank, in this process on one torch thread, through a
probe cache (``--cache``, default a fresh temporary folder), then prints, for every graph
statistic (:data:`greenmachine.probe.passes.graph.GRAPH_STATISTICS`) and for a few bank
statistics as context, Kendall's tau-b of the statistic alone against the benchmark's
accuracy on ``--dataset`` (on all networks, and on those whose output depends on the input),
how many distinct values it takes, and the networks whose output does not depend on their
input (``input_reaches_output`` = 0) with their accuracies. For TSS it also counts, over the
whole space and from the arch strings alone, the cells with no route from input to output
that avoids ``none``, with their accuracies on every dataset. Nothing is chosen from these
figures: it is a look at the statistics, not a selection.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from greenmachine.benchmark.tables import load_benchmark  # noqa: E402
from greenmachine.probe import BANK_VERSION, ProbeCache, probe_many  # noqa: E402
from greenmachine.probe.passes.graph import GRAPH_STATISTICS  # noqa: E402
from greenmachine.stats.fitness import kendall_tau_b  # noqa: E402

#: Bank statistics printed beside the graph statistics, for scale.
CONTEXT = ("weighted_layer_count", "parameter_count", "flop_count", "synflow_total", "naswot", "zico", "meco")


def _tau(values: np.ndarray, accuracy: np.ndarray) -> float:
    return float(kendall_tau_b(torch.as_tensor(values, dtype=torch.float64), torch.as_tensor(accuracy),
                               invalid=float("nan"))[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="tss")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--networks", type=int, default=200)
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--probe-seed", type=int, default=0)
    parser.add_argument("--cache", default="")
    args = parser.parse_args()
    torch.set_num_threads(1)
    benchmark = load_benchmark(args.space)
    indices = np.sort(np.random.default_rng(args.sample_seed).choice(len(benchmark), args.networks, replace=False))
    accuracy = benchmark.accuracy(args.dataset)[indices]
    with tempfile.TemporaryDirectory() as folder:
        cache = ProbeCache(Path(args.cache or folder))
        start = time.perf_counter()
        statistics = probe_many(args.space, [int(i) for i in indices], args.dataset, args.batch, args.probe_seed,
                                device="cpu", cache=cache)
        seconds = time.perf_counter() - start
    values = {name: np.array([s.network_statistics[name] for s in statistics]) for name in GRAPH_STATISTICS + CONTEXT}
    undefined = sum(bool(set(GRAPH_STATISTICS) & set(s.undefined)) for s in statistics)
    connected = values["input_reaches_output"] == 1
    print(f"{args.space} {args.dataset}: {len(indices)} random networks (sample seed {args.sample_seed}), batch "
          f"{args.batch}, probe seed {args.probe_seed}, CPU, one thread, bank {BANK_VERSION}; probed in "
          f"{seconds:.0f} s; graph statistics undefined for {undefined}")
    print(f"{'statistic':30s} {'tau all':>8s} {'tau connected':>14s} {'distinct':>9s}")
    for name in GRAPH_STATISTICS + CONTEXT:
        print(f"{name:30s} {_tau(values[name], accuracy):8.3f} "
              f"{_tau(values[name][connected], accuracy[connected]):14.3f} {len(np.unique(values[name])):9d}")
    cut = np.flatnonzero(~connected)
    print(f"input_reaches_output = 0 for {len(cut)} of {len(indices)} networks (sample median accuracy "
          f"{np.median(accuracy):.2f} %):")
    for position in cut:
        print(f"  network {indices[position]:5d} {benchmark.arch(int(indices[position]))}  accuracy "
              f"{accuracy[position]:.2f} %")
    if args.space == "tss":
        _whole_space_cells(benchmark, indices)


def _cell_connected(arch: str) -> bool:
    """Whether a TSS cell has a route from its input node to its output node avoiding ``none``."""
    reached = [True]
    for node in arch.strip("|").split("|+|"):
        edges = [edge.split("~") for edge in node.split("|")]
        reached.append(any(name != "none" and reached[int(source)] for name, source in edges))
    return reached[-1]


def _whole_space_cells(benchmark, indices) -> None:
    connected = np.array([_cell_connected(benchmark.arch(index)) for index in range(len(benchmark))])
    print(f"whole space: {int((~connected).sum())} of {len(benchmark)} cells have no route avoiding none "
          f"({int((~connected[indices]).sum())} of them in the sample)")
    for dataset in benchmark.accuracies:
        accuracy = benchmark.accuracy(dataset)
        print(f"  {dataset:15s} their accuracy: max {accuracy[~connected].max():.2f} %, mean "
              f"{accuracy[~connected].mean():.2f} %; the others: min {accuracy[connected].min():.2f} %, median "
              f"{np.median(accuracy[connected]):.2f} %")


if __name__ == "__main__":
    main()
