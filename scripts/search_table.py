"""Markdown table of several ``gm search`` run directories, next to published proxy-guided searches.

Reads each run directory's ``report.json`` (written by :func:`greenmachine.search.run_search`) and
prints one row per (dataset, strategy, budget): mean ± sd of the found network's test
accuracy over the comparison seeds for every guide, the space optimum, and the energy of the
run (measured or estimated as the report says). Then the published figures that the same
protocol can be read against (cited below; NASWOT searches on CIFAR-10 only and reports the
chosen network's accuracy on each dataset, GreenMachine searches on each dataset).

Usage::

    python scripts/search_table.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: Published NAS-Bench-201 searches, test accuracy mean ± sd (CIFAR-10, CIFAR-100,
#: ImageNet16-120). Mellor et al., "Neural Architecture Search without Training", ICML 2021,
#: Table 2(a): 500 runs each; NASWOT scores N random networks on CIFAR-10 and keeps the best;
#: REA/RS are trained searches with a 12 000 s budget; "optimal (N)" is the best of the N.
PUBLISHED = (
    ("NASWOT (N=100), ICML 2021", ("92.81 ± 0.99", "69.48 ± 1.70", "43.10 ± 3.16")),
    ("NASWOT (N=1000), ICML 2021", ("92.96 ± 0.81", "69.98 ± 1.22", "44.44 ± 2.10")),
    ("optimal of N=100 random, ICML 2021", ("93.84 ± 0.23", "71.56 ± 0.78", "45.67 ± 0.64")),
    ("REA, trained, 12 000 s (ICML 2021 table)", ("93.92 ± 0.30", "71.84 ± 0.99", "45.54 ± 1.03")),
    ("random choice, ICML 2021", ("86.61 ± 13.46", "60.83 ± 12.58", "33.13 ± 9.66")),
)
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def row(run_dir: Path) -> tuple[tuple, str]:
    report = json.loads((run_dir / "report.json").read_text())
    settings = report["settings"]
    comparison = report.get("comparison") or {}
    guides = comparison.get("guides", {})
    cells = [f"{name} {values['mean_accuracy']:.2f} ± {values['sd_accuracy']:.2f}" for name, values in guides.items()]
    energy = report.get("energy", {}).get("phases", {}).get("run", {})
    joules = energy.get("energy_joules")
    methods = report.get("energy", {}).get("methods", {}).values()
    how = "estimated" if any(str(way).startswith("estimated") for way in methods) else "measured"
    optimum = report["optimum"]["feasible"]["accuracy"]
    key = (DATASETS.index(settings["dataset"]) if settings["dataset"] in DATASETS else 9, settings["strategy"],
           settings["budget"])
    text = (f"| {settings['space']} {settings['dataset']} | {settings['strategy']} | {settings['budget']} | "
            f"{comparison.get('seeds', 0)} seeds x budget {comparison.get('budget', '-')} | {' · '.join(cells)} | "
            f"{optimum:.2f} | {'-' if joules is None else f'{joules / 1000:.1f} kJ ({how})'} |")
    return key, text


def main() -> None:
    runs = [Path(argument) for argument in sys.argv[1:]]
    if not runs:
        sys.exit("usage: python scripts/search_table.py RUN_DIR [RUN_DIR ...]")
    missing = [str(run) for run in runs if not (run / "report.json").is_file()]
    if missing:
        sys.exit(f"no report.json in: {', '.join(missing)}")
    print("| space, dataset | strategy | budget | comparison | found test accuracy, mean ± sd over seeds | "
          "optimum | energy of the run |")
    print("|---|---|---:|---|---|---:|---:|")
    for _, text in sorted(row(run) for run in runs):
        print(text)
    print()
    print("Published (NAS-Bench-201 = NATS-Bench TSS, test accuracy, mean ± sd):")
    print()
    print("| search | CIFAR-10 | CIFAR-100 | ImageNet16-120 |")
    print("|---|---:|---:|---:|")
    for name, values in PUBLISHED:
        print(f"| {name} | {' | '.join(values)} |")


if __name__ == "__main__":
    main()
