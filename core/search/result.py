"""The outcome of a zero-cost NAS: true accuracies looked up after the search, and its report.

Called by :mod:`greenmachine.search.run` once every search has ended (the strategies never see an
accuracy), and by the tests. Builds the ``report.json`` data (chosen networks with their true
accuracy and rank, the optimum of the space and under the constraint, the comparison guides'
mean ± sd over seeds, the hardware Pareto front, the energy per phase) and ``report.md``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from greenmachine.search.hardware import pareto_front
from greenmachine.search.strategies import SearchTrace


def rank_of(accuracy: float, accuracies: np.ndarray) -> int:
    """1 + the number of networks of ``accuracies`` strictly more accurate (ties share a rank)."""
    return 1 + int(np.count_nonzero(np.asarray(accuracies) > accuracy))


def network_row(index: int, benchmark: Any, accuracy: np.ndarray, feasible: np.ndarray,
                score: float | None = None, cost: np.ndarray | None = None) -> dict[str, Any]:
    """One network: index, arch, true accuracy, its rank in the space and among ``feasible``."""
    value = float(accuracy[index])
    row = {"index": int(index), "arch": benchmark.arch(int(index)), "accuracy": value,
           "rank": rank_of(value, accuracy), "rank_feasible": rank_of(value, accuracy[feasible]),
           "space_size": int(accuracy.size), "feasible_size": int(np.count_nonzero(feasible))}
    if score is not None:
        row["score"] = float(score) if np.isfinite(score) else None
    if cost is not None:
        row["cost"] = float(cost[index]) if np.isfinite(cost[index]) else None
    return row


def optimum(benchmark: Any, accuracy: np.ndarray, feasible: np.ndarray) -> dict[str, Any]:
    """The most accurate network of the space and the most accurate meeting the constraint."""
    best = int(np.argmax(accuracy))
    candidates = np.flatnonzero(feasible)
    best_feasible = int(candidates[np.argmax(accuracy[candidates])])
    return {"space": network_row(best, benchmark, accuracy, feasible),
            "feasible": network_row(best_feasible, benchmark, accuracy, feasible)}


def curve(trace: SearchTrace, accuracy: np.ndarray) -> np.ndarray:
    """True accuracy of the strategy's answer after each scored network."""
    return np.asarray(accuracy)[trace.chosen_after]


def comparison_summary(traces: Mapping[str, Sequence[tuple[int, SearchTrace]]], accuracy: np.ndarray,
                       benchmark: Any, feasible: np.ndarray) -> dict[str, Any]:
    """Per guide: the found network of each seed, mean ± sd of its accuracy and rank, and the curve.

    ``sd`` is the sample standard deviation (``ddof=1``; ``None`` for one seed).
    """
    summary = {}
    for guide, runs in traces.items():
        rows = []
        curves = []
        for seed, trace in runs:
            row = network_row(trace.chosen, benchmark, accuracy, feasible, score=float(trace.scores.max()))
            rows.append({"seed": int(seed), **row})
            curves.append(curve(trace, accuracy))
        found = np.array([row["accuracy"] for row in rows])
        ranks = np.array([row["rank"] for row in rows], dtype=np.float64)
        stacked = np.vstack(curves)
        summary[guide] = {
            "seeds": len(rows),
            "mean_accuracy": float(found.mean()),
            "sd_accuracy": float(found.std(ddof=1)) if len(rows) > 1 else None,
            "mean_rank": float(ranks.mean()),
            "median_rank": float(np.median(ranks)),
            "runs": rows,
            "curve_mean": stacked.mean(axis=0).tolist(),
            "curve_sd": (stacked.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros(stacked.shape[1])).tolist(),
        }
    return summary


def hardware_front(trace: SearchTrace, cost: np.ndarray, accuracy: np.ndarray, benchmark: Any,
                   feasible: np.ndarray) -> dict[str, Any]:
    """The proxy-score / hardware-cost Pareto front of the networks the search scored.

    Also the true accuracy / cost front of every feasible network (the reference a reader
    compares with).
    """
    indices, first = np.unique(trace.evaluated, return_index=True)
    scores = trace.scores[first]
    costs = np.asarray(cost)[indices]
    front = pareto_front(scores, costs)
    members = [network_row(int(indices[p]), benchmark, accuracy, feasible, score=float(scores[p]), cost=cost)
               for p in front]
    candidates = np.flatnonzero(feasible & np.isfinite(cost))
    true_front = candidates[pareto_front(accuracy[candidates], np.asarray(cost)[candidates])]
    return {
        "front": members,
        "scored": [{"index": int(i), "cost": float(c) if np.isfinite(c) else None, "accuracy": float(accuracy[i])}
                   for i, c in zip(indices, costs)],
        "space_front": [{"index": int(i), "cost": float(cost[i]), "accuracy": float(accuracy[i])} for i in true_front],
    }


def energy_phases(rows: Sequence[Any], meter_info: Mapping[str, Any]) -> dict[str, Any]:
    """Duration, energy and CO2 per phase from ``energy.csv`` rows, with how they were obtained."""
    phases: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = phases.setdefault(row.phase, {"spans": 0, "duration_s": 0.0, "energy_joules": 0.0, "co2_grams": 0.0})
        entry["spans"] += 1
        entry["duration_s"] += float(row.duration_s)
        for key in ("energy_joules", "co2_grams"):
            value = getattr(row, key)
            entry[key] = None if value is None or entry[key] is None else entry[key] + float(value)
    return {"phases": phases, "methods": dict(meter_info.get("methods") or {}), "meter": meter_info.get("meter"),
            "cpu_model": meter_info.get("cpu_model"), "country": meter_info.get("country")}


def _number(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "–"


def render_markdown(report: Mapping[str, Any]) -> str:
    """``report.md`` of a search."""
    settings = report["settings"]
    lines = [f"# gm search: {settings['guide']} on {report['space_title']} {settings['dataset']}", "",
             f"Strategy **{settings['strategy']}**, budget **{settings['budget']}** networks scored, seed "
             f"{settings['seed']}; constraint: {settings['constraint'] or 'none'}; objective: "
             f"{settings['objective'] or 'none'}. Ground truth: {report['ground_truth']} "
             "(looked up only after every search ended).", ""]
    found = report["found"]
    best = report["optimum"]
    lines += ["## Found network", "",
              "| | arch | true accuracy | rank in space | rank under constraint |", "|---|---|---|---|---|",
              f"| found | `{found['arch']}` | {found['accuracy']:.2f} | {found['rank']} / {found['space_size']} | "
              f"{found['rank_feasible']} / {found['feasible_size']} |",
              f"| best under constraint | `{best['feasible']['arch']}` | {best['feasible']['accuracy']:.2f} | "
              f"{best['feasible']['rank']} | 1 |",
              f"| best in space | `{best['space']['arch']}` | {best['space']['accuracy']:.2f} | 1 | – |", ""]
    comparison = report.get("comparison")
    if comparison:
        lines += [f"## Comparison over {comparison['seeds']} seeds (budget {comparison['budget']}, "
                  f"strategy {settings['strategy']}, seeds {comparison['seed_list'][0]}..{comparison['seed_list'][-1]})",
                  "", "| guide | found accuracy mean ± sd | mean rank | median rank |", "|---|---|---|---|"]
        for guide, row in comparison["guides"].items():
            lines.append(f"| {guide} | {row['mean_accuracy']:.2f} ± {_number(row['sd_accuracy'])} | "
                         f"{row['mean_rank']:.0f} | {row['median_rank']:.0f} |")
        lines.append("")
    hardware = report.get("hardware")
    if hardware and hardware.get("front") is not None:
        lines += [f"## Pareto front: proxy score against {hardware['objective']} ({hardware['unit']})", "",
                  "| arch | score | cost | true accuracy | rank |", "|---|---|---|---|---|"]
        for row in hardware["front"]:
            score = f"{row['score']:.4g}" if row["score"] is not None else "–"
            lines.append(f"| `{row['arch']}` | {score} | {_number(row['cost'], 3)} | "
                         f"{row['accuracy']:.2f} | {row['rank']} |")
        lines.append("")
    energy = report["energy"]
    lines += ["## Energy of the search", "", "| phase | spans | seconds | joules | CO2 g |", "|---|---|---|---|---|"]
    for phase, row in energy["phases"].items():
        lines.append(f"| {phase} | {row['spans']} | {row['duration_s']:.1f} | {_number(row['energy_joules'], 1)} | "
                     f"{_number(row['co2_grams'], 4)} |")
    methods = "; ".join(f"{key}: {value}" for key, value in energy["methods"].items()) or "not metered"
    lines += ["", f"How obtained: {methods}.", "",
              f"Probe: {report['probe']['networks_probed']} networks probed or read from the cache "
              f"({report['probe']['cache_hits']} cache hits), batch {report['probe']['batch_size']}, "
              f"seed {report['probe']['seed']}.", ""]
    for figure in report.get("figures", []):
        lines += [f"![{figure['title']}]({figure['png']})", ""]
    return "\n".join(lines)


__all__ = ["comparison_summary", "curve", "energy_phases", "hardware_front", "network_row", "optimum",
           "rank_of", "render_markdown"]
