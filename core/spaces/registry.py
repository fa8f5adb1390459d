"""The registry of search spaces: :func:`register_space`, :func:`unregister_space` and plug-ins.

The lowest part of :mod:`greenmachine.spaces`, which re-exports every public name here. The
built-in spaces (:mod:`greenmachine.spaces.tss`, ``sss``, ``macro``, ``nb101``) and a user's custom
space (:mod:`greenmachine.spaces.custom`) register themselves through this module, so none of
them imports the package that imports them.
"""

from __future__ import annotations

from greenmachine.errors import ArchStringError, GMError
from greenmachine.spaces.base import SearchSpace

ENTRY_POINT_GROUP = "greenmachine.spaces"
CUSTOM = "custom"
"""The ``benchmark.space`` value of a user's own space (table + builder)."""

_REGISTRY: dict[str, SearchSpace] = {}
_entry_points_loaded = False


class UnknownSpaceError(ArchStringError):
    """A space name that no registered search space carries."""


def register_space(space: SearchSpace) -> SearchSpace:
    """Register a search space under its name and return it.

    Parameters
    ----------
    space : SearchSpace
        The space; its name, datasets, table file and columns are checked.

    Returns
    -------
    SearchSpace
        ``space`` itself (so a module can write ``TSS = register_space(TopologySpace())``).

    Raises
    ------
    GMError
        If ``space`` is not a :class:`SearchSpace`, its metadata is incomplete, or the name
        is already registered.
    """
    if not isinstance(space, SearchSpace):
        raise GMError(f"a search space must be a greenmachine.spaces.SearchSpace instance, got {space!r}")
    name = space.name
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise GMError(f"search space {space!r} needs a non-empty name without surrounding spaces")
    if name in _REGISTRY:
        raise GMError(f"search space {name!r} is already registered")
    if not space.datasets:
        raise GMError(f"search space {name!r} names no datasets")
    for dataset in space.datasets:
        if dataset not in space.metric_columns:
            raise GMError(f"search space {name!r} has no ground-truth column for dataset {dataset!r}")
    if space.size is not None and (not isinstance(space.size, int) or space.size < 1):
        raise GMError(f"search space {name!r} has an invalid size {space.size!r}")
    _REGISTRY[name] = space
    return space


def unregister_space(name: str) -> None:
    """Remove a registered space (for tests and interactive use); unknown names are ignored."""
    _REGISTRY.pop(name, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in _REGISTRY:
            continue
        try:
            target = entry.load()
            space = target if isinstance(target, SearchSpace) else target()
        except Exception as exc:  # a broken plug-in is one clear line, not a traceback
            raise GMError(f"search space plug-in {entry.name!r} ({entry.value}) failed to load: "
                          f"{type(exc).__name__}: {exc}") from None
        register_space(space)
