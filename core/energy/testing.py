"""Deterministic stand-ins for tests and benchmarks: :class:`FakeMeter` and its :class:`FakeClock`.

Not used by any run. Imported by the tests (engine and energy tests) and by
``scripts/bench_energy_overhead.py``, which times the span bookkeeping without a backend;
that script is why the fakes live in the package rather than under ``tests/``.
"""

from __future__ import annotations

from typing import Callable, Optional

from greenmachine.energy.meter import EnergyMeter
from greenmachine.energy.readings import GpuSpanResult, Segment


class FakeClock:
    """Manual clock for :class:`FakeMeter`: starts at ``start``, moves only by :meth:`advance`."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += float(seconds)


class _FakeGpu:
    """Constant-power GPU for :class:`FakeMeter`."""

    status = "1 GPU(s): Fake GPU"
    device_names = ["Fake GPU"]

    def __init__(self, watts: float, clock: Callable[[], float]) -> None:
        self.watts = watts
        self._clock = clock

    def begin(self) -> float:
        return self._clock()

    def peek(self, t0: float) -> GpuSpanResult:
        dt = self._clock() - t0
        return GpuSpanResult(joules=self.watts * dt, mean_watts=self.watts, peak_watts=self.watts)

    end = peek

    def close(self) -> None:
        pass


class FakeMeter(EnergyMeter):
    """Deterministic meter for tests: constant watts times duration on an injectable clock.

    Uses the same span bookkeeping (segments, nesting) as :class:`CodecarbonMeter`, so a span
    of ``d`` seconds reads ``cpu_watts * d`` CPU joules, ``ram_watts * d`` RAM joules and,
    with ``gpu_watts``, ``gpu_watts * d`` GPU joules; CO2 is ``kWh * carbon_intensity``.

    Parameters
    ----------
    cpu_watts, ram_watts : float
        Constant CPU and RAM power.
    gpu_watts : float or None
        Constant GPU power; ``None``: no GPU (``gpu_joules`` is ``None``).
    clock : callable, optional
        Clock in seconds, also used as the wall clock; default a new :class:`FakeClock`
        (available as ``meter.clock``).
    carbon_intensity : float
        Grams CO2-eq per kWh.
    country : str
        Country code written on readings.
    """

    kind = "fake"

    def __init__(
        self,
        cpu_watts: float = 10.0,
        ram_watts: float = 5.0,
        gpu_watts: Optional[float] = None,
        *,
        clock: Optional[Callable[[], float]] = None,
        carbon_intensity: float = 400.0,
        country: str = "FAK",
    ) -> None:
        self.clock = clock if clock is not None else FakeClock()
        super().__init__(clock=self.clock, wall_clock=self.clock)
        self.cpu_watts = float(cpu_watts)
        self.ram_watts = float(ram_watts)
        self.gpu_watts = None if gpu_watts is None else float(gpu_watts)
        self._intensity = float(carbon_intensity)
        self._country = country
        self._segment_t0: Optional[float] = None
        self.segments_measured = 0
        if self.gpu_watts is not None:
            self._gpu = _FakeGpu(self.gpu_watts, self.clock)

    @property
    def methods(self) -> dict[str, str]:
        gpu = "absent (no GPU: fake meter without GPU)"
        if self.gpu_watts is not None:
            gpu = f"fake ({self.gpu_watts:g} W constant)"
        return {
            "cpu": f"fake ({self.cpu_watts:g} W constant)",
            "ram": f"fake ({self.ram_watts:g} W constant)",
            "gpu": gpu,
        }

    def _segment_begin(self) -> None:
        self._segment_t0 = self.clock()

    def _segment_end(self) -> Optional[Segment]:
        if self._segment_t0 is None:
            return None
        dt = self.clock() - self._segment_t0
        self._segment_t0 = None
        self.segments_measured += 1
        return Segment(cpu_joules=self.cpu_watts * dt, ram_joules=self.ram_watts * dt)

