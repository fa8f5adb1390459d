"""Turn a finished run directory into a shipped proxy (``core/proxies/<name>.json``).

Usage::

    PYTHONPATH=. python scripts/ship_proxy.py RUN_DIR NAME [--commit HASH] [--note TEXT]

Copies the run's ``best_proxy.json`` and adds a ``provenance`` block read from the run's
``report.json`` (through :class:`greenmachine.rundir.directory.RunDirectory`): profile, sampling, sample sizes,
seeds, statistic bank, validation and held-out test tau (with Spearman rho), the best
baseline on the same test networks, and the run's probe cost (seconds and joules per
network, as measured by the run, with how energy was obtained). Nothing is computed here:
every figure comes from the run.

A multi-task run (``benchmark.tasks``, see ``greenmachine.settings.tasks``) ships its tasks, fitness
(aggregate, normalisation) and per-task cells (test tau beside the best baseline of the task
chosen by validation tau); ``test_tau`` is then the minimum test tau over the tasks. A run
whose every network was a cache hit measured no probe cost, and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from greenmachine.rundir.directory import RunDirectory  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--commit", default="", help="the code the run was made with")
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    directory = RunDirectory(args.run_dir)
    best = directory.read_best_proxy()
    report = directory.read_report()
    dataset = report["datasets"][0]
    test = report["test"][dataset]
    baselines = {name: value for name, value in test["baselines"].items() if value["kendall_tau"] is not None}
    # the best baseline is chosen on the validation sample (never by test tau) when the run
    # recorded the baselines' validation taus; older runs did not, and say so
    validation = (report.get("validation") or {}).get(dataset, {}).get("baselines") or {}
    chosen = {name: value["kendall_tau"] for name, value in validation.items()
              if name in baselines and value["kendall_tau"] is not None}
    chosen_by = "validation tau" if chosen else "test tau (the run has no validation taus of the baselines)"
    chosen = chosen or {name: value["kendall_tau"] for name, value in baselines.items()}
    best_name = max(chosen, key=lambda name: chosen[name])
    probe_energy = report.get("energy", {})
    probe_phase = (probe_energy.get("phases") or {}).get("probe") or {}
    networks = max(int(report["probe"]["networks"]) - int(report["probe"]["cache_hits"]), 1)
    provenance = {
        "profile": report["profile"]["name"],
        "code": args.commit,
        "space": report["space"],
        "datasets": report["datasets"],
        "ground_truth": report["ground_truth_columns"],
        "sampling": report["sampling"],
        "probe": {k: report["probe"][k] for k in ("batch_size", "seed", "device", "bank_version")},
        "evolution": report["evolution"],
        "search_tau": best["search_tau"],
        "validation_tau": best["validation_tau"],
        "test_tau": test["evolved"]["kendall_tau"],
        "test_rho": test["evolved"]["spearman_rho"],
        "test_n": test["n"],
        "best_baseline": {"name": best_name, "test_tau": baselines[best_name]["kendall_tau"],
                          "test_rho": baselines[best_name]["spearman_rho"], "chosen_by": chosen_by},
        "probe_cost": {
            "whole_bank_joules_per_network": (probe_phase.get("energy_joules") or 0) / networks or None,
            "whole_bank_seconds_per_network": (probe_phase.get("duration_s") or 0) / networks or None,
            "energy_method": probe_energy.get("methods"),
            "note": "measured during the run, every pass of the bank, one CPU thread on a shared 2-core machine",
        },
        "note": args.note,
    }
    if int(report["probe"]["networks"]) == int(report["probe"]["cache_hits"]):
        provenance["probe_cost"] = {"note": "every network was a cache hit: this run measured no probe cost"}
    if report.get("cells"):
        multi_task_provenance(provenance, report)
    shipped = {**best, "name": args.name, "provenance": provenance}
    target = Path(__file__).resolve().parent.parent / "core" / "proxies" / f"{args.name}.json"
    target.write_text(json.dumps(shipped, indent=1) + "\n")
    if report.get("cells"):
        for cell in report["cells"]:
            base = cell.get("best_baseline") or {}
            print(f"{cell['task']}: test tau {cell['evolved']['test_tau']:.4f} (n={cell['n_test']}), best baseline "
                  f"by validation {base.get('name')} {base.get('test_tau')}")
        print(f"wrote {target}")
        return
    print(f"wrote {target}: test tau {provenance['test_tau']:.4f} (n={test['n']}), best baseline "
          f"{best_name} {baselines[best_name]['kendall_tau']:.4f}")


def multi_task_provenance(provenance: dict, report: dict) -> None:
    """Replace the single-dataset figures of ``provenance`` by the tasks and their cells."""
    cells = report["cells"]
    provenance.update({
        "space": "multi-task",
        "tasks": [cell["task"] for cell in cells],
        "fitness": report.get("fitness"),
        "sampling": dict(report["sampling"], stratified_on="each task's own dataset"),
        "task_sampling": report.get("tasks"),
        "cells": cells,
        "test_tau": min(cell["evolved"]["test_tau"] for cell in cells),
        "test_rho": min(cell["evolved"]["test_rho"] for cell in cells),
        "test_tau_note": "the minimum test tau over the tasks; each task's in cells",
        "test_n": {cell["task"]: cell["n_test"] for cell in cells},
        "best_baseline": {"name": "per task", "test_tau": None,
                          "note": "each task's best baseline (chosen by validation tau) is in cells"},
        "cells_won": sum(1 for cell in cells if cell.get("evolved_wins")),
    })


if __name__ == "__main__":
    main()
