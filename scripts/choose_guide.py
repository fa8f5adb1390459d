"""Choose a search guide among finished runs, on validation figures only.

Called by hand before ``gm search`` (the manual's results page "Zero-cost NAS"); not by the tests.

Each argument is a run directory (one evolution seed) or a seed folder of them. The rule,
fixed before any search ran: the run whose evolved proxy has the fewest of its 10
best-scored *validation* networks below the validation sample's median accuracy
(``top10_below_median``), then the highest validation P@10 %, then the highest validation
Kendall τ. The test sample is read only to be printed beside the choice, never to make it.
A run without a validation block of figures (one made before the block existed) is not a
candidate, and is named on stderr. A multi-task run has one validation part per task: name
the task with ``--dataset`` (``--dataset tss/cifar10``), or its first task is read.

Usage::

    python scripts/choose_guide.py RUN_OR_SEED_FOLDER [...] [--dataset ImageNet16-120]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from greenmachine.rundir.directory import RunDirectory  # noqa: E402


def runs_under(path: Path) -> list[Path]:
    """The finished run directories at or under ``path`` (the folder itself, or its children)."""
    if RunDirectory(path).is_completed():
        return [path]
    found = sorted(child for child in path.iterdir() if child.is_dir() and RunDirectory(child).is_completed())
    if not found:
        sys.exit(f"no finished run (report.json) at or under {path}")
    return found


def validation_key(figures: dict) -> tuple:
    """Sort key of the rule (smaller is better): below-median count, then -P@10 %, then -tau."""
    below = figures.get("top10_below_median")
    precision = figures.get("precision_at_10pct")
    return (float("inf") if below is None else below, -(precision or 0.0), -figures["kendall_tau"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--dataset", default=None, help="the dataset of the validation figures (default: the run's only one)")
    args = parser.parse_args()
    rows = []
    for path in args.paths:
        for run in runs_under(path):
            report = RunDirectory(run).read_report()
            if "validation" not in report:
                print(f"not a candidate (no validation figures in its report): {run}", file=sys.stderr)
                continue
            dataset = args.dataset or next(iter(report["validation"]))
            if dataset not in report["validation"]:
                print(f"not a candidate (no validation figures for {dataset}): {run}", file=sys.stderr)
                continue
            validation = report["validation"][dataset]["evolved"]
            test = report["test"][dataset]["evolved"]
            rows.append((validation_key(validation), run, validation, test, report["best_proxy"].get("fitness_metric")))
    if not rows:
        sys.exit("no candidate run has validation figures")
    rows.sort(key=lambda row: row[0])
    print("run | fitness | validation: top-10 < median, P@10%, tau | (test tau, printed only)")
    for key, run, validation, test, metric in rows:
        print(f"{run} | {metric} | {validation.get('top10_below_median')}, {validation.get('precision_at_10pct')}, "
              f"{validation['kendall_tau']:.4f} | ({test['kendall_tau']:.4f})")
    print(f"chosen: {rows[0][1]}")


if __name__ == "__main__":
    main()
