"""Check our baselines against published values on random NATS-Bench TSS networks.

Usage::

    PYTHONPATH=. GM_DATA_DIR=... python scripts/check_baselines_agreement.py --n 500 \
        --datasets cifar10 cifar100 [--batch 64] [--seed 0] [--sample-seed 0] \
        [--cache-dir DIR] [--threads 1] [--report-only] [--space tss|sss] [--grasp]

Probes ``n`` architectures drawn uniformly without replacement (``--sample-seed``) through
the probe cache (so an interrupted run resumes), then prints

1. Kendall tau between our naswot / synflow / logsynflow (and params) and the precomputed
   FreeREA columns of ``nb201_zc_proxies_freerea.csv.gz`` on the same networks (TSS only;
   target >= 0.9);
2. every baseline's Kendall tau-b and Spearman rho against the 200-epoch test accuracy,
   next to the FreeREA file's values on the same networks and published figures.

FreeREA computed its scores on one training minibatch of 64 images (seed 3), averaged over
three initialisations; we use one initialisation and the 64-image minibatch of ``--seed``.
``--report-only`` uses only networks already in the cache (no probing).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from greenmachine.baselines.published import BASELINES, baseline_scores, rank_correlations  # noqa: E402
from greenmachine.benchmark.tables import load_benchmark  # noqa: E402
from greenmachine.datadir import ZC_PROXIES_TABLE, data_file  # noqa: E402
from greenmachine.probe import ProbeCache, probe_many  # noqa: E402
from greenmachine.benchmark.images import image_identity  # noqa: E402
from greenmachine.probe.engine import resolve_device  # noqa: E402
from greenmachine.stats.table import StatisticTable  # noqa: E402

#: Published rank correlations with test accuracy over all architectures of the space.
#: "tau": Kendall tau from ZiCo (Li et al., ICLR 2023), Table 1 (TSS) and Table 3 (SSS), which
#: recomputes every proxy on the same protocol. "rho": Spearman rho from the proxy's own
#: paper: Abdelfattah et al. 2021 (zero-cost-nas, notebooks/nasbench201_correlations.ipynb,
#: "Table 1", |rho| over all 15 625 NB201 architectures, batch 64) for grad_norm, snip, grasp,
#: fisher, synflow, jacob_cov; ZiCo Table 1/3 for zico, naswot, zen, params; MeCo (Jiang et
#: al., NeurIPS 2023) Table 1 for meco on TSS and its SSS figures (negative); SWAP (Peng et
#: al., ICLR 2024) abstract for swap on CIFAR-100 (regularised SWAP). Approximate references
#: for whole-space correlations, not ground truth for a 500-network sample.
PUBLISHED = {
    "tss": {
        "cifar10": {
            "params": (0.57, 0.75), "flops": (0.54, 0.73), "grad_norm": (0.46, 0.594),
            "snip": (0.46, 0.596), "grasp": (0.37, 0.514), "fisher": (0.40, 0.36),
            "synflow": (0.54, 0.737), "jacob_cov": (None, 0.731), "naswot": (0.58, 0.77),
            "zen": (0.29, 0.38), "zico": (0.61, 0.80), "meco": (None, 0.894),
        },
        "cifar100": {
            "params": (0.55, 0.73), "flops": (0.51, 0.71), "grad_norm": (0.47, 0.637),
            "snip": (0.46, 0.637), "grasp": (0.36, 0.547), "fisher": (0.41, 0.385),
            "synflow": (0.57, 0.763), "jacob_cov": (None, 0.704), "naswot": (0.62, 0.80),
            "zen": (0.28, 0.36), "zico": (0.61, 0.81), "meco": (None, 0.883), "swap": (None, 0.90),
        },
    },
    "sss": {
        "cifar10": {
            "params": (0.53, 0.72), "grad_norm": (0.35, 0.51), "snip": (0.42, 0.59),
            "grasp": (-0.09, -0.13), "fisher": (0.30, 0.44), "synflow": (0.61, 0.81),
            "naswot": (0.45, 0.63), "zen": (0.50, 0.69), "zico": (0.54, 0.73), "meco": (None, -0.79),
        },
        "cifar100": {
            "params": (0.54, 0.73), "grad_norm": (0.34, 0.49), "snip": (0.46, 0.62),
            "grasp": (0.01, 0.01), "fisher": (0.41, 0.55), "synflow": (0.60, 0.80),
            "naswot": (0.43, 0.59), "zen": (0.52, 0.71), "zico": (0.55, 0.75), "meco": (None, -0.87),
        },
    },
}
#: Our statistic -> FreeREA column.
AGREEMENT = {"naswot": "naswot", "synflow": "synflow", "logsynflow": "logsynflow", "params": "params_MB"}


def read_freerea(dataset: str) -> dict[int, dict[str, float]]:
    rows = {}
    with gzip.open(data_file(ZC_PROXIES_TABLE), "rt") as handle:
        for row in csv.DictReader(handle):
            if row["dataset"] == dataset:
                rows[int(row["index"])] = {k: float(row[k]) if row[k] else np.nan
                                           for k in ("naswot", "synflow", "logsynflow", "params_MB",
                                                     "test_acc_200ep")}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=("tss", "sss"), default="tss")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--datasets", nargs="+", default=["cifar10", "cifar100"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--grasp", action="store_true",
                        help="also run the optional GraSP pass (~3.5 plain passes per network)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    benchmark = load_benchmark(args.space)
    indices = np.random.default_rng(args.sample_seed).choice(len(benchmark), size=args.n, replace=False)
    cache = ProbeCache(args.cache_dir, on_problem=lambda m: print("warning:", m, file=sys.stderr),
                       grasp=args.grasp)
    start = time.time()
    results: dict[str, dict[int, object]] = {d: {} for d in args.datasets}
    for position, index in enumerate(indices):
        for dataset in args.datasets:
            if args.report_only:
                stats = cache.load(args.space, int(index), dataset, args.batch, args.seed,
                                   arch=benchmark.arch(int(index)), device=resolve_device("auto").type,
                                   images=image_identity(dataset))
                if stats is None:
                    continue
            else:
                (stats,) = probe_many(args.space, [int(index)], dataset, args.batch, args.seed, "auto", cache)
            results[dataset][int(index)] = stats
        if not args.report_only and (position + 1) % 10 == 0:
            elapsed = time.time() - start
            print(f"[{position + 1}/{args.n}] {elapsed / (position + 1):.1f} s per architecture "
                  f"(all datasets), load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    print(f"space={args.space} batch={args.batch} probe seed={args.seed} sample seed={args.sample_seed} "
          f"n requested={args.n} cache={cache.root}")
    for dataset in args.datasets:
        done = results[dataset]
        if len(done) < 3:
            print(f"\n{dataset}: only {len(done)} networks available")
            continue
        chosen = np.array(sorted(done))
        table = StatisticTable.from_networks([done[i] for i in chosen])
        scores = baseline_scores(table)
        accuracy = benchmark.accuracy(dataset)[chosen]
        print(f"\n=== {dataset}: n = {len(chosen)} random {args.space.upper()} architectures; "
              f"ground truth {benchmark.metric_columns[dataset]} ===")
        freerea = read_freerea(dataset) if args.space == "tss" else {}
        if freerea:
            print("agreement with FreeREA precomputed scores (Kendall tau, target >= 0.9):")
            for ours, column in AGREEMENT.items():
                theirs = np.array([freerea[i][column] for i in chosen])
                tau, _ = rank_correlations(scores[ours], np.nan_to_num(theirs, neginf=-1e300))
                print(f"  {ours:<11} vs FreeREA {column:<11} tau = {tau:.3f}")
        print(f"{'baseline':<11} {'tau':>7} {'rho':>7}   {'file tau':>8} {'file rho':>8}   "
              f"{'pub tau':>7} {'pub rho':>7}   {'d tau':>6} {'d rho':>6}")
        for name in scores:
            tau, rho = rank_correlations(scores[name], accuracy)
            file_tau = file_rho = ""
            if freerea and name in AGREEMENT:
                theirs = np.nan_to_num(np.array([freerea[i][AGREEMENT[name]] for i in chosen]), neginf=-1e300)
                ft, fr = rank_correlations(theirs, accuracy)
                file_tau, file_rho = f"{ft:8.3f}", f"{fr:8.3f}"
            pub_tau, pub_rho = PUBLISHED.get(args.space, {}).get(dataset, {}).get(name, (None, None))
            cells = [f"{v:7.3f}" if v is not None else f"{'':7}" for v in (pub_tau, pub_rho)]
            deltas = [f"{ours - v:+6.3f}" if v is not None else f"{'':6}"
                      for ours, v in ((tau, pub_tau), (rho, pub_rho))]
            print(f"{name:<11} {tau:7.3f} {rho:7.3f}   {file_tau:>8} {file_rho:>8}   "
                  f"{cells[0]} {cells[1]}   {deltas[0]} {deltas[1]}")
    if cache.problems:
        print(f"\n{len(cache.problems)} corrupt cache entries were recomputed")


if __name__ == "__main__":
    main()
