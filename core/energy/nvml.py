"""GPU power and energy through NVML, for the codecarbon meter's GPU part.

Called by :class:`greenmachine.energy.codecarbon_meter.CodecarbonMeter` (one sampler per meter) and
by the tests, which pass a stand-in for ``pynvml``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from greenmachine.energy.readings import (
    METHOD_NVML_COUNTER,
    METHOD_NVML_MIXED,
    METHOD_NVML_SAMPLING,
    GpuSpanResult,
    error_text,
)


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
            self.status = f"no GPU: {error_text(exc)}"
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

