"""Options shared by several ``gm`` commands: ``--set``, and ``--workers`` / ``--executor`` /
``--address`` of ``gm probe|run|eval|baselines``.

Imported by the command modules of :mod:`greenmachine.tui.commands` (run, evaluate, repeat). The probe
options become ``probe.workers`` / ``probe.executor`` / ``probe.address`` settings, validated
like any ``--set`` override (one error line).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a profile value: section.key=value (repeatable)."),
]
WorkersOption = Annotated[
    Optional[int],
    typer.Option("--workers", help="Probe workers: 0 = every usable CPU, 1 = in this process (probe.workers)."),
]
ExecutorOption = Annotated[
    Optional[str],
    typer.Option("--executor", help="Probe executor: local (process pool) or ray (probe.executor)."),
]
AddressOption = Annotated[
    Optional[str],
    typer.Option("--address", help="Ray cluster: auto or HOST:PORT; omit for a local Ray instance (probe.address)."),
]


def probe_overrides(overrides: Optional[list[str]], workers: Optional[int], executor: Optional[str],
                     address: Optional[str]) -> list[str]:
    """``--set`` overrides plus the ``--workers/--executor/--address`` options (validated like any --set)."""
    import json

    result = list(overrides or [])
    if workers is not None:
        result.append(f"probe.workers={workers}")
    if executor is not None:
        result.append(f"probe.executor={json.dumps(executor)}")
    if address is not None:
        result.append(f"probe.address={json.dumps(address)}")
    return result


def probe_settings(workers: Optional[int], executor: Optional[str], address: Optional[str], **base):
    """Validated :class:`greenmachine.settings.profile.ProbeSettings` from the options (``gm eval``, which has no profile)."""
    from greenmachine.settings.profile import profile_from_mapping

    section = dict(base)
    section.update({key: value for key, value in (("workers", workers), ("executor", executor),
                                                  ("address", address)) if value is not None})
    return profile_from_mapping({"probe": section}, source="probe options").probe
