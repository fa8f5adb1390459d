"""Wins of multi-task runs, cell by cell, and the run chosen on validation only.

Called by hand after ``gm run`` of a multi-task profile (the manual's results pages "One proxy
for several tasks"); not by the tests.

Each argument is a run directory (one evolution seed) or a seed folder of them. For every
run it prints the validation fitness (the aggregate over tasks, ``best_proxy.validation_tau``),
its cells won on the *validation* samples (evolved validation τ above the cell's best
baseline's validation τ) with the smallest validation margin, the number of cells the
evolved proxy wins on the test samples against the cell's best baseline (chosen by
validation τ, as the report does), and each cell's test τ beside that baseline's.

The chosen run, on validation figures only: the most cells won on validation, then the
largest smallest validation margin (comparable between fitness aggregates, unlike the
fitness itself). Test figures are printed, never used to choose.

Usage::

    python scripts/tasks_table.py RUN_OR_SEED_FOLDER [...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from greenmachine.rundir.directory import RunDirectory  # noqa: E402
from choose_guide import runs_under  # noqa: E402  (scripts/ is on the path of a script run from it)


def validation_key(cells: list[dict]) -> tuple[int, float]:
    """Cells won on validation, and the smallest validation margin (larger is better for both)."""
    margins = [cell["evolved"]["validation_tau"] - cell["best_baseline"]["validation_tau"] for cell in cells
               if cell.get("best_baseline") and cell["best_baseline"].get("validation_tau") is not None
               and cell["evolved"].get("validation_tau") is not None]
    if not margins:
        return 0, float("-inf")
    return sum(margin > 0 for margin in margins), min(margins)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args()
    rows = []
    for path in args.paths:
        for run in runs_under(path):
            report = RunDirectory(run).read_report()
            cells = report.get("cells")
            if not cells:
                print(f"not a multi-task run (no cells in its report): {run}", file=sys.stderr)
                continue
            rows.append((validation_key(cells), float(report["best_proxy"]["validation_tau"]), run, cells,
                         report.get("fitness", {})))
    if not rows:
        sys.exit("no multi-task run among the arguments")
    tasks = [cell["task"] for cell in rows[0][3]]
    print("run | fitness | validation fitness | validation wins, smallest margin | test wins | "
          + " | ".join(f"{task} test tau (best baseline)" for task in tasks))
    print("|".join(["---"] * (5 + len(tasks))))
    rows.sort(key=lambda row: row[0], reverse=True)
    for (validation_wins, smallest), validation, run, cells, fitness in rows:
        by_task = {cell["task"]: cell for cell in cells}
        wins = sum(bool(cell.get("evolved_wins")) for cell in cells)
        parts = []
        for task in tasks:
            cell = by_task.get(task)
            if cell is None:
                parts.append("–")
                continue
            baseline = cell["best_baseline"]
            mark = "**" if cell.get("evolved_wins") else ""
            parts.append(f"{mark}{cell['evolved']['test_tau']:.3f}{mark} ({baseline['name']} {baseline['test_tau']:.3f})")
        label = f"{fitness.get('normalise', 'none')}/{fitness.get('aggregate', 'min')}"
        print(f"{run} | {label} | {validation:.4f} | {validation_wins}, {smallest:+.4f} | {wins} of {len(cells)} | "
              + " | ".join(parts))
    print(f"chosen (most validation wins, then largest smallest validation margin): {rows[0][2]}")


if __name__ == "__main__":
    main()
