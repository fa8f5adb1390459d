"""Compare the evolution's fitness metrics (``fitness.metric``) on validation figures only.

For each metric (``kendall``, ``weighted_kendall``) and each evolution seed, evolves a proxy
on a profile's search sample (the final proxy chosen on its validation sample by the same
metric, as ``gm run`` does) and reports, for that proxy, Kendall tau, the weighted tau,
P@10 % and the top-1 network's accuracy and rank on

* the validation sample (which also chose the final proxy: optimistic for the metric
  that chose it), and
* a second validation sample ("check"), drawn from the networks outside the profile's
  search, validation *and* test samples with its own seed: never used to evolve or to
  choose, so an unbiased comparison of the two metrics.

The test sample is never read (its networks are only kept out of the check sample).
Networks are probed through the cache (``--cache-dir``). Prints one table, and JSON lines
with ``--json``.

Usage::

    PYTHONPATH=. python scripts/fitness_metric_experiment.py --dataset ImageNet16-120 \\
        --search 200 --validation 150 --check 150 --population 100 --generations 15 --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from greenmachine.benchmark.tables import load_benchmark
from greenmachine.evaluation.evaluate import ProbePhase
from greenmachine.evolution import Evolution
from greenmachine.events import ListSink
from greenmachine.stats.fitness import FITNESS_METRICS, kendall_tau_b, weighted_kendall_tau
from greenmachine.proxy.evaluate import evaluate_population
from greenmachine.sampling.samples import draw_sample, draw_samples
from greenmachine.settings.profile import EvolutionSettings, profile_from_mapping
from greenmachine.stats.top_metrics import top_of_ranking


def figures(tree, table, target) -> dict:
    """Kendall tau, weighted tau and the top-of-ranking figures of one proxy on one sample."""
    scores = evaluate_population([tree], table)[0]
    top = top_of_ranking(scores.numpy(), target.numpy())
    return {"tau": float(kendall_tau_b(scores, target)[0]), "weighted_tau": float(weighted_kendall_tau(scores, target)[0]),
            "p_at_10": top["precision_at_10pct"], "top1_accuracy": top["top1_accuracy"], "top1_rank": top["top1_rank"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="tss")
    parser.add_argument("--dataset", default="ImageNet16-120")
    parser.add_argument("--sampling-seed", type=int, default=0)
    parser.add_argument("--search", type=int, default=200)
    parser.add_argument("--validation", type=int, default=150)
    parser.add_argument("--test", type=int, default=10, help="drawn (as a profile would) and never read")
    parser.add_argument("--check", type=int, default=150)
    parser.add_argument("--check-seed", type=int, default=1000)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--generations", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--metrics", nargs="+", default=list(FITNESS_METRICS), choices=FITNESS_METRICS)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--cache-dir", default="")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(1)

    profile = profile_from_mapping({
        "benchmark": {"space": args.space, "datasets": [args.dataset]},
        "sampling": {"mode": "random", "search": args.search, "validation": args.validation, "test": args.test,
                     "seed": args.sampling_seed},
        "probe": {"batch_size": args.batch_size, "seed": 0, "device": "cpu", "cache_dir": args.cache_dir},
    }, source="experiment")
    benchmark = load_benchmark(profile.space_name)
    accuracy = benchmark.accuracy(args.dataset)
    samples = draw_samples(accuracy, profile.sampling, str(benchmark.source))
    available = np.ones(len(accuracy), bool)
    available[samples.all_indices()] = False
    check = draw_sample(accuracy, args.check, "random", np.random.default_rng(args.check_seed), available)
    parts = {"search": samples.search, "validation": samples.validation, "check": check}
    start = time.perf_counter()
    phase = ProbePhase(profile.space_name, profile.probe, "cpu", ListSink(), total=sum(map(len, parts.values())))
    try:
        tables = {name: phase.table(indices, args.dataset) for name, indices in parts.items()}
    finally:
        phase.close()
    targets = {name: torch.as_tensor(accuracy[indices], dtype=torch.float64) for name, indices in parts.items()}
    print(f"{args.space} {args.dataset}: random samples (seed {args.sampling_seed}) search {args.search}, "
          f"validation {args.validation}, check {args.check} (seed {args.check_seed}, outside search/validation/test); "
          f"probe batch {args.batch_size} seed 0 cpu, {time.perf_counter() - start:.0f} s; "
          f"evolution population {args.population}, {args.generations} generations, seeds {args.seeds}")
    rows = []
    for metric in args.metrics:
        for seed in args.seeds:
            start = time.perf_counter()
            settings = EvolutionSettings(population=args.population, generations=args.generations, seed=seed)
            evolution = Evolution(settings, [tables["search"]], [targets["search"]], [tables["validation"]],
                                  [targets["validation"]], metric=metric)
            while not evolution.finished:
                evolution.step()
            best = evolution.best().tree
            row = {"metric": metric, "seed": seed, "seconds": time.perf_counter() - start, "formula": str(best),
                   **{part: figures(best, tables[part], targets[part]) for part in ("validation", "check")}}
            rows.append(row)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as stream:
                    stream.write(json.dumps(row) + "\n")
            print(f"{metric:16s} seed {seed}: {row['seconds']:.0f} s  {row['formula']}", flush=True)
    header = "  ".join(f"{part} {name}" for part in ("validation", "check")
                       for name in ("tau", "w-tau", "P@10%", "top-1 acc", "rank"))
    print(f"\n{'metric':16s} seed  {header}")
    for row in rows:
        cells = "  ".join(f"{row[part]['tau']:.3f} {row[part]['weighted_tau']:.3f} {row[part]['p_at_10']:.2f} "
                          f"{row[part]['top1_accuracy']:.2f} {row[part]['top1_rank']:.0f}" for part in ("validation", "check"))
        print(f"{row['metric']:16s} {row['seed']:4d}  {cells}")
    for metric in args.metrics:
        chosen = [row for row in rows if row["metric"] == metric]
        print(f"{metric:16s} mean over seeds: " + "; ".join(
            f"{part} tau {statistics.mean(r[part]['tau'] for r in chosen):.3f}, "
            f"P@10% {statistics.mean(r[part]['p_at_10'] for r in chosen):.2f}, "
            f"top-1 acc {statistics.mean(r[part]['top1_accuracy'] for r in chosen):.2f}" for part in ("validation", "check")))


if __name__ == "__main__":
    main()
