"""The real meter: CPU/RAM energy from codecarbon's offline tracker, GPU energy from NVML.

Called by :func:`greenmachine.energy.make_meter` (a run with ``energy.enabled``), the metering
benchmarks in ``scripts/`` and the tests. Every codecarbon detail lives here.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Optional

from greenmachine.energy.meter import EnergyMeter
from greenmachine.energy.nvml import NvmlSampler
from greenmachine.energy.readings import (
    DEFAULT_COUNTRY,
    JOULES_PER_KWH,
    METHOD_RAM_ESTIMATED,
    EnergyMeterError,
    Segment,
    error_text,
)

_CPU_MODE_LABELS = {
    "intel_rapl": "measured (RAPL)",
    "intel_power_gadget": "measured (Intel Power Gadget)",
    "windows_emi": "measured (Windows Energy Meter Interface)",
    "cpu_load": "estimated (codecarbon CPU-load model)",
    "constant": "estimated (codecarbon constant-TDP model)",
}


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
            raise EnergyMeterError(f"codecarbon is not usable: {error_text(exc)}") from exc
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

    def _segment_end(self) -> Optional[Segment]:
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
        return Segment(
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
