"""Choosing a probe executor from the profile's ``probe.executor`` / ``probe.workers`` / ``probe.address``.

Called by :class:`greenmachine.probe.phase.ProbePhase` and the tests. Kept apart from
:mod:`greenmachine.probe.executors` (the local executors) so that the Ray executor
(:mod:`greenmachine.probe.ray_executor`), which builds on those, is imported by this module only.
"""

from __future__ import annotations

from greenmachine.errors import GMError
from greenmachine.probe.executors import InProcessExecutor, LocalPoolExecutor, ProbeExecutor, resolve_workers


def make_executor(executor: str = "local", workers: int = 0, address: str = "", device: str = "cpu") -> ProbeExecutor:
    """The executor ``probe.executor`` / ``probe.workers`` / ``probe.address`` ask for.

    ``local`` with one worker is :class:`InProcessExecutor`; ``ray`` needs the optional
    ``ray`` extra (``pip install -e ".[ray]"``).

    Raises
    ------
    GMError
        An unknown executor name, or ``ray`` when Ray is not installed or cannot connect.
    """
    if executor == "local":
        if address:
            raise GMError("probe.address is only for probe.executor = \"ray\"")
        count = resolve_workers(workers, device)
        return InProcessExecutor() if count == 1 else LocalPoolExecutor(count, device)
    if executor == "ray":
        from greenmachine.probe.ray_executor import RayExecutor

        return RayExecutor(address=address, workers=workers)
    raise GMError(f"unknown probe executor {executor!r}; use local or ray")
