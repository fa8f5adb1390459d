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

from core.baselines import BASELINES, baseline_scores, rank_correlations  # noqa: E402
from core.benchmarks import load_benchmark  # noqa: E402
from core.datadir import ZC_PROXIES_TABLE, data_file  # noqa: E402
from core.probe import ProbeCache, probe_many  # noqa: E402
from core.table import StatisticTable  # noqa: E402

#: Published rank correlations with NB201 test accuracy over all 15 625 architectures, as
#: quoted from the papers' tables (Spearman rho unless marked tau): Abdelfattah et al. 2021
#: (Table of zero-cost proxies on NAS-Bench-201). Approximate references, not ground truth.
PUBLISHED = {
    "cifar10": {"grad_norm": ("rho", 0.58), "snip": ("rho", 0.58), "grasp": ("rho", 0.48),
                "fisher": ("rho", 0.36), "synflow": ("rho", 0.74), "jacob_cov": ("rho", 0.73)},
    "cifar100": {"grad_norm": ("rho", 0.64), "snip": ("rho", 0.63), "grasp": ("rho", 0.54),
                 "fisher": ("rho", 0.39), "synflow": ("rho", 0.76), "jacob_cov": ("rho", 0.71)},
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
                stats = cache.load(args.space, int(index), dataset, args.batch, args.seed)
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
        print(f"{'baseline':<11} {'tau':>7} {'rho':>7}   {'file tau':>8} {'file rho':>8}   published")
        for name in scores:
            tau, rho = rank_correlations(scores[name], accuracy)
            file_tau = file_rho = ""
            if freerea and name in AGREEMENT:
                theirs = np.nan_to_num(np.array([freerea[i][AGREEMENT[name]] for i in chosen]), neginf=-1e300)
                ft, fr = rank_correlations(theirs, accuracy)
                file_tau, file_rho = f"{ft:8.3f}", f"{fr:8.3f}"
            published = PUBLISHED.get(dataset, {}).get(name) if args.space == "tss" else None
            text = f"{published[0]} {published[1]:.2f} (all archs)" if published else ""
            print(f"{name:<11} {tau:7.3f} {rho:7.3f}   {file_tau:>8} {file_rho:>8}   {text}")
    if cache.problems:
        print(f"\n{len(cache.problems)} corrupt cache entries were recomputed")


if __name__ == "__main__":
    main()
