"""The meter base class: span bookkeeping shared by every meter, and the meter that measures nothing.

Called by the engine (through :func:`greenmachine.energy.make_meter`), the TUI (``peek`` for live
power) and the concrete meters (:mod:`greenmachine.energy.codecarbon_meter`, the test fakes in
:mod:`greenmachine.energy.testing`), which supply the CPU/RAM backend and optionally a GPU sampler.

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
"""

from __future__ import annotations

import abc
import contextlib
import os
import platform
import threading
import time
from typing import Any, Callable, Iterator, Optional

from greenmachine.energy.readings import JOULES_PER_KWH, METHOD_NOT_MEASURED, EnergyReading, GpuSpanResult, Segment


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
        self._country: Optional[str] = None  # set by meters that compute CO2-eq
        self._intensity: Optional[float] = None

    # -- backend hooks ------------------------------------------------------------------------

    @abc.abstractmethod
    def _segment_begin(self) -> None:
        """Start measuring CPU/RAM energy of a new segment."""

    @abc.abstractmethod
    def _segment_end(self) -> Optional[Segment]:
        """Stop the segment in progress; return its energy (``None``: not measured)."""

    @property
    @abc.abstractmethod
    def methods(self) -> dict[str, str]:
        """How each part is obtained: ``{"cpu": ..., "ram": ..., "gpu": ...}``."""

    @property
    def country(self) -> Optional[str]:
        """ISO alpha-3 country code of the carbon intensity (``None`` if not applicable)."""
        return self._country

    @property
    def carbon_intensity_g_per_kwh(self) -> Optional[float]:
        """Carbon intensity used for CO2-eq, grams per kWh (``None``: no CO2 figure)."""
        return self._intensity

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
        if self.measures_energy:
            total = handle._cpu + handle._ram + (gpu.joules if gpu is not None else 0.0)
            intensity = self.carbon_intensity_g_per_kwh
            figures = dict(
                energy_joules=total,
                cpu_joules=handle._cpu,
                ram_joules=handle._ram,
                gpu_joules=gpu.joules if gpu is not None else None,
                co2_grams=None if intensity is None else total / JOULES_PER_KWH * intensity,
                gpu_mean_watts=gpu.mean_watts if gpu is not None else None,
                gpu_peak_watts=gpu.peak_watts if gpu is not None else None,
            )
        else:
            figures = dict.fromkeys(("energy_joules", "cpu_joules", "ram_joules", "gpu_joules", "co2_grams"))
        return EnergyReading(
            name=handle.name,
            start_time=handle._wall0,
            end_time=wall_end,
            duration_s=duration,
            country=self.country,
            methods=self.methods,
            **figures,
        )


class NullMeter(EnergyMeter):
    """Energy metering off: readings carry names and durations, energies are ``None``."""

    kind = "off"
    measures_energy = False

    def _segment_begin(self) -> None:
        pass

    def _segment_end(self) -> Optional[Segment]:
        return None

    @property
    def methods(self) -> dict[str, str]:
        return {"cpu": METHOD_NOT_MEASURED, "ram": METHOD_NOT_MEASURED, "gpu": METHOD_NOT_MEASURED}


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

