"""One run's lifecycle: its meter, its event log and energy rows, its first and last events.

Used by the run controller (:mod:`greenmachine.run.controller`, single and multi-task; so by
``gm run``, ``gm run --resume``, seed repeats, the Python API and the TUI) and by ``gm search``
(:mod:`greenmachine.search.run`), so every run directory is metered, written and ended the
same way. The order of work::

    with RunLifecycle(sink, meter, enabled, country) as lifecycle:  # the meter, then the ``run`` span
        ...                                      # load data, make the run directory (no event log yet)
        lifecycle.open(directory, interrupted)   # events.jsonl + energy.csv, fanned out with ``sink``
        lifecycle.sink(RunStarted(...))
        span = lifecycle.start_span("probe", PHASE_PROBE)
        ...
        lifecycle.stop_span(span)                # one EnergySample event = one energy.csv row
        lifecycle.stop_span(lifecycle.run_span)
        ...                                      # the report (it reads energy.csv)
        lifecycle.finish("completed", message)   # the last event

If the meter cannot start, nothing is written. Once the log is open, an exception that leaves
the ``with`` block ends it with a failed :class:`greenmachine.events.RunFinished` carrying the
error's one line (a disk that refuses this event too is ignored: the error that caused it
wins); a :class:`KeyboardInterrupt` (a second Ctrl-C) first stops the spans in progress,
innermost first, so their energy rows are written and the report of a resumed run misses
nothing of this part, then ends the log with a failed ``RunFinished`` whose message is the
caller's ``interrupted`` text. In every case the log is closed, and so is the meter when the
run owns it (see :func:`greenmachine.energy.startup.resolve_meter`). The exception always
propagates.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Callable

from greenmachine.energy.readings import DEFAULT_COUNTRY
from greenmachine.energy.startup import resolve_meter
from greenmachine.errors import error_line
from greenmachine.events import PHASE_RUN, EnergySample, Event, FanOutSink, RunFinished
from greenmachine.rundir.directory import RunDirectory, RunDirectoryWriter

__all__ = ["RunLifecycle", "energy_sample"]


def energy_sample(reading: Any, phase: str) -> EnergySample:
    """The :class:`greenmachine.events.EnergySample` event of one finished energy span.

    Parameters
    ----------
    reading : EnergyReading
        What :meth:`greenmachine.energy.meter.EnergyMeter.stop` returned.
    phase : str
        The span's phase (``run``, ``probe``, ``generation``, ``evaluation``, ``search``, ...).
    """
    return EnergySample(span=reading.name, phase=phase, duration_s=reading.duration_s,
                        energy_joules=reading.energy_joules, co2_grams=reading.co2_grams,
                        cpu_joules=reading.cpu_joules, ram_joules=reading.ram_joules, gpu_joules=reading.gpu_joules,
                        gpu_mean_watts=reading.gpu_mean_watts, methods=dict(reading.methods))


class RunLifecycle:
    """The meter, event log and end of one run (see the module docstring); a context manager.

    Parameters
    ----------
    sink : callable
        The caller's event sink: after :meth:`open`, every event goes to the run directory's
        log first, then to it.
    meter : EnergyMeter or MeterStartup, optional
        As for :func:`greenmachine.energy.startup.resolve_meter`: ``None`` builds one from
        ``enabled`` and ``country``; a :class:`greenmachine.energy.MeterStartup` is joined; in
        both cases the run owns the meter and closes it. A plain meter stays the caller's.
    enabled : bool
        Meter energy when the lifecycle builds the meter itself.
    country : str
        ISO alpha-3 country code of the CO2 intensity, idem.
    """

    def __init__(self, sink: Callable[[Event], None], meter: Any = None, enabled: bool = True,
                 country: str = DEFAULT_COUNTRY) -> None:
        self._external_sink = sink
        self._given_meter = meter
        self._enabled = enabled
        self._country = country
        self._owns_meter = False
        self._writer: RunDirectoryWriter | None = None
        self._open_spans: list[tuple[Any, str]] = []
        self._interrupted = "interrupted"
        self._finished = False
        #: The resolved meter (set on entering the ``with`` block).
        self.meter: Any = None
        #: The span of the whole run (phase ``run``), started on entering the ``with`` block.
        self.run_span: Any = None
        #: The run directory, once :meth:`open` was called.
        self.directory: RunDirectory | None = None
        #: The fan-out sink (run directory log, then the caller's sink), once :meth:`open` was called.
        self.sink: Callable[[Event], None] | None = None

    # -- the with block ------------------------------------------------------------------------

    def __enter__(self) -> "RunLifecycle":
        # The meter first: if it cannot start, nothing is written.
        self.meter, self._owns_meter = resolve_meter(self._given_meter, self._enabled, self._country)
        try:
            self.run_span = self.start_span(PHASE_RUN, PHASE_RUN)
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        try:
            if error is not None and self.sink is not None and not self._finished:
                if isinstance(error, KeyboardInterrupt):
                    self._interrupt()
                elif isinstance(error, Exception):
                    try:
                        self.finish("failed", error_line(error))
                    except OSError:
                        pass  # a full or read-only disk refuses this event too: the error that caused it wins
        finally:
            self._close()
        return False

    def _interrupt(self) -> None:
        """An abort: the spans in progress still get their energy rows, and the run its last event."""
        for span, _ in reversed(list(self._open_spans)):
            self.stop_span(span)
        self.finish("failed", self._interrupted)

    def _close(self) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            if self._owns_meter:
                self.meter.close()

    # -- the log --------------------------------------------------------------------------------

    def open(self, directory: RunDirectory, interrupted: str = "interrupted") -> Callable[[Event], None]:
        """Open the run directory's event log (``events.jsonl``, ``energy.csv``); return the fan-out sink.

        Parameters
        ----------
        directory : RunDirectory
            The run directory (it must exist).
        interrupted : str
            The message of the failed ``RunFinished`` of an interrupted run (how to continue it).

        Returns
        -------
        callable
            :attr:`sink`: each event goes to the log, then to the caller's sink.
        """
        self._writer = directory.open_writer()
        self.directory = directory
        self._interrupted = interrupted
        self.sink = FanOutSink(self._writer, self._external_sink)
        return self.sink

    def finish(self, status: str, message: str) -> None:
        """Emit the run's last event, :class:`greenmachine.events.RunFinished`.

        Parameters
        ----------
        status : str
            ``completed``, ``stopped`` (resumable) or ``failed``.
        message : str
            Where the report is, or how to continue, or what went wrong.
        """
        assert self.sink is not None and self.directory is not None, "open() the log first"
        self.sink(RunFinished(status=status, run_dir=str(self.directory.path), message=message))
        self._finished = True

    # -- energy spans ---------------------------------------------------------------------------

    def start_span(self, name: str, phase: str) -> Any:
        """Start an energy span of ``phase`` (stopped by :meth:`stop_span`, or at an abort)."""
        span = self.meter.start(name)
        self._open_spans.append((span, phase))
        return span

    def stop_span(self, span: Any) -> None:
        """Stop a span of :meth:`start_span` and emit its :class:`greenmachine.events.EnergySample`."""
        phase = next(phase for open_span, phase in self._open_spans if open_span is span)
        self._open_spans = [(open_span, name) for open_span, name in self._open_spans if open_span is not span]
        self.sink(energy_sample(self.meter.stop(span), phase))
