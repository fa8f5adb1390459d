"""Bank variant vs authors'-code version of each published proxy, on N networks of a space.

Usage::

    PYTHONPATH=. GM_DATA_DIR=... python scripts/reference_baselines_tau.py [--space tss]
        [--dataset cifar10] [--n 100] [--batch 16] [--seed 0] [--sampling random|stratified]
        [--sample-seed 0] [--baselines fisher,meco,...] [--bank-cache-dir DIR]
        [--reference-cache-dir DIR] [--device cpu]

Draws ``n`` networks (greenmachine.sampling.samples, ``--sampling`` / ``--sample-seed``), reads the bank
statistics from the probe cache (``--bank-cache-dir``, default ``$GM_CACHE_DIR``; read only:
networks missing there are probed in-process and not stored), computes the reference
baselines through their own cache (``--reference-cache-dir``, default
``$GM_REFERENCE_CACHE_DIR`` or the per-user folder; an interrupted run resumes) and prints,
per reference baseline: Kendall tau-b and Spearman rho between it and its bank variant, each
one's tau / rho against the benchmark's test accuracy, the seconds per network of the
reference computation, and the published correlation where known (whole-space figures of
the papers, see ``scripts/check_baselines_agreement.py: PUBLISHED`` for the sources; not a
target for a sample of n networks).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from check_baselines_agreement import PUBLISHED  # noqa: E402
from greenmachine.baselines.published import BASELINES, rank_correlations  # noqa: E402
from greenmachine.benchmark.tables import load_benchmark  # noqa: E402
from greenmachine.errors import GMError  # noqa: E402
from greenmachine.sampling.samples import draw_sample  # noqa: E402


def bank_values(space: str, indices: np.ndarray, dataset: str, batch: int, seed: int, root: str | None,
                statistics: list[str]) -> tuple[dict[str, np.ndarray], int]:
    """Bank network statistics of ``indices``: read from the probe cache, else probed in-process (never stored)."""
    import torch

    from greenmachine.benchmark.images import image_identity, minibatch
    from greenmachine.probe.cache import ProbeCache, default_cache_root
    from greenmachine.probe.engine import build_initialised, probe_model
    from greenmachine.spaces import get_space

    search_space = get_space(space)
    benchmark = load_benchmark(search_space)
    cache = ProbeCache(default_cache_root(root))
    identity = image_identity(dataset)
    values = {name: np.zeros(len(indices)) for name in statistics}
    computed = 0
    images = labels = None
    for position, index in enumerate(indices):
        arch = benchmark.arch(int(index))
        entry = cache.load(search_space.cache_name, int(index), dataset, batch, seed, arch=arch, device="cpu",
                           images=identity)
        if entry is None:
            if images is None:
                images, labels = minibatch(dataset, batch, seed)
            model = build_initialised(search_space, arch, dataset, seed, torch.device("cpu"))
            entry = probe_model(model, images, labels, seed)
            computed += 1
        for name in statistics:
            values[name][position] = entry.network_statistics[name]
    return values, computed


def bank_cached(space: str, dataset: str, batch: int, seed: int, root: str | None, count: int) -> np.ndarray:
    """Mask of the networks whose bank entry exists in the probe cache (file present; read later)."""
    from greenmachine.benchmark.images import image_identity
    from greenmachine.probe.cache import ProbeCache, default_cache_root
    from greenmachine.spaces import get_space

    cache = ProbeCache(default_cache_root(root))
    folder = cache.path(get_space(space).cache_name, 0, dataset, batch, seed, "cpu", image_identity(dataset)).parent
    mask = np.zeros(count, dtype=bool)
    for path in folder.glob("*.npz"):
        if path.stem.isdigit() and int(path.stem) < count:
            mask[int(path.stem)] = True
    return mask


def reference_cached(cache, space: str, indices: np.ndarray, dataset: str, batch: int, seed: int, names,
                     device: str) -> np.ndarray:
    """The networks of ``indices`` whose reference values of ``names`` are all in ``cache``."""
    import torch

    from greenmachine.benchmark.images import image_identity
    from greenmachine.probe.engine import resolve_device
    from greenmachine.spaces import get_space

    search_space = get_space(space)
    benchmark = load_benchmark(search_space)
    key = dict(device=torch.device(resolve_device(device)).type, images=image_identity(dataset))
    kept = [index for index in indices
            if set(names) <= set(cache.load_values(search_space.cache_name, int(index), dataset, batch, seed,
                                                   arch=benchmark.arch(int(index)), **key)[0])]
    return np.asarray(kept, dtype=np.int64)


def published(space: str, dataset: str, bank_name: str, reference_name: str) -> str:
    figures = PUBLISHED.get(space, {}).get(dataset, {})
    key = reference_name if reference_name in figures else bank_name
    tau, rho = figures.get(key, (None, None))
    if tau is None and rho is None:
        return "-"
    return f"{'-' if tau is None else f'{tau:.2f}'} / {'-' if rho is None else f'{rho:.2f}'} ({key})"


def main() -> int:
    from greenmachine.baselines.reference import reference_baselines
    from greenmachine.baselines.reference.cache import ReferenceCache
    from greenmachine.baselines.reference.compute import reference_scores, resolve_names

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--space", default="tss")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="probe seed (minibatch, weights, draws)")
    parser.add_argument("--sampling", choices=("random", "stratified"), default="random")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--baselines", default="", help="comma-separated reference baselines (default all)")
    parser.add_argument("--bank-cache-dir", default=os.environ.get("GM_CACHE_DIR"))
    parser.add_argument("--reference-cache-dir", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bank-cached-only", action="store_true",
                        help="draw only among networks whose bank statistics are in the probe cache (no probing)")
    parser.add_argument("--indices", default=None,
                        help="file of network indices (one a line, '#' comments) used instead of drawing a sample")
    parser.add_argument("--save-indices", default=None, help="write the networks used to this file")
    parser.add_argument("--report-only", action="store_true",
                        help="use only the drawn networks whose reference values are all cached (no computation)")
    args = parser.parse_args()

    try:
        names = resolve_names([n for n in args.baselines.split(",") if n] or None)
        entries = reference_baselines()
        benchmark = load_benchmark(args.space)
        accuracy = benchmark.accuracy(args.dataset)
        available = (bank_cached(args.space, args.dataset, args.batch, args.seed, args.bank_cache_dir, len(accuracy))
                     if args.bank_cached_only else np.ones(len(accuracy), dtype=bool))
        if args.indices:
            lines = Path(args.indices).read_text().splitlines()
            indices = np.array([int(line.split("#")[0]) for line in lines if line.split("#")[0].strip()], dtype=np.int64)
        else:
            indices = draw_sample(accuracy, args.n, args.sampling, np.random.default_rng(args.sample_seed), available)
        if args.save_indices:
            Path(args.save_indices).write_text("".join(f"{int(index)}\n" for index in indices))
        cache = ReferenceCache(args.reference_cache_dir,
                               on_problem=lambda message: print("warning:", message, file=sys.stderr))
        if args.report_only:
            indices = reference_cached(cache, args.space, indices, args.dataset, args.batch, args.seed, names, args.device)
        statistics = sorted({BASELINES[entries[n].bank_baseline].statistic for n in names if entries[n].bank_baseline})
        start = time.perf_counter()
        bank, probed = bank_values(args.space, indices, args.dataset, args.batch, args.seed, args.bank_cache_dir,
                                   statistics)
        bank_seconds = time.perf_counter() - start

        def progress(position, index, hit, seconds):
            print(f"  [{position + 1}/{len(indices)}] network {index}: {'cached' if hit else f'{seconds:.1f} s'}",
                  file=sys.stderr, flush=True)

        reference = reference_scores(args.space, indices, args.dataset, args.batch, args.seed, names,
                                     args.device, cache, progress)
    except GMError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in reference.failures:
        print("failed:", line, file=sys.stderr)

    truth = accuracy[indices]
    drawn = (f"the networks of {args.indices}" if args.indices
             else f"{args.sampling} sampling (seed {args.sample_seed})")
    subset = (
        " among the bank-cached networks" if args.bank_cached_only and not args.indices else "") + (
        " (only those with every reference value cached)" if args.report_only else "")
    print(f"{args.space} {args.dataset}: n={len(indices)} networks, {drawn}{subset}, "
          f"probe batch {args.batch}, seed {args.seed}, device {args.device}; ground truth "
          f"{benchmark.metric_columns[args.dataset]}")
    print(f"bank statistics: {len(indices) - probed} from the probe cache, {probed} probed in-process "
          f"({bank_seconds:.1f} s); reference cache {cache.root} (version {cache.bank_version}): "
          f"{reference.hits} networks cached, {reference.misses} computed")
    header = (f"{'reference baseline':34s} {'bank variant':12s} {'tau(bank,ref)':>13s} {'rho(bank,ref)':>13s} "
              f"{'tau bank/acc':>12s} {'tau ref/acc':>11s} {'rho ref/acc':>11s} {'s/network':>9s}  published tau / rho")
    print(header)
    print("-" * len(header))
    for name in names:
        entry = entries[name]
        values = reference.values[name]
        finite = np.isfinite(values)
        bank_name = entry.bank_baseline
        bank_scores = bank[BASELINES[bank_name].statistic] if bank_name else None
        pair = rank_correlations(bank_scores[finite], values[finite]) if bank_name else (float("nan"),) * 2
        bank_truth = rank_correlations(bank_scores, truth) if bank_name else (float("nan"),) * 2
        ref_truth = rank_correlations(values[finite], truth[finite])
        seconds = np.nanmean(reference.seconds[name]) if np.isfinite(reference.seconds[name]).any() else float("nan")
        print(f"{entry.label:34s} {bank_name or '-':12s} {pair[0]:13.3f} {pair[1]:13.3f} {bank_truth[0]:12.3f} "
              f"{ref_truth[0]:11.3f} {ref_truth[1]:11.3f} {seconds:9.2f}  "
              f"{published(args.space, args.dataset, bank_name or '', name)}"
              + ("" if finite.all() else f"  ({int((~finite).sum())} failed)"))
    print("published: whole-space figures of the papers (sources in scripts/check_baselines_agreement.py: PUBLISHED)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
