"""Energy panel: current power, cumulative Wh and CO2-eq, per-phase split, method label."""

from __future__ import annotations

from typing import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from greenmachine.events import (
    PHASE_COMPARISON, PHASE_EVALUATION, PHASE_GENERATION, PHASE_PROBE, PHASE_RUN, PHASE_SEARCH, EnergySample,
)

#: The panel's groups: the whole run is shown as the total, never added to the sum.
PHASE_GROUPS = {PHASE_RUN: "total", PHASE_PROBE: "probe", PHASE_GENERATION: "generations",
                PHASE_EVALUATION: "evaluation", PHASE_SEARCH: "search", PHASE_COMPARISON: "comparison"}
#: Groups listed (even before their first span) by an evolution run's panel and a search's.
PHASE_ORDER = ("probe", "generations", "evaluation")
SEARCH_PHASE_ORDER = ("search", "comparison", "evaluation")


def _short(method: str) -> str:
    """Compact form of a meter's method string for the panel."""
    if method.lower().startswith("absent"):
        return "absent"
    return (method.replace("estimated", "est.").replace("measured (", "meas. (").replace("codecarbon ", "")
            .replace("not meas. (", "not measured ("))


def phase_group(phase: str) -> str:
    """The panel's group of an :class:`~greenmachine.events.EnergySample` phase (an unknown phase is its own group)."""
    return PHASE_GROUPS.get(phase, phase)


def method_label(methods: dict[str, str]) -> str:
    """Summarise how the energy was obtained: ``measured``, ``estimated`` or ``mixed``."""
    kinds = set()
    for value in methods.values():
        text = str(value).lower()
        if text.startswith("not ") or "unavail" in text or "absent" in text or text in ("none", "n/a", "off", "disabled"):
            continue
        if "estim" in text or "model" in text or "tdp" in text or "constant" in text:
            kinds.add("estimated")
        else:
            kinds.add("measured")
    if not kinds:
        return "not measured" if methods else "unknown"
    return kinds.pop() if len(kinds) == 1 else "mixed"


class EnergyPanel(Widget):
    """Shows the energy figures of :class:`greenmachine.events.EnergySample` events.

    ``cumulative_joules`` is the sum over all spans except whole-run totals; when a
    whole-run span arrives its figure is shown as the measured total beside it.
    """

    DEFAULT_CSS = """
    EnergyPanel { height: auto; }
    """

    def __init__(self, *, phases: Sequence[str] = PHASE_ORDER, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.phases = tuple(phases)
        self.reset()

    def reset(self) -> None:
        """Forget all samples."""
        self.samples: list[EnergySample] = []
        self.cumulative_joules = 0.0
        self.cumulative_co2_grams = 0.0
        self.current_watts: float | None = None
        self.gpu_watts: float | None = None
        self.per_phase_joules: dict[str, float] = {}
        self.total_sample: EnergySample | None = None
        self.methods: dict[str, str] = {}
        self.refresh()

    @property
    def cumulative_wh(self) -> float:
        """Cumulative energy of all (non-total) spans in watt-hours."""
        return self.cumulative_joules / 3600.0

    @property
    def method(self) -> str:
        """``measured`` / ``estimated`` / ``mixed`` / ``unknown``."""
        return method_label(self.methods)

    def add_sample(self, sample: EnergySample) -> None:
        """Account one finished energy span."""
        self.samples.append(sample)
        if sample.methods:
            self.methods.update({str(k): str(v) for k, v in dict(sample.methods).items()})
        group = phase_group(sample.phase)
        if group == "total":
            self.total_sample = sample
        else:
            joules = sample.energy_joules
            self.cumulative_joules += joules or 0.0
            self.cumulative_co2_grams += sample.co2_grams or 0.0
            self.per_phase_joules[group] = self.per_phase_joules.get(group, 0.0) + (joules or 0.0)
            if joules is not None and sample.duration_s and sample.duration_s > 0:
                self.current_watts = joules / float(sample.duration_s)
            if sample.gpu_mean_watts is not None:
                self.gpu_watts = float(sample.gpu_mean_watts)
        self.refresh(layout=True)

    def render(self) -> Group:
        table = Table.grid(padding=(0, 1))
        table.add_column(style="grey62", no_wrap=True, min_width=11)
        table.add_column(no_wrap=True, overflow="ellipsis")
        power = "—" if self.current_watts is None else f"{self.current_watts:.1f} W"
        if self.gpu_watts is not None:
            power += f"  (GPU {self.gpu_watts:.1f} W)"
        table.add_row("power", Text(power, style="bold"))
        energy = Text(f"{self.cumulative_wh:.4f} Wh", style="bold green")
        total_joules = self.total_sample.energy_joules if self.total_sample is not None else None
        if total_joules is not None:
            energy.append(f" (run {total_joules / 3600:.4f})", style="grey62")
        table.add_row("energy", energy)
        table.add_row("CO₂-eq", f"{self.cumulative_co2_grams:.3f} g")
        phases = list(self.phases) + sorted(k for k in self.per_phase_joules if k not in self.phases)
        for phase in phases:
            joules = self.per_phase_joules.get(phase, 0.0)
            share = joules / self.cumulative_joules * 100 if self.cumulative_joules > 0 else 0.0
            table.add_row(f" {phase}", f"{joules / 3600:.4f} Wh {share:4.0f}%")
        label = self.method
        style = {"measured": "green", "estimated": "yellow", "mixed": "yellow", "not measured": "red"}.get(label, "grey50")
        method = Text("method ", style="grey62")
        method.append(label, style=style)
        if self.methods:
            method.append(" — " + " · ".join(f"{part}: {_short(value)}" for part, value in self.methods.items()),
                          style="grey50")
        return Group(table, method)
