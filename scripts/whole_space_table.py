"""Markdown table of whole-space evaluations (``gm eval PROXY --sample all --json OUT``).

Each argument is ``LABEL=PATH`` where PATH is a JSON file written by ``gm eval --json``.
Files sharing a LABEL (the same protocol with different evolution or probe seeds) are
aggregated into mean ± sample sd with the number of files stated (the top-of-ranking
columns, P@1 %, P@10 %, the accuracy of the network scored first and how many of the 10
best-scored networks are below the space's median accuracy: their mean over the files); a label with one file
prints its single value. Baselines are read from every file of a dataset: their τ differs
between files only by the networks each proxy's run excluded (its own search/validation
networks), so they are printed as the range (lowest–highest) over those files.

The anchors are the field's published whole-space figures on NAS-Bench-201 (= NATS-Bench
TSS) at batch 64 over 5 seeds (VKDNW, CVPR 2025 table), printed for reading the rows
against; they are not computed here.

Usage::

    python scripts/whole_space_table.py tss-cifar10-random=/path/a.json shipped=/path/b.json ...
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

#: Published whole-space Kendall τ on NAS-Bench-201 (CIFAR-10, CIFAR-100, ImageNet16-120),
#: from the VKDNW paper's table (CVPR 2025; batch 64, 5 seeds).
ANCHORS = (
    ("FLOPs", (".623", "–", "–")),
    ("jacob_cov", (".616", "–", "–")),
    ("NASWOT", (".571", "–", "–")),
    ("ZiCo", (".607", "–", "–")),
    ("AZ-NAS", (".712", ".696", ".673")),
    ("VKDNW_agg", (".750", ".753", ".743")),
    ("GRAF (learned predictor)", (".820", ".809", ".796")),
)
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def summarise(values: list[float]) -> str:
    """``mean ± sd (k)`` over several files, or the single value."""
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} ({len(values)})"


def span(values: list[float], digits: int = 4) -> str:
    """``lowest–highest`` over several files, or one value where they agree to ``digits``."""
    low, high = min(values), max(values)
    if round(low, digits) == round(high, digits):
        return f"{low:.{digits}f}"
    return f"{low:.{digits}f}–{high:.{digits}f}"


#: The top-of-ranking columns (keys of ``gm eval --json``; see greenmachine.stats.top_metrics): label, key, digits.
TOP_COLUMNS = (("P@1%", "precision_at_1pct", 2), ("P@10%", "precision_at_10pct", 2),
               ("top-1 acc", "top1_accuracy", 2), ("top-10 < median", "top10_below_median", 1))


def top_cells(group: list[dict], aggregate) -> str:
    """The top-of-ranking cells of a row: ``aggregate`` of each figure over the files (dash where absent)."""
    cells = []
    for _, key, digits in TOP_COLUMNS:
        values = [row[key] for row in group if row.get(key) is not None]
        cells.append(aggregate(values, digits) if len(values) == len(group) and values else "–")
    return " | ".join(cells)


def mean_of(values: list[float], digits: int) -> str:
    return f"{statistics.mean(values):.{digits}f}"



def read(arguments: list[str]) -> dict[str, dict[str, list[dict]]]:
    """``{dataset: {label: [result, ...]}}`` from ``LABEL=PATH`` arguments."""
    table: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for argument in arguments:
        if "=" not in argument:
            sys.exit(f"expected LABEL=PATH, got {argument!r}")
        label, path = argument.split("=", 1)
        file = Path(path)
        if not file.is_file():
            sys.exit(f"no such file: {file}")
        result = json.loads(file.read_text())
        if result.get("sampling", {}).get("mode") != "all":
            sys.exit(f"{file}: not a whole-space evaluation (sampling mode {result.get('sampling', {}).get('mode')!r})")
        table[f"{result['space']} {result['dataset']}"][label].append(result)
    return table


def main() -> None:
    arguments = sys.argv[1:]
    if not arguments:
        sys.exit("usage: python scripts/whole_space_table.py LABEL=EVAL_JSON [LABEL=EVAL_JSON ...]")
    for task, labels in sorted(read(arguments).items()):
        results = [result for group in labels.values() for result in group]
        sizes = sorted({result["n"] for result in results})
        probes = sorted({(result["probe"]["batch_size"], result["probe"]["seed"]) for result in results})
        print(f"### {task}: whole space, n = {'–'.join(str(size) for size in sizes)} "
              f"(minus each proxy's own search/validation networks), ground truth "
              f"{results[0]['ground_truth']}, probe batch/seed {probes}")
        print()
        top_header = " | ".join(label for label, _, _ in TOP_COLUMNS)
        print(f"| proxy | files | Kendall τ (evolved: mean ± sd (files); baselines: range) | Spearman ρ | {top_header} |")
        print("|---|---:|---:|---:|" + "---:|" * len(TOP_COLUMNS))
        for label, group in labels.items():
            print(f"| **{label}** | {len(group)} | {summarise([r['proxy']['kendall_tau'] for r in group])} | "
                  f"{summarise([r['proxy']['spearman_rho'] for r in group])} | "
                  f"{top_cells([r['proxy'] for r in group], mean_of)} |")
        baselines: dict[str, list[dict]] = defaultdict(list)
        for result in results:
            for name, values in result["proxies"].items():
                baselines[name].append(values)
        for name, group in sorted(baselines.items(), key=lambda item: -statistics.mean(v["kendall_tau"] for v in item[1])):
            print(f"| {name} | {len(group)} | {span([v['kendall_tau'] for v in group])} | "
                  f"{span([v['spearman_rho'] for v in group])} | {top_cells(group, span)} |")
        print()
    print("Published whole-space Kendall τ on NAS-Bench-201 (VKDNW, CVPR 2025; batch 64, 5 seeds):")
    print()
    print("| proxy | CIFAR-10 | CIFAR-100 | ImageNet16-120 |")
    print("|---|---:|---:|---:|")
    for name, values in ANCHORS:
        print(f"| {name} | {' | '.join(values)} |")


if __name__ == "__main__":
    main()
