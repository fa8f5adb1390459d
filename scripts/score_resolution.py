"""How many distinct scores saved proxies give, against how many networks their statistics tell apart.

Called by hand (the manual's "Fitness and sampling", coarse scores); not by the tests. Reads
no accuracy: the figures are label-free (:mod:`greenmachine.stats.resolution`).

Each argument is a run directory (one evolution seed), a ``best_proxy.json`` or a shipped
proxy name. ``--on own`` scores a run's own search and validation samples, each apart (a run
directory is then needed); ``--on all`` scores every network of ``--space``/``--dataset``
(probed or read from the cache). Printed per proxy and sample: distinct scores, distinct
input rows (networks whose statistics read by the formula differ), networks tied at the
highest score, and whether the scores are coarse.

Usage::

    python scripts/score_resolution.py RUN_OR_PROXY [...] --on own
    python scripts/score_resolution.py RUN_OR_PROXY [...] --on all --space tss --dataset ImageNet16-120
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from greenmachine.benchmark.tables import load_benchmark  # noqa: E402
from greenmachine.evaluation.evaluate import profile_samples  # noqa: E402
from greenmachine.probe.phase import ProbePhase  # noqa: E402
from greenmachine.proxies import proxy_file  # noqa: E402
from greenmachine.proxy.evaluate import evaluate_population  # noqa: E402
from greenmachine.proxy.tree import tree_from_dict  # noqa: E402
from greenmachine.rundir.directory import BEST_PROXY_FILE, RunDirectory, read_proxy_file  # noqa: E402
from greenmachine.settings.profile import ProbeSettings  # noqa: E402
from greenmachine.stats.resolution import distinct_count, distinct_rows, is_coarse, table_rows  # noqa: E402


def probed_table(space: str, dataset: str, indices: np.ndarray, batch_size: int, seed: int):
    """The statistic table of ``indices`` (from the probe cache where it holds them)."""
    phase = ProbePhase(space, ProbeSettings(batch_size=batch_size, seed=seed, workers=1), "cpu", lambda event: None,
                       total=len(indices))
    try:
        return phase.table(np.asarray(indices), dataset)
    finally:
        phase.close()


def resolution_line(label: str, saved: dict, table) -> str:
    """One printed row: distinct scores, distinct input rows, networks tied at the top, coarse."""
    tree = tree_from_dict(saved["tree"], table.layer_statistic_names, table.network_statistic_names)
    scores = evaluate_population([tree], table)[0].cpu().numpy().astype(np.float64)
    layer, network = tree.statistics()
    inputs = distinct_rows(table_rows(table, layer | network))
    taken = distinct_count(scores)
    finite = scores[np.isfinite(scores)]
    tied = int((scores == finite.max()).sum()) if finite.size else 0
    return (f"{label} | n={len(scores)} | distinct scores {taken} | distinct input rows {inputs} | "
            f"tied at the top {tied} | {'COARSE' if is_coarse(taken, inputs) else 'resolved'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proxies", nargs="+")
    parser.add_argument("--on", choices=("own", "all"), default="own")
    parser.add_argument("--space", default="tss")
    parser.add_argument("--dataset", default=None, help="with --on all (default: the proxy's first dataset)")
    args = parser.parse_args()
    print("proxy, sample | n | distinct scores | distinct input rows | tied at the top | coarse?")
    tables: dict[tuple, object] = {}
    for name in args.proxies:
        source = proxy_file(name)
        path = source / BEST_PROXY_FILE if source.is_dir() else source
        saved = read_proxy_file(path)
        probe = saved.get("probe") or {}
        batch_size, seed = int(probe.get("batch_size", 16)), int(probe.get("seed", 0))
        if args.on == "own":
            if not source.is_dir():
                sys.exit(f"--on own needs a run directory, not {name}")
            profile = RunDirectory(source).read_profile()
            _, samples = profile_samples(profile)
            dataset = profile.benchmark.datasets[0]
            for label, indices in (("search", samples.search), ("validation", samples.validation)):
                table = probed_table(profile.space_name, dataset, indices, batch_size, seed)
                print(resolution_line(f"{name}, {label}", saved, table))
        else:
            dataset = args.dataset or (saved.get("datasets") or ["cifar10"])[0]
            key = (args.space, dataset, batch_size, seed)
            if key not in tables:
                everything = np.arange(len(load_benchmark(args.space).accuracy(dataset)))
                tables[key] = probed_table(args.space, dataset, everything, batch_size, seed)
            print(resolution_line(f"{name}, all of {args.space}/{dataset}", saved, tables[key]))


if __name__ == "__main__":
    main()
