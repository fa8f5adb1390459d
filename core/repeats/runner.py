"""Repeated runs of one profile over evolution seeds x probe seeds, written into one folder.

Called by ``gm run PROFILE --seeds/--repeat/--probe-seeds`` (``greenmachine.tui.commands.repeat``) and
the tests. The field reports every quality figure as mean ± sd over several evolution seeds
and several probe seeds (the probe seed draws the minibatch and the network weights), so a
*repeat folder* holds one ordinary run directory per combination,
``<folder>/evolution-<E>-probe-<P>/`` (the usual run-directory contract,
:mod:`greenmachine.rundir.directory`), a ``plan.json`` (the profile and the seed lists) and the summary of
:mod:`greenmachine.repeats.summary` (``summary.json``, ``summary.md``).

Each combination is an ordinary run: a controller of :mod:`greenmachine.run.factory`, with its
:class:`greenmachine.run.lifecycle.RunLifecycle` (event log, energy spans, last event); the
runner adds only one meter shared by every run and the loop. The runs are sequential and
share the probe cache, so a probe seed's networks are probed once and reused by every
evolution seed. :class:`RepeatRunner` skips combinations whose
run directory is complete, continues an interrupted one (:func:`greenmachine.run.factory.resume_controller`)
and writes the summary however the loop ends (a partial one names the missing
combinations), so rerunning the same command resumes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from greenmachine.energy.startup import resolve_meter
from greenmachine.errors import GMError
from greenmachine.events import LogMessage
from greenmachine.files import atomic_write_json
from greenmachine.run.factory import make_controller, resume_controller
from greenmachine.rundir.directory import PROFILE_FILE, RunDirectory

from greenmachine.repeats.plan import (  # noqa: F401  (re-exported: the runner's public names)
    Combination,
    PLAN_FILE,
    PLAN_KIND,
    RepeatPlan,
    combination_profile,
    comparable_settings,
    parse_repeat,
    parse_seed_list,
    plan_from_options,
    prepare_folder,
    read_plan,
)
from greenmachine.repeats.summary import write_summary


class RepeatRunner:
    """Run every combination of a plan in turn, then write the folder's summary.

    ``request_stop`` / ``stop_requested`` have the meaning of :class:`greenmachine.run.controller.RunController`'s
    (the current run stops after its current network or generation, and no further run
    starts), so ``gm run`` installs the same Ctrl-C handler on either.

    Parameters
    ----------
    plan : RepeatPlan
        Checked with :func:`prepare_folder` first.
    folder : Path
        The repeat folder (created when missing).
    sink : callable
        Receives every event of every run, and a ``LogMessage`` per combination.
    meter : EnergyMeter or MeterStartup, optional
        One meter for every run (each run's report has its own spans); default from the
        profile's ``[energy]`` section. It is closed at the end unless it is a plain meter
        the caller gave.
    """

    def __init__(self, plan: RepeatPlan, folder: Path, sink: Callable[[Any], None], meter: Any = None) -> None:
        self.plan = plan
        self.folder = Path(folder)
        self._sink = sink
        self._meter = meter
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._controller: Any = None

    def request_stop(self) -> None:
        """Stop the current run after its current step, and start no further run."""
        with self._lock:
            self._stop.set()
            if self._controller is not None:
                self._controller.request_stop()

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`request_stop` was called."""
        return self._stop.is_set()

    def run(self) -> dict[str, Any]:
        """Run what is missing and return the summary (:func:`greenmachine.repeats.summary.summarize`).

        The summary is written however the loop ends: finished, stopped, failed or
        interrupted (then it is partial and names the missing combinations).
        """
        profile = self.plan.profile
        meter, owns_meter = resolve_meter(self._meter, profile.energy.enabled, profile.energy.country)
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / PLAN_FILE).is_file():
            atomic_write_json(self.folder / PLAN_FILE, self.plan.to_dict())
        combinations = self.plan.combinations()
        ended_normally = False
        try:
            for number, combination in enumerate(combinations, start=1):
                if self.stop_requested:
                    break
                directory = RunDirectory(self.folder / combination.name)
                where = f"run {number}/{len(combinations)} {combination.name}"
                if directory.is_completed():
                    self._sink(LogMessage(level="info", message=f"{where}: already complete, skipped"))
                    continue
                self._sink(LogMessage(level="info", message=f"{where}: starting ({self.plan.describe()})"))
                if not self._run_one(directory, combination, meter):
                    break
            ended_normally = True
        finally:
            if owns_meter:
                meter.close()
            if ended_normally:
                summary = write_summary_quietly(self.folder, strict=True)
            else:
                # an error or a second Ctrl-C is on its way: a partial summary, never a second error
                summary = write_summary_quietly(self.folder, strict=False)
        return summary

    def _run_one(self, directory: RunDirectory, combination: Combination, meter: Any) -> bool:
        """Run (or continue) one combination; True when its run completed."""
        if directory.is_run_directory():
            controller = resume_controller(directory.path, self._sink, meter=meter)
            if (controller.profile.evolution.seed, controller.profile.probe.seed) != (
                    combination.evolution_seed, combination.probe_seed):
                raise GMError(f"{directory.file(PROFILE_FILE)} does not hold the seeds of {combination.name}")
        else:
            controller = make_controller(combination_profile(self.plan.profile, combination), self._sink,
                                       run_dir=directory.path, meter=meter)
        with self._lock:
            if self._stop.is_set():
                return False
            self._controller = controller
        try:
            controller.run()
        finally:
            with self._lock:
                self._controller = None
        return directory.is_completed()


def write_summary_quietly(folder: Path, strict: bool) -> dict[str, Any] | None:
    """Write the folder's summary; with ``strict`` false a failure returns None instead of raising."""
    try:
        return write_summary(folder)
    except (GMError, OSError):
        if strict:
            raise
        return None
