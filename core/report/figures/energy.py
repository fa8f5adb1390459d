"""Energy per phase and per generation (``figures/energy.png``), saying how it was obtained.

Drawn by :func:`greenmachine.report.figures.draw_run_figures` from ``energy.csv``; the caption names each
component's method (measured by RAPL/NVML, estimated by codecarbon's models, or absent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from greenmachine.report.figures.context import BASELINE_COLOUR, EVOLVED_COLOUR, MUTED_COLOUR, RunFigureData, new_figure, save, set_titles

STEM = "energy"
CAPTION = "Energy per phase and per generation (measured or estimated, as labelled)"
PHASES = ("probe", "generation", "evaluation")


def methods_caption(rows: Sequence[Any]) -> str:
    """How the energy was obtained, per component: ``cpu estimated (…); gpu absent``."""
    methods: dict[str, str] = {}
    for row in rows:
        for component, method in dict(row.methods).items():
            text = str(method)
            methods.setdefault(str(component), "absent" if text.startswith("absent") else text)
    if not methods:
        return "energy method not recorded"
    return "; ".join(f"{component.upper()} {text}" for component, text in sorted(methods.items()))


def _phase_totals(rows: Sequence[Any]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for phase in PHASES:
        values = [r.energy_joules for r in rows if r.phase == phase]
        if values and all(v is not None for v in values):
            totals[phase] = float(sum(values))
    runs = [r.energy_joules for r in rows if r.phase == "run"]
    if runs and all(v is not None for v in runs) and totals:
        outside = float(sum(runs)) - sum(totals.values())
        if outside > 0:
            totals["outside phases"] = outside
    return totals


def _label(joules: float) -> str:
    return f"{joules:.3g} J\n({joules / 3.6:.3g} mWh)" if joules < 3600 else f"{joules:.4g} J\n({joules / 3600:.3g} Wh)"


def draw(data: RunFigureData) -> list[Path] | str:
    """Draw the figure; return its files, or why it cannot be drawn."""
    from matplotlib.ticker import MaxNLocator

    rows = data.energy
    totals = _phase_totals(rows)
    generations = [r for r in rows if r.phase == "generation" and r.energy_joules is not None]
    if not totals:
        return "no energy was metered (energy disabled, or no span finished)"
    figure, (left, right) = new_figure(10.0, 4.4, ncols=2, width_ratios=[1, 1.4])
    names = list(totals)
    colours = [EVOLVED_COLOUR if n == "probe" else BASELINE_COLOUR if n == "generation" else MUTED_COLOUR for n in names]
    bars = left.bar(range(len(names)), [totals[n] for n in names], color=colours)
    values = list(totals.values())
    # a log scale only where the phases differ by orders of magnitude (and none is zero)
    logarithmic = min(values) > 0 and max(values) / min(values) > 30
    if logarithmic:
        left.set_yscale("log")
    left.set_xticks(range(len(names)), [n.replace(" ", "\n") for n in names], fontsize=8)
    left.set_ylabel("energy (J, log scale)" if logarithmic else "energy (J)")
    left.set_title("per phase (generations summed)", fontsize=9)
    left.bar_label(bars, labels=[_label(totals[n]) for n in names], fontsize=7, padding=2)
    if max(values) > 0:
        left.set_ylim(top=max(values) * (20 if logarithmic else 1.25))
    left.grid(axis="y", alpha=0.3)
    if generations:
        numbers = [int(r.span.rsplit("-", 1)[-1]) if r.span.rsplit("-", 1)[-1].isdigit() else i + 1
                   for i, r in enumerate(generations)]
        right.bar(numbers, [r.energy_joules for r in generations], color=BASELINE_COLOUR)
        right.set_xlabel("generation")
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        mean = sum(r.energy_joules for r in generations) / len(generations)
        right.axhline(mean, color="black", linewidth=0.8, linestyle="--", label=f"mean {mean:.3g} J")
        right.legend(fontsize=8, loc="upper right")
    else:
        right.text(0.5, 0.5, "no generation finished", ha="center", va="center", transform=right.transAxes)
    right.set_ylabel("energy (J)")
    right.set_title("per generation (step, checkpoint, hall of fame)", fontsize=9)
    right.grid(axis="y", alpha=0.3)
    total = sum(r.energy_joules for r in rows if r.phase == "run" and r.energy_joules is not None)
    title = f"Energy of the run: {total / 3600:.3g} Wh ({total:.4g} J) in all" if total else "Energy of the run"
    set_titles(figure, title, data.context(), "How obtained: " + methods_caption(rows))
    return save(figure, data.directory, STEM)
