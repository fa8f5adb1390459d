"""What a probe cost on this machine: time, energy, and energy per probed network.

Called by ``gm probe`` (:mod:`greenmachine.tui.commands.evaluate`), which runs
:func:`greenmachine.evaluation.evaluate.probe_profile` or
:func:`greenmachine.evaluation.evaluate.probe_whole_space` through :func:`metered_probe` and
prints the :class:`ProbeCost` it returns. The energy is this machine's (CPU, RAM, GPU through
:mod:`greenmachine.energy`); each part says how it was obtained, measured (RAPL, NVML) or
estimated (codecarbon's CPU-load and RAM models). Networks found in the probe cache cost
nothing to probe, so the energy per network counts only the networks computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from greenmachine.probe.phase import ProbePhase


@dataclass(frozen=True)
class ProbeCost:
    """The networks a probe handled and what probing them cost on this machine.

    Attributes
    ----------
    phase : ProbePhase
        The finished probe phase: its counts (``done``, ``hits``), cache and executor.
    reading : EnergyReading
        The ``probe`` span of this machine's meter: the duration, and the energy when metered
        (``energy_joules`` is ``None`` with metering off).
    """

    phase: ProbePhase
    reading: Any

    @property
    def networks(self) -> int:
        """Networks handled, cache hits included."""
        return int(self.phase.counts["done"])

    @property
    def cached(self) -> int:
        """Networks found in the probe cache (not computed again)."""
        return int(self.phase.counts["hits"])

    @property
    def computed(self) -> int:
        """Networks probed by this call (``networks - cached``)."""
        return self.networks - self.cached

    @property
    def seconds(self) -> float:
        """Wall-clock seconds of the whole probe."""
        return float(self.reading.duration_s)

    @property
    def joules(self) -> float | None:
        """Energy of the whole probe on this machine (``None``: not metered)."""
        return self.reading.energy_joules

    @property
    def watt_hours(self) -> float | None:
        """:attr:`joules` in watt-hours (``None``: not metered)."""
        return self.reading.energy_wh

    @property
    def joules_per_network(self) -> float | None:
        """Energy per computed network (``None``: not metered, or every network was cached)."""
        if self.joules is None or self.computed == 0:
            return None
        return self.joules / self.computed

    @property
    def methods(self) -> Mapping[str, str]:
        """How each part's energy was obtained (``cpu``, ``ram``, ``gpu``): measured or estimated, and by what."""
        return self.reading.methods

    def describe_methods(self) -> str:
        """The :attr:`methods` as one line, ``cpu: ...; ram: ...; gpu: ...``."""
        return "; ".join(f"{part}: {way}" for part, way in self.methods.items())


def metered_probe(probe: Callable[[], ProbePhase], energy: bool = True) -> ProbeCost:
    """Run ``probe`` inside a ``probe`` span of this machine's energy meter.

    Parameters
    ----------
    probe : callable
        Probes and returns the finished phase, e.g. ``lambda: probe_profile(profile, sink)``.
    energy : bool
        Meter energy (codecarbon, NVML); ``False`` gives the duration only.

    Returns
    -------
    ProbeCost
        The phase with the span's reading.

    Raises
    ------
    GMError
        Whatever ``probe`` raises (the meter is closed first); a meter that cannot start
        (:class:`greenmachine.energy.EnergyMeterError`).
    """
    from greenmachine.energy import make_meter

    meter = make_meter(energy)
    span = meter.start("probe")
    try:
        phase = probe()
    finally:
        reading = meter.stop(span)
        meter.close()
    return ProbeCost(phase, reading)


__all__ = ["ProbeCost", "metered_probe"]
