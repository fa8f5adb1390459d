"""Energy meter: joules, Wh and CO2-eq per named span of work.

Who calls it
------------
The evolution engine wraps the probe phase, every generation, the final evaluation and the
whole run in *spans* (``with meter.span("generation-3") as s: ...``); each finished span gives
an :class:`EnergyReading`, which the engine emits as an event and writes to the run's
``energy.csv``. The TUI's energy panel (power, cumulative Wh, CO2) and the headless/markdown
report consume those readings; :meth:`EnergyMeter.describe` says how every figure was obtained.
Nothing here prints; codecarbon's logger is set to ``ERROR`` and it writes no file.

Meters
------
:class:`CodecarbonMeter` (:mod:`greenmachine.energy.codecarbon_meter`)
    CPU and RAM energy from codecarbon's :class:`~codecarbon.OfflineEmissionsTracker` (never
    the online tracker: no network), GPU energy from NVML through :class:`NvmlSampler`
    (:mod:`greenmachine.energy.nvml`). CPU energy is *measured* when codecarbon can read RAPL and
    otherwise *estimated* from the CPU load and the CPU's TDP; RAM energy is always
    *estimated*. Every reading carries these labels in :attr:`EnergyReading.methods`.
:class:`NullMeter` (:mod:`greenmachine.energy.meter`)
    Energy metering off: readings carry durations only, energies are ``None``.
``FakeMeter`` (:mod:`greenmachine.energy.testing`)
    Deterministic meter for tests and benchmarks: constant watts times the duration on an
    injectable clock. It runs the same span bookkeeping as :class:`CodecarbonMeter`. It is
    not imported with this package; ``greenmachine.energy.FakeMeter`` and ``greenmachine.energy.FakeClock``
    still resolve (lazily) for existing imports, new code imports :mod:`greenmachine.energy.testing`.

Modules
-------
:mod:`~greenmachine.energy.readings` (readings, units, method labels, the error),
:mod:`~greenmachine.energy.meter` (span bookkeeping, nesting, :class:`NullMeter`),
:mod:`~greenmachine.energy.nvml`, :mod:`~greenmachine.energy.codecarbon_meter`,
:mod:`~greenmachine.energy.startup` (:func:`make_meter`, :class:`MeterStartup`, :func:`resolve_meter`).

CO2-eq is ``energy (kWh) x carbon intensity (g/kWh)`` of the configured country, taken from
codecarbon's offline energy-mix tables (the same figure codecarbon itself applies).
"""

from __future__ import annotations

from typing import Any

from greenmachine.energy.codecarbon_meter import CodecarbonMeter
from greenmachine.energy.meter import EnergyMeter, NullMeter, SpanHandle, cpu_model_name
from greenmachine.energy.nvml import NvmlSampler
from greenmachine.energy.readings import (
    CSV_FIELDS,
    DEFAULT_COUNTRY,
    JOULES_PER_KWH,
    JOULES_PER_WH,
    METHOD_NOT_MEASURED,
    METHOD_NVML_COUNTER,
    METHOD_NVML_MIXED,
    METHOD_NVML_SAMPLING,
    METHOD_RAM_ESTIMATED,
    EnergyMeterError,
    EnergyReading,
    GpuSpanResult,
)
from greenmachine.energy.startup import MeterStartup, make_meter, resolve_meter

__all__ = [
    "CSV_FIELDS",
    "DEFAULT_COUNTRY",
    "CodecarbonMeter",
    "EnergyMeter",
    "EnergyMeterError",
    "EnergyReading",
    "GpuSpanResult",
    "MeterStartup",
    "NullMeter",
    "NvmlSampler",
    "SpanHandle",
    "cpu_model_name",
    "make_meter",
    "resolve_meter",
]

#: Test stand-ins that resolve lazily from :mod:`greenmachine.energy.testing`.
_TESTING_NAMES = ("FakeClock", "FakeMeter")


def __getattr__(name: str) -> Any:
    if name in _TESTING_NAMES:
        from greenmachine.energy import testing

        return getattr(testing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
