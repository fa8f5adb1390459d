"""What tracing the dataflow graph adds to the probe: seconds per network with and without it.

Usage::

    GM_DATA_DIR=... PYTHONPATH=. OMP_NUM_THREADS=1 python scripts/bench_graph_statistics.py
        [--space tss] [--dataset cifar10] [--batch 16] [--networks 40] [--repeats 3] [--seed 0]

The graph statistics (:mod:`greenmachine.probe.passes.graph`) are read from the one batch-1
forward the structure stage runs anyway, under a :class:`torch.overrides.TorchFunctionMode`
that tags every tensor with the call that produced it. This script measures that cost on
``--networks`` random networks of the space (seeded by ``--seed``): each network is probed
(a) with the graph traced (the probe as it is) and (b) with a recorder that traces nothing
(the probe as it was before the graph statistics), alternately, ``--repeats`` times each; for
the structure stage alone and for the whole default bank. Times are CPU seconds of this
process on one torch thread (steadier than wall time on a shared machine; the load average
is printed), the minimum over the repeats, then the mean and median over the networks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from greenmachine.benchmark.images import minibatch  # noqa: E402
from greenmachine.benchmark.tables import load_benchmark  # noqa: E402
from greenmachine.probe.engine import build_initialised, probe_model  # noqa: E402
from greenmachine.probe.passes import graph as graph_module  # noqa: E402
from greenmachine.probe.passes import structure as structure_module  # noqa: E402
from greenmachine.spaces import get_space, weighted_layers  # noqa: E402


class UntracedRecorder:
    """A stand-in for :class:`DataflowRecorder` that traces nothing (the probe without the graph)."""

    def __init__(self, model) -> None:
        self.parents, self.layer_width, self.output = [], {}, None
        self.traced = self.started = self.finished = True

    def __enter__(self) -> "UntracedRecorder":
        return self

    def __exit__(self, *exc) -> None:
        return None


def _probe_seconds(model, layers, images, labels, only, traced: bool) -> float:
    structure_module.DataflowRecorder = graph_module.DataflowRecorder if traced else UntracedRecorder
    try:
        start = time.process_time()
        probe_model(model, images, labels, 0, layers=layers, only=only)
        return time.process_time() - start
    finally:
        structure_module.DataflowRecorder = graph_module.DataflowRecorder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="tss")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--networks", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = get_space(args.space)
    benchmark = load_benchmark(space)
    indices = np.random.default_rng(args.seed).choice(len(benchmark), args.networks, replace=False)
    images, labels = minibatch(args.dataset, args.batch, 0)
    # columns: structure without, structure with, bank without, bank with
    seconds = np.zeros((len(indices), 4))
    for row, index in enumerate(indices):
        model = build_initialised(space, benchmark.arch(int(index)), args.dataset, 0, "cpu")
        layers = weighted_layers(model) if space.layers_in_registration_order else None
        for column, (only, traced) in enumerate(((set(), False), (set(), True), (None, False), (None, True))):
            seconds[row, column] = min(_probe_seconds(model, layers, images, labels, only, traced)
                                       for _ in range(args.repeats))
    print(f"{args.space} {args.dataset}, {len(indices)} random networks (seed {args.seed}), batch {args.batch}, "
          f"one torch thread, CPU seconds per network (minimum of {args.repeats}), load average "
          f"{os.getloadavg()[0]:.2f}, torch {torch.__version__}")
    for label, without, with_graph in (("structure stage", 0, 1), ("whole default bank", 2, 3)):
        added = seconds[:, with_graph] - seconds[:, without]
        print(f"  {label:19s} without graph mean {seconds[:, without].mean():.4f} s (median "
              f"{np.median(seconds[:, without]):.4f}), with graph mean {seconds[:, with_graph].mean():.4f} s "
              f"(median {np.median(seconds[:, with_graph]):.4f}); added mean {added.mean() * 1e3:.1f} ms "
              f"(median {np.median(added) * 1e3:.1f} ms, {added.mean() / seconds[:, without].mean():.1%})")


if __name__ == "__main__":
    main()
