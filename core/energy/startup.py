"""Choosing and starting a run's meter: :func:`make_meter`, the background :class:`MeterStartup`
and :func:`resolve_meter`.

Called by the engine (a profile's ``[energy]`` section), ``gm run`` (which starts the meter
before importing torch) and the tests.
"""

from __future__ import annotations

import threading
from typing import Optional, Union

from greenmachine.energy.codecarbon_meter import CodecarbonMeter
from greenmachine.energy.meter import EnergyMeter, NullMeter
from greenmachine.energy.readings import DEFAULT_COUNTRY


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


def resolve_meter(given: "Union[EnergyMeter, MeterStartup, None]", enabled: bool,
                  country: str = DEFAULT_COUNTRY) -> "tuple[EnergyMeter, bool]":
    """The meter a run uses, and whether the run owns it (and so closes it).

    ``given`` is what the caller passed: ``None`` (build one from the profile's ``enabled``
    and ``country``; owned), a :class:`MeterStartup` (join it; owned) or a meter (used as
    is; the caller closes it). Called by the engine and the seed-repeat runner.

    Raises
    ------
    EnergyMeterError
        The meter cannot be built (see :func:`make_meter`).
    """
    if given is None:
        return make_meter(enabled, country), True
    if isinstance(given, MeterStartup):
        return given.result(), True
    return given, False
