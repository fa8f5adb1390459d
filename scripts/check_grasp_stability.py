"""How much GraSP depends on the minibatch: the same networks scored on two minibatches.

Usage::

    GM_DATA_DIR=... python scripts/check_grasp_stability.py --dataset cifar10 --n 40 \
        [--batch 64] [--batch-seeds 0 1] [--weight-seed 0] [--sample-seed 0]

Takes the first ``n`` of the random TSS sample that ``scripts/check_baselines_agreement.py``
uses (same ``--sample-seed``), initialises each network once per batch seed with the same
weights (``--weight-seed``), runs only the GraSP pass (exact Hessian-gradient product, as in
the zero-cost-nas reference) on each seeded real minibatch, and prints, per batch seed, the
Kendall tau of the network score against test accuracy and the share of positive scores,
then the Kendall tau between the scores of the first two batch seeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from greenmachine.baselines.published import rank_correlations  # noqa: E402
from greenmachine.benchmark.tables import load_benchmark  # noqa: E402
from greenmachine.benchmark.images import minibatch  # noqa: E402
from greenmachine.probe import passes  # noqa: E402
from greenmachine.probe.engine import build_initialised  # noqa: E402
from greenmachine.spaces import weighted_layers  # noqa: E402


def grasp_score(arch: str, dataset: str, batch: int, batch_seed: int, weight_seed: int) -> float:
    images, labels = minibatch(dataset, batch, batch_seed)
    model = build_initialised("tss", arch, dataset, weight_seed, "cpu")
    layers = weighted_layers(model)
    record = passes.ProbeRecord([name for name, _ in layers], batch)
    passes.grasp_pass(model, layers, images, labels, record)
    return float(np.sum(record.layer["grasp"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batch-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--weight-seed", type=int, default=0)
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    benchmark = load_benchmark("tss")
    indices = np.random.default_rng(args.sample_seed).choice(len(benchmark), size=500, replace=False)[: args.n]
    accuracy = benchmark.accuracy(args.dataset)[indices]
    scores = {seed: [] for seed in args.batch_seeds}
    start = time.time()
    for position, index in enumerate(indices):
        arch = benchmark.arch(int(index))
        for seed in args.batch_seeds:
            scores[seed].append(grasp_score(arch, args.dataset, args.batch, seed, args.weight_seed))
        if (position + 1) % 10 == 0:
            print(f"[{position + 1}/{args.n}] {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    print(f"GraSP on {args.n} random TSS networks ({args.dataset}, batch {args.batch}, weight seed "
          f"{args.weight_seed}, sample seed {args.sample_seed}); ground truth {benchmark.metric_columns[args.dataset]}")
    for seed, values in scores.items():
        tau, rho = rank_correlations(np.array(values), accuracy)
        print(f"  batch seed {seed}: tau {tau:+.3f}, rho {rho:+.3f} vs accuracy; "
              f"{np.mean(np.array(values) > 0):.0%} of scores positive")
    if len(args.batch_seeds) >= 2:
        first, second = args.batch_seeds[:2]
        tau, rho = rank_correlations(np.array(scores[first]), np.array(scores[second]))
        print(f"  batch seed {first} vs {second}: tau {tau:+.3f}, rho {rho:+.3f} (same networks, same weights)")


if __name__ == "__main__":
    main()
