"""Wins of multi-task runs, cell by cell, and the run chosen on validation only.

Called by hand after ``gm run`` of a multi-task profile (the manual's results pages "One proxy
for several tasks"); not by the tests.

Each argument is a run directory (one evolution seed) or a seed folder of them. For every
run it prints the validation fitness (the aggregate over tasks, ``best_proxy.validation_tau``),
the number of cells the evolved proxy wins on the test samples against the cell's best
baseline (chosen by validation τ, as the report does), and each cell's test τ beside that
baseline's. The chosen run is the one with the highest validation fitness; test figures
are printed, never used to choose.

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
            rows.append((float(report["best_proxy"]["validation_tau"]), run, cells, report.get("fitness", {})))
    if not rows:
        sys.exit("no multi-task run among the arguments")
    tasks = [cell["task"] for cell in rows[0][2]]
    print("run | fitness | validation fitness | wins | " + " | ".join(f"{task} test tau (best baseline)" for task in tasks))
    print("|".join(["---"] * (4 + len(tasks))))
    for validation, run, cells, fitness in sorted(rows, key=lambda row: -row[0]):
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
        print(f"{run} | {label} | {validation:.4f} | {wins} of {len(cells)} | " + " | ".join(parts))
    print(f"chosen (highest validation fitness): {max(rows, key=lambda row: row[0])[1]}")


if __name__ == "__main__":
    main()
