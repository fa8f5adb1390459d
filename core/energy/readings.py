"""Energy readings and their vocabulary: units, method labels, CSV columns, the meter's error.

Called by every other module of :mod:`greenmachine.energy` (the meters build readings), by the
engine (``energy.csv``, energy events), the run directory, the report and the tests
(:meth:`EnergyReading.from_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from greenmachine.errors import GMError

DEFAULT_COUNTRY = "USA"
"""Default ISO 3166-1 alpha-3 country code for the CO2 intensity of the electricity."""

JOULES_PER_WH = 3600.0
JOULES_PER_KWH = 3.6e6

METHOD_NOT_MEASURED = "not measured"
METHOD_RAM_ESTIMATED = "estimated (codecarbon RAM model)"
METHOD_NVML_COUNTER = "measured (NVML energy counter)"
METHOD_NVML_SAMPLING = "measured (NVML power sampling)"
METHOD_NVML_MIXED = "measured (NVML energy counter + power sampling)"


class EnergyMeterError(GMError):
    """The energy meter cannot be set up (unknown country code, codecarbon unusable)."""


def error_text(exc: BaseException) -> str:
    """One line naming ``exc`` and its message (for statuses and error messages)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"


CSV_FIELDS = (
    "name",
    "start_time",
    "end_time",
    "duration_s",
    "energy_joules",
    "energy_wh",
    "cpu_joules",
    "ram_joules",
    "gpu_joules",
    "co2_grams",
    "country",
    "gpu_mean_watts",
    "gpu_peak_watts",
    "cpu_method",
    "ram_method",
    "gpu_method",
)
"""Column order of :meth:`EnergyReading.to_dict` (use it as the header of ``energy.csv``)."""

_FLOAT_FIELDS = (
    "start_time",
    "end_time",
    "duration_s",
    "energy_joules",
    "cpu_joules",
    "ram_joules",
    "gpu_joules",
    "co2_grams",
    "gpu_mean_watts",
    "gpu_peak_watts",
)


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one finished (or, from :meth:`EnergyMeter.peek`, running) span.

    Attributes
    ----------
    name : str
        Span name given to :meth:`EnergyMeter.start`.
    start_time, end_time : float
        Wall-clock times, seconds since the epoch (for :class:`FakeMeter`: its clock).
    duration_s : float
        Span duration in seconds, from a monotonic clock.
    energy_joules : float or None
        Total energy, ``cpu + ram + gpu``; ``None`` when not measured (:class:`NullMeter`).
    cpu_joules, ram_joules : float or None
        CPU and RAM energy; ``None`` when not measured.
    gpu_joules : float or None
        GPU energy summed over devices; ``None`` without a GPU (or GPU metering off).
    co2_grams : float or None
        CO2-equivalent emissions of ``energy_joules`` in grams.
    country : str or None
        ISO alpha-3 country code of the carbon intensity used.
    gpu_mean_watts, gpu_peak_watts : float or None
        Mean and peak GPU power over the span, summed over devices; ``None`` without a GPU.
    methods : Mapping[str, str]
        How each part was obtained, keys ``"cpu"``, ``"ram"``, ``"gpu"``; e.g.
        ``"estimated (codecarbon CPU-load model)"``, ``"measured (RAPL)"``,
        ``"measured (NVML energy counter)"``, ``"absent (no GPU: ...)"``, ``"not measured"``.
        Do not mutate.
    """

    name: str
    start_time: float
    end_time: float
    duration_s: float
    energy_joules: Optional[float]
    cpu_joules: Optional[float]
    ram_joules: Optional[float]
    gpu_joules: Optional[float]
    co2_grams: Optional[float]
    country: Optional[str]
    gpu_mean_watts: Optional[float] = None
    gpu_peak_watts: Optional[float] = None
    methods: Mapping[str, str] = field(default_factory=dict, compare=True, hash=False)

    @property
    def energy_wh(self) -> Optional[float]:
        """Total energy in watt-hours (``None`` when not measured)."""
        return None if self.energy_joules is None else self.energy_joules / JOULES_PER_WH

    @property
    def measured(self) -> bool:
        """Whether this reading carries energy figures (``False`` for :class:`NullMeter`)."""
        return self.energy_joules is not None

    @property
    def mean_watts(self) -> Optional[float]:
        """Mean total power over the span (``None`` when not measured or zero duration)."""
        if self.energy_joules is None or self.duration_s <= 0:
            return None
        return self.energy_joules / self.duration_s

    def to_dict(self) -> dict[str, Any]:
        """Flat dict in :data:`CSV_FIELDS` order, for JSON lines and CSV rows.

        ``methods`` is flattened into ``cpu_method``, ``ram_method`` and ``gpu_method``;
        ``energy_wh`` is included. Missing figures are ``None``.
        """
        out: dict[str, Any] = {}
        for key in CSV_FIELDS:
            if key.endswith("_method"):
                out[key] = self.methods.get(key[: -len("_method")], "")
            else:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EnergyReading":
        """Rebuild a reading from :meth:`to_dict` output (also CSV rows of strings).

        Empty strings and ``None`` become ``None``; ``energy_wh`` is ignored (derived).
        """

        def number(value: Any) -> Optional[float]:
            if value is None or value == "":
                return None
            return float(value)

        kwargs: dict[str, Any] = {k: number(data.get(k)) for k in _FLOAT_FIELDS}
        for key in ("start_time", "end_time", "duration_s"):
            kwargs[key] = kwargs[key] if kwargs[key] is not None else 0.0
        methods = {}
        for part in ("cpu", "ram", "gpu"):
            label = data.get(f"{part}_method")
            if label:
                methods[part] = str(label)
        if not methods and isinstance(data.get("methods"), Mapping):
            methods = dict(data["methods"])
        country = data.get("country")
        return cls(
            name=str(data.get("name", "")),
            country=str(country) if country not in (None, "") else None,
            methods=methods,
            **kwargs,
        )


@dataclass(frozen=True)
class GpuSpanResult:
    """GPU figures of one span from a GPU sampler: energy (J), mean and peak power (W)."""

    joules: float
    mean_watts: float
    peak_watts: float


@dataclass
class Segment:
    """Energy of one segment between two span boundaries (CPU and RAM only)."""

    cpu_joules: float
    ram_joules: float

