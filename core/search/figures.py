"""The figures of a zero-cost NAS (``gm search``), drawn with matplotlib (Agg) as PNG and SVG.

Called by :mod:`greenmachine.search.run` at the end of a search, from the report data it writes
(``report.json``), so a figure can be redrawn from a finished run directory with
:func:`draw_search_figures`. matplotlib is imported here only, lazily.

* ``search_budget``: true accuracy of the network each guide would return after scoring
  ``b`` networks, mean ± sd over the comparison seeds (and the headline search), with the
  optimum of the space and under the constraint.
* ``search_pareto``: true accuracy against hardware cost of the networks the search scored,
  the proxy-score/cost Pareto front, the accuracy/cost front of the whole space, and the
  chosen network marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from greenmachine.errors import GMError
from greenmachine.search.guides import RANDOM


def _pyplot():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        raise GMError("the figures need matplotlib (pip install matplotlib)") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _context(report: Mapping[str, Any]) -> str:
    settings = report["settings"]
    text = f"{report['space_title']} {settings['dataset']}, {settings['strategy']}"
    if settings.get("constraint"):
        text += f", {settings['constraint']}"
    return text


def _save(figure: Any, folder: Path, stem: str, title: str) -> dict[str, str]:
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    figure.savefig(png, dpi=130, bbox_inches="tight")
    figure.savefig(svg, bbox_inches="tight")
    return {"name": stem, "title": title, "png": png.name, "svg": svg.name}


def budget_figure(report: Mapping[str, Any], folder: Path) -> dict[str, str]:
    """Found accuracy against budget for each guide; returns the figure's file names."""
    import numpy as np

    plt = _pyplot()
    settings = report["settings"]
    figure, axes = plt.subplots(figsize=(7.5, 4.8))
    comparison = report.get("comparison")
    best = report["optimum"]
    lows = []
    if comparison:
        for guide, row in comparison["guides"].items():
            mean, sd = np.asarray(row["curve_mean"]), np.asarray(row["curve_sd"])
            steps = np.arange(1, mean.size + 1)
            lows.append(float(np.min(mean[steps >= max(2, mean.size // 10)], initial=mean[-1])))
            label = f"{guide}: {row['mean_accuracy']:.2f} ± {(row['sd_accuracy'] or 0):.2f}"
            if guide == RANDOM:  # a band of ±10 points (one untrainable pick) would hide the others
                axes.plot(steps, mean, label=label + " (no band)", linewidth=1.2, color="tab:purple", linestyle="-.")
                continue
            line, = axes.plot(steps, mean, label=label, linewidth=1.6)
            axes.fill_between(steps, np.clip(mean - sd, 0, 100), np.clip(mean + sd, 0, 100), color=line.get_color(),
                              alpha=0.15)
        seeds = comparison["seed_list"]
        seed_text = f"seeds {seeds[0]}–{seeds[-1]} (n={len(seeds)}), budget {comparison['budget']}"
    else:
        seed_text = f"seed {settings['seed']}"
    headline = np.asarray(report["found_curve"])
    axes.plot(np.arange(1, headline.size + 1), headline, color="black", linestyle="--", linewidth=1.2,
              label=f"{settings['guide']}, headline search (seed {settings['seed']}, budget {settings['budget']})")
    axes.axhline(best["space"]["accuracy"], color="grey", linestyle=":", linewidth=1,
                 label=f"space optimum {best['space']['accuracy']:.2f}")
    if settings.get("constraint"):
        axes.axhline(best["feasible"]["accuracy"], color="tab:red", linestyle=":", linewidth=1,
                     label=f"optimum under constraint {best['feasible']['accuracy']:.2f}")
    if headline.size >= 20:
        from matplotlib.ticker import FuncFormatter

        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    lows.append(float(np.min(headline[max(1, headline.size // 10) - 1:])))
    # the first few networks of a random order can be untrainable (10 %): show the range that matters
    axes.set_ylim(max(0.0, min(lows) - 1.0), best["space"]["accuracy"] + 1.0)
    axes.set_xlabel("networks scored (budget)")
    axes.set_ylabel(f"true accuracy of the returned network (%)\n[{report['ground_truth']}]")
    title = (f"Found accuracy vs budget — {_context(report)}\n"
             f"guides over {seed_text}; mean ± sd band")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    legend_title = f"guide: found accuracy mean ± sd at budget {comparison['budget']}" if comparison else None
    axes.legend(fontsize=8, loc="best", title=legend_title, title_fontsize=8)
    result = _save(figure, folder, "search_budget", title.replace("\n", " "))
    plt.close(figure)
    return result


def pareto_figure(report: Mapping[str, Any], folder: Path) -> dict[str, str] | None:
    """Accuracy against hardware cost with the fronts and the chosen network; None without an objective."""
    hardware = report.get("hardware")
    if not hardware or not hardware.get("front"):
        return None
    plt = _pyplot()
    settings = report["settings"]
    figure, axes = plt.subplots(figsize=(7.5, 4.8))
    scored = [row for row in hardware["scored"] if row["cost"] is not None]
    axes.scatter([r["cost"] for r in scored], [r["accuracy"] for r in scored], s=10, color="tab:blue", alpha=0.45,
                 label=f"networks scored by the search (n={len(scored)})")
    space = hardware["space_front"]
    axes.step([r["cost"] for r in space], [r["accuracy"] for r in space], where="post", color="grey",
              linewidth=1, label="true accuracy/cost front of the candidates")
    front = sorted(hardware["front"], key=lambda r: r["cost"])
    axes.plot([r["cost"] for r in front], [r["accuracy"] for r in front], marker="o", color="tab:orange",
              linewidth=1.2, markersize=5, label=f"proxy-score/cost Pareto front (n={len(front)})")
    found = report["found"]
    if found.get("cost") is not None:
        axes.scatter([found["cost"]], [found["accuracy"]], marker="*", s=220, color="tab:red", zorder=5,
                     edgecolor="black", label=f"chosen (best score): {found['accuracy']:.2f}%, rank {found['rank']}")
    import numpy as np

    accuracies = np.array([r["accuracy"] for r in scored] or [0.0])
    bottom = max(0.0, float(np.percentile(accuracies, 10)) - 5.0)
    hidden = int(np.count_nonzero(accuracies < bottom))
    axes.set_ylim(bottom, report["optimum"]["space"]["accuracy"] + 1.0)
    if hidden:
        axes.text(0.01, 0.01, f"{hidden} scored network(s) below {bottom:.0f}% not shown", transform=axes.transAxes,
                  fontsize=8, color="grey")
    axes.set_xlabel(f"{hardware['objective']} ({hardware['unit']})")
    axes.set_ylabel(f"true accuracy (%) [{report['ground_truth']}]")
    title = (f"Accuracy vs {hardware['objective']} — {_context(report)}\n"
             f"guide {settings['guide']}, budget {settings['budget']}, seed {settings['seed']}")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    result = _save(figure, folder, "search_pareto", title.replace("\n", " "))
    plt.close(figure)
    return result


def draw_search_figures(report: Mapping[str, Any], folder: Path) -> list[dict[str, str]]:
    """Draw every figure of a search report into ``folder``; returns their descriptions."""
    folder = Path(folder)
    figures = [budget_figure(report, folder)]
    pareto = pareto_figure(report, folder)
    if pareto is not None:
        figures.append(pareto)
    return figures


__all__ = ["budget_figure", "draw_search_figures", "pareto_figure"]
