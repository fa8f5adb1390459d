"""Our zero-cost proxies against NASLib's on the same NAS-Bench-101 networks.

Run from the repository root::

    GM_DATA_DIR=../shared/data python scripts/nb101_agreement.py [--subset 100] [--subset-seed 0]
        [--batch 16] [--seed 0] [--cache-dir DIR] [--json out.json] [--no-grasp] [--no-reference]

NAS-Bench-Suite-Zero published NASLib's scores of 11 proxies on 500 NAS-Bench-101 networks
(the ``nb101`` space's table keeps them as columns, see :mod:`greenmachine.spaces.nb101`). This
script probes the same networks with our bank (:func:`greenmachine.probe.probe_many`, GraSP pass
included, through the probe cache, so a rerun resumes) and computes the authors'-code Fisher
(:mod:`greenmachine.baselines.reference`), then prints, for every proxy both have:

* Kendall tau between our score and NASLib's on the same networks (agreement), and
* Kendall tau of ours and of NASLib's against the ground truth (``val_accuracy``: one
  training repeat, noisy) on the same networks.

Our side: the bank baselines (:mod:`greenmachine.baselines.published`) ``flops``, ``params``, ``snip``,
``grad_norm``, ``fisher``, ``grasp``, ``synflow``, ``jacob_cov`` (NASLib's ``jacov``); the
authors'-code ``fisher``; and two sums of the bank's per-layer statistics that are NASLib's
``l2_norm`` (sum over Conv2d/Linear layers of ||W||) and ``plain`` (sum of W * dL/dW). NASLib
computed its scores at batch 64 on CPU with one seed and its own initialisation; ours use the
probe's seeded minibatch (``--batch``, default 16) and initialisation, so agreement below 1
for the data-dependent proxies is expected; for ``params`` and ``flops`` it measures the
networks themselves (FLOPs: NASLib also counts BatchNorm, ReLU and pooling, see
``scripts/check_space_params.py``). Non-finite scores are left out pairwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: (our row name, how ours is computed, NASLib's column name in the file)
PAIRS = (
    ("flops", "bank", "flops"),
    ("params", "bank", "params"),
    ("snip", "bank", "snip"),
    ("grad_norm", "bank", "grad_norm"),
    ("fisher", "bank", "fisher"),
    ("fisher (authors' code)", "reference", "fisher"),
    ("grasp", "bank", "grasp"),
    ("synflow", "bank", "synflow"),
    ("jacob_cov", "bank", "jacov"),
    ("l2_norm (sum weight_l2_norm)", "layers", "l2_norm"),
    ("plain (sum weight_times_gradient)", "layers", "plain"),
)
#: Layer statistic summed over the layers for the "layers" rows.
LAYER_SUMS = {"l2_norm (sum weight_l2_norm)": "weight_l2_norm",
              "plain (sum weight_times_gradient)": "weight_times_gradient"}


def kendall(first, second) -> tuple[float, int]:
    """Kendall tau-b of two score vectors over the networks where both are finite, and that count."""
    import numpy as np

    from greenmachine.baselines.published import rank_correlations

    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    finite = np.isfinite(first) & np.isfinite(second)
    if finite.sum() < 3:
        return math.nan, int(finite.sum())
    tau, _ = rank_correlations(first[finite], second[finite])
    return float(tau), int(finite.sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=None, help="a random subset of this many networks")
    parser.add_argument("--subset-seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="probe seed (minibatch and weights)")
    parser.add_argument("--cache-dir", default=None, help="probe cache (default: GM_CACHE_DIR or the user cache)")
    parser.add_argument("--reference-cache-dir", default=None, help="reference-baseline cache")
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    parser.add_argument("--no-grasp", dest="grasp", action="store_false",
                        help="leave out the GraSP pass (and the grasp row): the default bank's cache entries serve, "
                             "so networks already probed by gm run or gm eval cost nothing")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="leave out the authors'-code fisher (one more pass a network)")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from greenmachine.baselines.published import baseline_scores
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.probe import probe_many
    from greenmachine.probe.cache import ProbeCache
    from greenmachine.baselines.reference.cache import ReferenceCache
    from greenmachine.baselines.reference.compute import reference_scores
    from greenmachine.spaces import get_space
    from greenmachine.spaces.nb101 import NASLIB_PROXIES, naslib_column

    torch.set_num_threads(1)
    space = get_space("nb101")
    benchmark = load_benchmark(space)
    header, rows = space.table_rows(space.table_path())
    naslib = {proxy: np.array([float(row[header.index(naslib_column(proxy))]) for row in rows])
              for proxy in NASLIB_PROXIES}
    indices = np.arange(len(benchmark))
    if args.subset is not None and args.subset < len(indices):
        indices = np.sort(np.random.default_rng(args.subset_seed).choice(indices, args.subset, replace=False))
    accuracy = benchmark.accuracy("cifar10")[indices]

    started = time.perf_counter()
    statistics = probe_many(space, indices, "cifar10", args.batch, args.seed, "cpu",
                            ProbeCache(args.cache_dir, grasp=args.grasp), grasp=args.grasp)
    probe_seconds = time.perf_counter() - started
    ours = baseline_scores(statistics)
    for row, statistic in LAYER_SUMS.items():
        ours[row] = np.array([float(np.sum(item.layer_statistics[statistic])) for item in statistics])
    reference_seconds, failures = 0.0, []
    if args.reference:
        started = time.perf_counter()
        reference = reference_scores(space, indices, "cifar10", args.batch, args.seed, ["fisher"], "cpu",
                                     ReferenceCache(args.reference_cache_dir))
        reference_seconds = time.perf_counter() - started
        ours["fisher (authors' code)"] = reference.values["fisher"]
        failures = reference.failures

    sample = (f"random subset of {len(indices)} (seed {args.subset_seed})" if len(indices) < len(benchmark)
              else f"all {len(indices)}")
    print(f"NAS-Bench-101, {sample} of NAS-Bench-Suite-Zero's 500 networks; ground truth val_accuracy "
          f"(one training repeat). Ours: batch {args.batch}, probe seed {args.seed}, CPU, one thread "
          f"(probe {probe_seconds:.0f} s, reference fisher {reference_seconds:.0f} s incl. cache hits; "
          f"GraSP pass {'run' if args.grasp else 'left out'}); "
          "NASLib: batch 64, CPU, one seed.")
    print(f"  {'proxy (ours)':36s} {'NASLib':10s} {'tau ours~NASLib':>15s} {'tau ours~acc':>12s} "
          f"{'tau NASLib~acc':>14s} {'n':>4s}")
    table = []
    for row, _how, theirs in PAIRS:
        if row == "fisher (authors' code)" and not args.reference:
            continue
        if row == "grasp" and not args.grasp:
            theirs_tau, n = kendall(naslib[theirs][indices], accuracy)
            print(f"  {'grasp: not computed (--no-grasp)':36s} {theirs:10s} {'':>15s} {'':>12s} {theirs_tau:14.3f} {n:4d}")
            table.append({"ours": None, "naslib": theirs, "tau_naslib_accuracy": theirs_tau, "n": n})
            continue
        agreement, n = kendall(ours[row], naslib[theirs][indices])
        ours_tau, _ = kendall(ours[row], accuracy)
        theirs_tau, _ = kendall(naslib[theirs][indices], accuracy)
        table.append({"ours": row, "naslib": theirs, "tau_ours_naslib": agreement, "tau_ours_accuracy": ours_tau,
                      "tau_naslib_accuracy": theirs_tau, "n": n})
        print(f"  {row:36s} {theirs:10s} {agreement:15.3f} {ours_tau:12.3f} {theirs_tau:14.3f} {n:4d}")
    others = [proxy for proxy in NASLIB_PROXIES if proxy not in {theirs for _, _, theirs in PAIRS}]
    for proxy in others:
        theirs_tau, n = kendall(naslib[proxy][indices], accuracy)
        print(f"  {'(none in our bank)':36s} {proxy:10s} {'':>15s} {'':>12s} {theirs_tau:14.3f} {n:4d}")
        table.append({"ours": None, "naslib": proxy, "tau_naslib_accuracy": theirs_tau, "n": n})
    for line in failures:
        print(f"  reference failure: {line}")
    if args.json is not None:
        args.json.write_text(json.dumps({"networks": [int(i) for i in indices], "batch": args.batch,
                                         "seed": args.seed, "rows": table}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
