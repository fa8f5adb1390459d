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
:class:`CodecarbonMeter`
    CPU and RAM energy from codecarbon's :class:`~codecarbon.OfflineEmissionsTracker` (never
    the online tracker: no network), GPU energy from NVML through :class:`NvmlSampler`.
    CPU energy is *measured* when codecarbon can read RAPL and otherwise *estimated* from the
    CPU load and the CPU's TDP; RAM energy is always *estimated*. Every reading carries these
    labels in :attr:`EnergyReading.methods`.
:class:`NullMeter`
    Energy metering off: readings carry durations only, energies are ``None``.
:class:`FakeMeter`
    Deterministic meter for tests: constant watts times the duration on an injectable clock.
    It runs the same span bookkeeping as :class:`CodecarbonMeter`.

Nesting
-------
codecarbon measures one task at a time, but spans nest (a ``run`` span holds ``generation``
spans) and may even overlap. The meter therefore cuts time into *segments*: whenever any span
starts or stops, the codecarbon task in progress (if any) is stopped and, while at least one
span is still open, a new one is started. Every segment is measured exactly once and its
energy is added to *every* span open during it. A span's energy is thus the sum of the
segments inside its lifetime: an outer span contains its inner spans plus its own uncovered
time, with no double counting and no gap. A boundary costs one codecarbon
``stop_task``/``start_task`` pair (about a millisecond after warm-up). GPU energy does not
need segments: :class:`NvmlSampler` keeps per-device cumulative energy, and a span's GPU
energy is the difference between its start and stop snapshots.

CO2-eq is ``energy (kWh) x carbon intensity (g/kWh)`` of the configured country, taken from
codecarbon's offline energy-mix tables (the same figure codecarbon itself applies).
"""

from __future__ import annotations

import abc
import contextlib
import logging
import os
import platform
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional

from core.errors import GMError

__all__ = [
    "CSV_FIELDS",
    "DEFAULT_COUNTRY",
    "CodecarbonMeter",
    "EnergyMeter",
    "EnergyMeterError",
    "EnergyReading",
    "FakeClock",
    "FakeMeter",
    "GpuSpanResult",
    "MeterStartup",
    "NullMeter",
    "NvmlSampler",
    "SpanHandle",
    "cpu_model_name",
    "make_meter",
]

DEFAULT_COUNTRY = "USA"
"""Default ISO 3166-1 alpha-3 country code for the CO2 intensity of the electricity."""

JOULES_PER_WH = 3600.0
JOULES_PER_KWH = 3.6e6

METHOD_NOT_MEASURED = "not measured"
METHOD_RAM_ESTIMATED = "estimated (codecarbon RAM model)"
METHOD_NVML_COUNTER = "measured (NVML energy counter)"
METHOD_NVML_SAMPLING = "measured (NVML power sampling)"
METHOD_NVML_MIXED = "measured (NVML energy counter + power sampling)"

_CPU_MODE_LABELS = {
    "intel_rapl": "measured (RAPL)",
    "intel_power_gadget": "measured (Intel Power Gadget)",
    "windows_emi": "measured (Windows Energy Meter Interface)",
    "cpu_load": "estimated (codecarbon CPU-load model)",
    "constant": "estimated (codecarbon constant-TDP model)",
}


class EnergyMeterError(GMError):
    """The energy meter cannot be set up (unknown country code, codecarbon unusable)."""


# --------------------------------------------------------------------------------------------
# Readings
# --------------------------------------------------------------------------------------------

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
class _Segment:
    """Energy of one segment between two span boundaries (CPU and RAM only)."""

    cpu_joules: float
    ram_joules: float


class SpanHandle:
    """An open span returned by :meth:`EnergyMeter.start`.

    Attributes
    ----------
    name : str
        The span name.
    reading : EnergyReading or None
        Set when the span is stopped (also after leaving :meth:`EnergyMeter.span`).
    """

    __slots__ = (
        "name",
        "reading",
        "_id",
        "_t0",
        "_wall0",
        "_cpu",
        "_ram",
        "_gpu_token",
        "_meter",
    )

    def __init__(self, name: str, span_id: int, t0: float, wall0: float, meter: "EnergyMeter"):
        self.name = name
        self.reading: Optional[EnergyReading] = None
        self._id = span_id
        self._t0 = t0
        self._wall0 = wall0
        self._cpu = 0.0
        self._ram = 0.0
        self._gpu_token: Any = None
        self._meter = meter

    @property
    def is_open(self) -> bool:
        """Whether the span is still running."""
        return self.reading is None

    def __repr__(self) -> str:
        state = "open" if self.reading is None else "stopped"
        return f"SpanHandle({self.name!r}, {state})"


# --------------------------------------------------------------------------------------------
# Meter base class: span bookkeeping shared by every meter
# --------------------------------------------------------------------------------------------


class EnergyMeter(abc.ABC):
    """Measures energy per named span; spans may nest or overlap (see the module docstring).

    Subclasses supply the CPU/RAM backend through :meth:`_segment_begin` and
    :meth:`_segment_end` and optionally a GPU sampler; this class does the bookkeeping.
    All public methods are thread-safe.

    Parameters
    ----------
    clock : callable, optional
        Monotonic clock for durations (default :func:`time.perf_counter`).
    wall_clock : callable, optional
        Wall clock for ``start_time``/``end_time`` (default :func:`time.time`).
    """

    #: Short name of the meter kind, written by :meth:`describe`.
    kind = "abstract"
    #: Whether readings carry energy figures (``False`` only for :class:`NullMeter`).
    measures_energy = True

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.RLock()
        self._open: dict[int, SpanHandle] = {}
        self._next_id = 0
        self._closed = False
        self._gpu: Any = None  # object with begin() -> token, end(token) -> GpuSpanResult

    # -- backend hooks ------------------------------------------------------------------------

    @abc.abstractmethod
    def _segment_begin(self) -> None:
        """Start measuring CPU/RAM energy of a new segment."""

    @abc.abstractmethod
    def _segment_end(self) -> Optional[_Segment]:
        """Stop the segment in progress; return its energy (``None``: not measured)."""

    @property
    @abc.abstractmethod
    def methods(self) -> dict[str, str]:
        """How each part is obtained: ``{"cpu": ..., "ram": ..., "gpu": ...}``."""

    @property
    def country(self) -> Optional[str]:
        """ISO alpha-3 country code of the carbon intensity (``None`` if not applicable)."""
        return None

    @property
    def carbon_intensity_g_per_kwh(self) -> Optional[float]:
        """Carbon intensity used for CO2-eq, grams per kWh (``None``: no CO2 figure)."""
        return None

    # -- public API ---------------------------------------------------------------------------

    def start(self, name: str) -> SpanHandle:
        """Open a span named ``name`` and return its handle.

        Raises
        ------
        RuntimeError
            If the meter is closed.
        """
        with self._lock:
            self._check_open()
            self._cut_segment()
            handle = SpanHandle(str(name), self._next_id, self._clock(), self._wall_clock(), self)
            self._next_id += 1
            if self._gpu is not None:
                handle._gpu_token = self._gpu.begin()
            self._open[handle._id] = handle
            self._segment_begin()
            return handle

    def stop(self, handle: SpanHandle) -> EnergyReading:
        """Close the span of ``handle`` and return its reading (also stored on the handle).

        Raises
        ------
        ValueError
            If ``handle`` is not an open span of this meter.
        """
        with self._lock:
            self._check_handle(handle)
            self._cut_segment()
            del self._open[handle._id]
            gpu = self._gpu.end(handle._gpu_token) if self._gpu is not None else None
            reading = self._reading(handle, gpu)
            handle.reading = reading
            handle._gpu_token = None
            if self._open:
                self._segment_begin()
            return reading

    def peek(self, handle: SpanHandle) -> EnergyReading:
        """Reading of an open span so far, without closing it (for live power displays)."""
        with self._lock:
            self._check_handle(handle)
            if self._cut_segment():
                self._segment_begin()
            gpu = self._gpu.peek(handle._gpu_token) if self._gpu is not None else None
            return self._reading(handle, gpu)

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[SpanHandle]:
        """Context manager around :meth:`start`/:meth:`stop`.

        The span is stopped even when the block raises; its reading is on
        ``handle.reading`` after the block::

            with meter.span("generation-1") as s:
                ...
            events.emit(s.reading)
        """
        handle = self.start(name)
        try:
            yield handle
        finally:
            if handle.is_open and not self._closed:
                self.stop(handle)

    def open_spans(self) -> list[str]:
        """Names of the spans currently open, oldest first."""
        with self._lock:
            return [h.name for h in self._open.values()]

    def close(self) -> None:
        """Release the backend (threads, NVML). Open spans are discarded. Idempotent."""
        with self._lock:
            if self._closed:
                return
            if self._open:
                self._segment_end()
                self._open.clear()
            self._closed = True
            self._close_backend()

    def describe(self) -> dict[str, Any]:
        """How figures are obtained and on which machine (for reports and the TUI).

        Returns
        -------
        dict
            ``meter``, ``methods``, ``country``, ``carbon_intensity_g_per_kwh``,
            ``cpu_model``, ``cpu_count``, ``gpu_status``, ``gpu_models``, and
            meter-specific keys (e.g. ``codecarbon_version``).
        """
        gpu = self._gpu
        return {
            "meter": self.kind,
            "methods": dict(self.methods),
            "country": self.country,
            "carbon_intensity_g_per_kwh": self.carbon_intensity_g_per_kwh,
            "cpu_model": cpu_model_name(),
            "cpu_count": os.cpu_count(),
            "gpu_status": getattr(gpu, "status", "GPU metering off"),
            "gpu_models": list(getattr(gpu, "device_names", [])),
        }

    def __enter__(self) -> "EnergyMeter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _close_backend(self) -> None:
        if self._gpu is not None:
            self._gpu.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("energy meter is closed")

    def _check_handle(self, handle: SpanHandle) -> None:
        self._check_open()
        if not isinstance(handle, SpanHandle) or handle._meter is not self:
            raise ValueError(f"not a span of this meter: {handle!r}")
        if self._open.get(handle._id) is not handle:
            raise ValueError(f"span {handle.name!r} is not open (already stopped?)")

    def _cut_segment(self) -> bool:
        """End the segment in progress, if any, and add it to every open span."""
        if not self._open:
            return False
        segment = self._segment_end()
        if segment is not None:
            for open_handle in self._open.values():
                open_handle._cpu += segment.cpu_joules
                open_handle._ram += segment.ram_joules
        return True

    def _reading(self, handle: SpanHandle, gpu: Optional[GpuSpanResult]) -> EnergyReading:
        duration = max(0.0, self._clock() - handle._t0)
        wall_end = handle._wall0 + duration
        methods = self.methods
        if not self.measures_energy:
            return EnergyReading(
                name=handle.name,
                start_time=handle._wall0,
                end_time=wall_end,
                duration_s=duration,
                energy_joules=None,
                cpu_joules=None,
                ram_joules=None,
                gpu_joules=None,
                co2_grams=None,
                country=self.country,
                methods=methods,
            )
        total = handle._cpu + handle._ram + (gpu.joules if gpu is not None else 0.0)
        intensity = self.carbon_intensity_g_per_kwh
        return EnergyReading(
            name=handle.name,
            start_time=handle._wall0,
            end_time=wall_end,
            duration_s=duration,
            energy_joules=total,
            cpu_joules=handle._cpu,
            ram_joules=handle._ram,
            gpu_joules=gpu.joules if gpu is not None else None,
            co2_grams=None if intensity is None else total / JOULES_PER_KWH * intensity,
            country=self.country,
            gpu_mean_watts=gpu.mean_watts if gpu is not None else None,
            gpu_peak_watts=gpu.peak_watts if gpu is not None else None,
            methods=methods,
        )


# --------------------------------------------------------------------------------------------
# NVML GPU sampler
# --------------------------------------------------------------------------------------------


class _GpuToken:
    __slots__ = ("t0", "counters0", "integrals0", "peak")

    def __init__(self, t0: float, counters0: list, integrals0: list, peak: float):
        self.t0 = t0
        self.counters0 = counters0
        self.integrals0 = integrals0
        self.peak = peak


class NvmlSampler:
    """GPU power and energy through NVML (``pynvml`` from ``nvidia-ml-py``).

    Without a driver or GPU, ``nvmlInit`` fails at once: the sampler is then *unavailable*,
    :attr:`status` says ``"no GPU: <reason>"`` and nothing raises. With GPUs a daemon thread
    samples ``nvmlDeviceGetPowerUsage`` (mW) of every device every ``interval_s`` and
    integrates it (trapezoid) into a per-device cumulative energy; spans take snapshots at
    start and stop (with a fresh sample at each boundary). A device whose
    ``nvmlDeviceGetTotalEnergyConsumption`` (mJ) counter works uses the counter difference
    instead of the integral. Power figures are summed over devices.

    Parameters
    ----------
    interval_s : float
        Sampling period of the background thread (default 0.1 s).
    nvml : module, optional
        The ``pynvml`` module or a stand-in with the same functions (tests); default: import
        ``pynvml``.
    clock : callable
        Monotonic clock in seconds.
    start_thread : bool
        Start the sampling thread (tests may sample by hand with :meth:`sample_now`).
    """

    def __init__(
        self,
        interval_s: float = 0.1,
        *,
        nvml: Any = None,
        clock: Callable[[], float] = time.monotonic,
        start_thread: bool = True,
    ) -> None:
        self.interval_s = float(interval_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._tokens: set[_GpuToken] = set()
        self._handles: list = []
        self._has_counter: list[bool] = []
        self._integral: list[float] = []
        self._last: list[Optional[tuple[float, float]]] = []
        self._initialised = False
        self.device_names: list[str] = []
        self.available = False
        self.status = "no GPU: not initialised"
        self.last_power_watts: Optional[float] = None
        try:
            if nvml is None:
                import pynvml as nvml  # type: ignore[no-redef]
            self._nvml = nvml
            nvml.nvmlInit()
            self._initialised = True
            count = int(nvml.nvmlDeviceGetCount())
            if count <= 0:
                self.status = "no GPU: NVML reports no device"
                self._shutdown_nvml()
                return
            for index in range(count):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                name = nvml.nvmlDeviceGetName(handle)
                if isinstance(name, bytes):
                    name = name.decode("utf-8", "replace")
                self._handles.append(handle)
                self.device_names.append(str(name))
                self._has_counter.append(self._read_counter(handle) is not None)
                self._integral.append(0.0)
                self._last.append(None)
        except Exception as exc:  # NVMLError (no driver, no library) or anything odd
            self.status = f"no GPU: {_one_line(exc)}"
            self._handles = []
            self.device_names = []
            self._shutdown_nvml()
            return
        self.available = True
        self.status = f"{len(self._handles)} GPU(s): " + ", ".join(self.device_names)
        self.sample_now()
        if start_thread:
            self._thread = threading.Thread(
                target=self._run, name="gm-nvml-sampler", daemon=True
            )
            self._thread.start()

    @property
    def method(self) -> str:
        """Label of how GPU energy is obtained (``"absent (no GPU: ...)"`` if unavailable)."""
        if not self.available:
            return f"absent ({self.status})"
        if all(self._has_counter):
            return METHOD_NVML_COUNTER
        if not any(self._has_counter):
            return METHOD_NVML_SAMPLING
        return METHOD_NVML_MIXED

    def sample_now(self) -> Optional[float]:
        """Take one power sample of every device now; return the total watts."""
        with self._lock:
            return self._sample_locked(self._clock())

    def begin(self) -> Optional[_GpuToken]:
        """Snapshot for a span start (``None`` when unavailable)."""
        if not self.available:
            return None
        with self._lock:
            t = self._clock()
            total = self._sample_locked(t)
            token = _GpuToken(t, self._counters(), list(self._integral), total or 0.0)
            self._tokens.add(token)
            return token

    def end(self, token: Optional[_GpuToken]) -> Optional[GpuSpanResult]:
        """Close a span's snapshot and return its GPU energy and power."""
        result = self.peek(token)
        if token is not None:
            with self._lock:
                self._tokens.discard(token)
        return result

    def peek(self, token: Optional[_GpuToken]) -> Optional[GpuSpanResult]:
        """GPU figures of an open span so far."""
        if token is None or not self.available:
            return None
        with self._lock:
            t = self._clock()
            self._sample_locked(t)
            counters = self._counters()
            joules = 0.0
            for i in range(len(self._handles)):
                c0, c1 = token.counters0[i], counters[i]
                if c0 is not None and c1 is not None and c1 >= c0:
                    joules += (c1 - c0) / 1000.0
                else:
                    joules += self._integral[i] - token.integrals0[i]
            duration = t - token.t0
            mean = joules / duration if duration > 0 else token.peak
            return GpuSpanResult(joules=joules, mean_watts=mean, peak_watts=token.peak)

    def close(self) -> None:
        """Stop the thread and shut NVML down. Idempotent."""
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        with self._lock:
            self.available = False
            self._shutdown_nvml()

    # -- internals ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            try:
                self.sample_now()
            except Exception:  # never let the sampling thread die noisily
                pass

    def _sample_locked(self, t: float) -> Optional[float]:
        total = 0.0
        got = False
        for i, handle in enumerate(self._handles):
            try:
                watts = float(self._nvml.nvmlDeviceGetPowerUsage(handle)) / 1000.0
            except Exception:
                continue
            got = True
            last = self._last[i]
            if last is not None and t > last[0]:
                self._integral[i] += 0.5 * (watts + last[1]) * (t - last[0])
            self._last[i] = (t, watts)
            total += watts
        if not got:
            return None
        self.last_power_watts = total
        for token in self._tokens:
            if total > token.peak:
                token.peak = total
        return total

    def _read_counter(self, handle: Any) -> Optional[float]:
        try:
            return float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
        except Exception:
            return None

    def _counters(self) -> list[Optional[float]]:
        return [
            self._read_counter(h) if has else None
            for h, has in zip(self._handles, self._has_counter)
        ]

    def _shutdown_nvml(self) -> None:
        if self._initialised:
            self._initialised = False
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass


# --------------------------------------------------------------------------------------------
# Meters
# --------------------------------------------------------------------------------------------


class CodecarbonMeter(EnergyMeter):
    """CPU/RAM energy from codecarbon's ``OfflineEmissionsTracker``, GPU energy from NVML.

    The tracker is created with ``output_methods=[]`` (no CSV, no API), ``log_level="error"``,
    ``allow_multiple_runs=True`` (no ``/tmp/.codecarbon.lock``, no signal handlers, so
    concurrent runs and other codecarbon users never block us), ``emissions_endpoint=None``
    and ``electricitymaps_api_token=""`` (no network even if a ``.codecarbon.config`` sets
    them). It is warmed up once here (codecarbon's hardware detection takes ~2 s on first
    use); after that a span boundary costs about a millisecond.

    Parameters
    ----------
    country : str
        ISO 3166-1 alpha-3 code (``"USA"``, ``"FRA"``, ...) for the carbon intensity.
    gpu : bool
        Meter GPUs through NVML (absent GPUs are reported, never an error).
    nvml : module, optional
        Stand-in for ``pynvml`` (tests).
    gpu_interval_s : float
        NVML sampling period.

    Raises
    ------
    EnergyMeterError
        Unknown country code, or codecarbon cannot be imported or started.
    """

    kind = "codecarbon"

    def __init__(
        self,
        country: str = DEFAULT_COUNTRY,
        *,
        gpu: bool = True,
        nvml: Any = None,
        gpu_interval_s: float = 0.1,
    ) -> None:
        super().__init__()
        code = str(country).strip().upper()
        try:
            import codecarbon
            from codecarbon import OfflineEmissionsTracker
            from codecarbon.input import DataSource
        except Exception as exc:  # pragma: no cover - codecarbon is a dependency
            raise EnergyMeterError(f"codecarbon is not usable: {_one_line(exc)}") from exc
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        self.codecarbon_version = getattr(codecarbon, "__version__", "unknown")
        known = DataSource().get_global_energy_mix_data()
        if code not in known:
            examples = ", ".join(c for c in ("USA", "FRA", "DEU", "GBR", "CHN") if c in known)
            raise EnergyMeterError(
                f"unknown country code {country!r} for CO2 intensity "
                f"(ISO 3166-1 alpha-3, e.g. {examples})"
            )
        self._country = code
        self._country_name = str(known[code].get("country_name", code))
        self._intensity: Optional[float] = None
        self._tracker = OfflineEmissionsTracker(
            country_iso_code=code,
            output_methods=[],
            log_level="error",
            allow_multiple_runs=True,
            emissions_endpoint=None,
            electricitymaps_api_token="",
            project_name="greenmachine",
        )
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        # Warm-up: the first task triggers hardware detection (~2 s).
        self._segment_begin()
        segment = self._segment_end()
        if segment is None or getattr(self._tracker, "_hardware", None) is None:
            raise EnergyMeterError("codecarbon's offline tracker did not start")
        self._cpu_mode = self._detect_cpu_mode()
        self._methods = {
            "cpu": _CPU_MODE_LABELS.get(
                self._cpu_mode, f"estimated (codecarbon {self._cpu_mode} model)"
            ),
            "ram": METHOD_RAM_ESTIMATED,
            "gpu": "absent (GPU metering off)",
        }
        if gpu:
            self._gpu = NvmlSampler(gpu_interval_s, nvml=nvml)
            self._methods["gpu"] = self._gpu.method

    @property
    def methods(self) -> dict[str, str]:
        return dict(self._methods)

    @property
    def country(self) -> Optional[str]:
        return self._country

    @property
    def carbon_intensity_g_per_kwh(self) -> Optional[float]:
        return self._intensity

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(
            country_name=self._country_name,
            codecarbon_version=self.codecarbon_version,
            codecarbon_cpu_mode=self._cpu_mode,
            codecarbon_cpu_model=self._tracker._conf.get("cpu_model"),
        )
        return info

    def _segment_begin(self) -> None:
        self._tracker.start_task("segment")

    def _segment_end(self) -> Optional[_Segment]:
        data = self._tracker.stop_task()
        if data is None:
            return None
        # Keep the task list from growing over a long run (codecarbon keeps every task).
        tasks = getattr(self._tracker, "_tasks", None)
        if isinstance(tasks, dict):
            tasks.clear()
        if data.energy_consumed and data.energy_consumed > 0:
            # kg / kWh -> g / kWh; constant for an offline country, refreshed anyway.
            self._intensity = data.emissions / data.energy_consumed * 1000.0
        return _Segment(
            cpu_joules=max(0.0, float(data.cpu_energy)) * JOULES_PER_KWH,
            ram_joules=max(0.0, float(data.ram_energy)) * JOULES_PER_KWH,
        )

    def _detect_cpu_mode(self) -> str:
        for hardware in getattr(self._tracker, "_hardware", []) or []:
            if type(hardware).__name__ == "CPU":
                return str(getattr(hardware, "_mode", "unknown"))
        return "unknown"

    def _close_backend(self) -> None:
        super()._close_backend()
        monitor = getattr(self._tracker, "_scheduler_monitor_power", None)
        with contextlib.suppress(Exception):
            if monitor is not None:
                monitor.stop()


class NullMeter(EnergyMeter):
    """Energy metering off: readings carry names and durations, energies are ``None``."""

    kind = "off"
    measures_energy = False

    def _segment_begin(self) -> None:
        pass

    def _segment_end(self) -> Optional[_Segment]:
        return None

    @property
    def methods(self) -> dict[str, str]:
        return {"cpu": METHOD_NOT_MEASURED, "ram": METHOD_NOT_MEASURED, "gpu": METHOD_NOT_MEASURED}


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

    @property
    def country(self) -> Optional[str]:
        return self._country

    @property
    def carbon_intensity_g_per_kwh(self) -> Optional[float]:
        return self._intensity

    def _segment_begin(self) -> None:
        self._segment_t0 = self.clock()

    def _segment_end(self) -> Optional[_Segment]:
        if self._segment_t0 is None:
            return None
        dt = self.clock() - self._segment_t0
        self._segment_t0 = None
        self.segments_measured += 1
        return _Segment(cpu_joules=self.cpu_watts * dt, ram_joules=self.ram_watts * dt)


# --------------------------------------------------------------------------------------------
# Factory and helpers
# --------------------------------------------------------------------------------------------


def make_meter(enabled: bool, country: str = DEFAULT_COUNTRY, gpu: bool = True) -> EnergyMeter:
    """The meter for a run: :class:`CodecarbonMeter` when ``enabled``, else :class:`NullMeter`.

    Parameters
    ----------
    enabled : bool
        Measure energy (profile setting); ``False`` gives durations only.
    country : str
        ISO alpha-3 country code for the CO2 intensity.
    gpu : bool
        Meter GPUs through NVML when present.

    Raises
    ------
    EnergyMeterError
        See :class:`CodecarbonMeter`.
    """
    if not enabled:
        return NullMeter()
    return CodecarbonMeter(country, gpu=gpu)


class MeterStartup:
    """Build a run's meter on a background thread, so its start-up overlaps other work.

    codecarbon's first task runs its hardware detection (``py-cpuinfo`` in a subprocess,
    about 2 s here). ``gm run`` starts this right after reading the profile and before it
    imports torch and the engine (about 3 s), so a metered run does not wait for the
    detection. :meth:`result` joins the thread and returns the meter, or raises the error
    the construction raised (e.g. :class:`EnergyMeterError` for an unknown country).

    Parameters
    ----------
    enabled, country, gpu
        As for :func:`make_meter`.
    """

    def __init__(self, enabled: bool, country: str = DEFAULT_COUNTRY, gpu: bool = True) -> None:
        self._meter: Optional[EnergyMeter] = None
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(
            target=self._build, args=(enabled, country, gpu), name="gm-meter-startup", daemon=True
        )
        self._thread.start()

    def _build(self, enabled: bool, country: str, gpu: bool) -> None:
        try:
            self._meter = make_meter(enabled, country, gpu)
        except BaseException as error:  # re-raised in the caller's thread by result()
            self._error = error

    def result(self) -> EnergyMeter:
        """Wait for the meter and return it (raises what its construction raised)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._meter is not None
        return self._meter


_CPU_MODEL: Optional[str] = None


def cpu_model_name() -> str:
    """CPU model from ``/proc/cpuinfo`` (``model name``), else :func:`platform.processor`."""
    global _CPU_MODEL
    if _CPU_MODEL is None:
        name = ""
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    key, _, value = line.partition(":")
                    if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                        name = value.strip()
                        break
        except OSError:
            pass
        _CPU_MODEL = name or platform.processor() or platform.machine() or "unknown"
    return _CPU_MODEL


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"

