"""Benchmark of the evolution engine on synthetic cached statistics (no network is touched).

Prints tree x network evaluations per second (batched population evaluation), Kendall
tau-b fitness time, seconds per generation for a population of 100 on 1000 networks, and
the total for a 100 x 50 evolution (target: under 60 s on a laptop-class CPU).

Usage::

    PYTHONPATH=. python scripts/bench_evolution.py [--networks 1000] [--population 100]
        [--generations 50] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from greenmachine.evolution import Evolution
from greenmachine.stats.fitness import kendall_tau_b
from greenmachine.proxy.evaluate import evaluate_population
from greenmachine.proxy.generate import Primitives, synthetic_table
from greenmachine.proxy.tree import Apply, LayerStatistic, NetworkStatistic
from greenmachine.settings.profile import EvolutionSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=1000)
    parser.add_argument("--validation", type=int, default=200)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    total = args.networks + args.validation
    table = synthetic_table(total, 40, 15, 10, 40, seed=args.seed, extreme=True).to(args.device)
    truth = Apply("subtract", (
        Apply("mean", (Apply("logarithm", (LayerStatistic("layer_statistic_03"),)),)),
        Apply("logarithm", (NetworkStatistic("network_statistic_01"),)),
    ))
    target = evaluate_population([truth], table)[0]
    target = target + 0.5 * target.std() * torch.randn(total, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(target.device)
    search = table.subset(range(args.networks))
    validation = table.subset(range(args.networks, total))
    print(f"synthetic table: {args.networks} search + {args.validation} validation networks, "
          f"{len(table.layer_statistic_names)} per-layer and {len(table.network_statistic_names)} network statistics, "
          f"{int(table.layer_mask.sum(1).min())}-{int(table.layer_mask.sum(1).max())} layers; "
          f"device {args.device}, {torch.get_num_threads()} thread(s)")

    # 1. raw batched evaluation throughput on fresh random populations
    primitives = Primitives(search.layer_statistic_names, search.network_statistic_names)
    rng = random.Random(args.seed)
    populations = [primitives.ramped_half_and_half(rng, args.population, 2, 5, 30) for _ in range(6)]
    evaluate_population(populations[0], search)  # warm-up
    start = time.perf_counter()
    nodes = 0
    for population in populations[1:]:
        scores = evaluate_population(population, search)
        nodes += sum(tree.size for tree in population)
    if scores.is_cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    evaluations = (len(populations) - 1) * args.population * args.networks
    print(f"evaluation: {evaluations / elapsed:,.0f} tree x network evaluations/s "
          f"({elapsed / (len(populations) - 1) * 1000:.1f} ms per population of {args.population}, "
          f"mean tree size {nodes / evaluations * args.networks:.1f})")
    start = time.perf_counter()
    for _ in range(5):
        kendall_tau_b(scores, target[: args.networks])
    print(f"fitness: Kendall tau-b of {args.population} x {args.networks} in "
          f"{(time.perf_counter() - start) / 5 * 1000:.1f} ms")

    # 2. a full evolution
    settings = EvolutionSettings(population=args.population, generations=args.generations, seed=args.seed)
    evolution = Evolution(settings, [search], [target[: args.networks]], [validation], [target[args.networks:]])
    start = time.perf_counter()
    seconds = []
    while not evolution.finished:
        result = evolution.step()
        seconds.append(result.seconds)
    total_seconds = time.perf_counter() - start
    best = evolution.best()
    print(f"evolution {args.population} x {args.generations} on {args.networks} networks: {total_seconds:.2f} s total, "
          f"{sum(seconds) / len(seconds):.3f} s per generation (max {max(seconds):.3f} s)")
    reference = kendall_tau_b(evaluate_population([truth], validation), target[args.networks:])
    print(f"(the noisy target's generating formula {truth} has validation tau {float(reference[0]):.3f})")
    print(f"best: tau search {best.search_tau:.3f}, validation {best.validation_tau:.3f}, size {best.size}: {best.tree}")
    print(f"target 100 x 50 under 60 s: {'met' if total_seconds < 60 or args.generations * args.population != 5000 else 'NOT met'}")


if __name__ == "__main__":
    main()
