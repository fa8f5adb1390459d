"""Which run controller runs a profile: the one place that chooses between the plain and multi-task forms.

Called by ``gm run`` (:mod:`greenmachine.tui.cli`), the TUI (:mod:`greenmachine.tui.app`), the Python API
(:mod:`greenmachine.api`) and repeats (:mod:`greenmachine.repeats.runner`). A profile that lists
``benchmark.tasks`` or sets a non-default ``[fitness]`` (:func:`greenmachine.settings.tasks.is_multi_task`)
runs :class:`greenmachine.run.multitask.MultiTaskRunController`; every other profile runs
:class:`greenmachine.run.controller.RunController`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from greenmachine.events import Event
from greenmachine.run.controller import DEFAULT_RUNS_ROOT, RunController
from greenmachine.run.multitask import MultiTaskRunController
from greenmachine.settings.profile import Profile
from greenmachine.settings.tasks import is_multi_task


def controller_class(profile: Profile) -> type[RunController]:
    """The controller class that runs ``profile``.

    Parameters
    ----------
    profile : Profile
        A validated profile.

    Returns
    -------
    type
        :class:`MultiTaskRunController` for a multi-task profile, else :class:`RunController`.
    """
    return MultiTaskRunController if is_multi_task(profile) else RunController


def make_controller(
    profile: Profile,
    sink: Callable[[Event], None],
    run_dir: Path | None = None,
    meter: Any = None,
    runs_root: Path = DEFAULT_RUNS_ROOT,
) -> RunController:
    """A controller for a new run of ``profile``; the parameters are :class:`RunController`'s.

    Returns
    -------
    RunController
        Of the class :func:`controller_class` chooses.
    """
    if profile is None:
        return RunController(profile, sink, run_dir=run_dir, meter=meter, runs_root=runs_root)
    return controller_class(profile)(profile, sink, run_dir=run_dir, meter=meter, runs_root=runs_root)


def resume_controller(run_dir: Path, sink: Callable[[Event], None], meter: Any = None) -> RunController:
    """A controller that continues the stopped or interrupted run in ``run_dir``.

    Raises
    ------
    GMError
        As :meth:`RunController.resumable_profile`: nothing is written or probed first.
    """
    profile = RunController.resumable_profile(run_dir)
    controller = controller_class(profile)(profile, sink, run_dir=run_dir, meter=meter)
    controller.continues_run = True
    return controller
