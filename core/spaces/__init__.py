"""Search spaces: the registry of :class:`~greenmachine.spaces.base.SearchSpace` objects by name.

Called by every module that needs a space: the benchmark loader (table file and columns),
the probe (building networks), the importers, the data check, the reports, the settings
(validating ``benchmark.space`` and ``benchmark.datasets``) and the CLI. NATS-Bench TSS
(``greenmachine.spaces.tss``) and SSS (``greenmachine.spaces.sss``), NAS-Bench-Macro (``greenmachine.spaces.macro``)
and the 500 NAS-Bench-101 networks (``greenmachine.spaces.nb101``) register themselves on import; a Python
package registers its own space through the ``greenmachine.spaces`` entry-point group (the
entry point names a :class:`SearchSpace` instance, class or factory).

Importing this package does not import torch; building a network does.
"""

from __future__ import annotations

import importlib
from typing import Any

from greenmachine.errors import ArchStringError, GMError
from greenmachine.spaces.base import DATASETS, DatasetInfo, SearchSpace, UnknownDatasetError, get_dataset

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


def space_names() -> tuple[str, ...]:
    """Return the names of every registered search space, built-in ones first."""
    _load_entry_points()
    return tuple(_REGISTRY)


def get_space(name: str | SearchSpace) -> SearchSpace:
    """Return the registered search space ``name`` (a space object is returned as is).

    Raises
    ------
    UnknownSpaceError
        If no space of that name is registered (one line listing the valid names).
    """
    if isinstance(name, SearchSpace):
        return name
    if name not in _REGISTRY:
        _load_entry_points()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownSpaceError(f"unknown search space {name!r}; valid spaces: "
                                f"{', '.join(_REGISTRY)}") from None


def space_of(benchmark: Any, base: Any = None) -> SearchSpace:
    """Return the search space a profile's ``[benchmark]`` section names.

    Parameters
    ----------
    benchmark : greenmachine.settings.profile.BenchmarkSettings
        ``space`` names a registered space, or is ``"custom"`` with ``table`` and
        ``builder`` (see :mod:`greenmachine.spaces.custom`).
    base : path, optional
        Folder a custom space's relative paths resolve against.

    Raises
    ------
    GMError
        Unknown space, or a custom space whose files are missing or malformed.
    """
    if benchmark.space == CUSTOM:
        from greenmachine.spaces.custom import custom_space

        return custom_space(benchmark.table, benchmark.builder, benchmark.datasets, base)
    return get_space(benchmark.space)


def parse_arch(space: str | SearchSpace, text: str) -> Any:
    """Parse an arch string of a search space (see :meth:`SearchSpace.parse`).

    Raises
    ------
    ArchStringError
        If the space is unknown or the string is invalid for it.
    """
    return get_space(space).parse(text)


def build_network(space: str | SearchSpace, arch: Any, dataset: str):
    """Build the untrained network of ``arch`` of ``space`` for ``dataset``.

    Raises
    ------
    ArchStringError
        If the space is unknown or the arch is invalid for it.
    UnknownDatasetError
        If the space has no such dataset (also a ``ValueError``).
    """
    return get_space(space).build(arch, dataset)


# Heavy helpers (they import torch) are loaded on first use.
_LAZY = {
    "count_flops": "greenmachine.spaces.cost",
    "count_parameters": "greenmachine.spaces.cost",
    "build_tss_network": "greenmachine.spaces.tss",
    "tss_parameter_count": "greenmachine.spaces.tss",
    "parse_tss_arch": "greenmachine.spaces.tss",
    "TSSArch": "greenmachine.spaces.tss",
    "build_sss_network": "greenmachine.spaces.sss",
    "parse_sss_channels": "greenmachine.spaces.sss",
    "SSSArch": "greenmachine.spaces.sss",
    "build_macro_network": "greenmachine.spaces.macro",
    "parse_macro_arch": "greenmachine.spaces.macro",
    "MacroArch": "greenmachine.spaces.macro",
    "build_nb101_network": "greenmachine.spaces.nb101",
    "parse_nb101_arch": "greenmachine.spaces.nb101",
    "NB101Arch": "greenmachine.spaces.nb101",
    "weighted_layers": "greenmachine.spaces.layers",
    "forward_layers": "greenmachine.spaces.layers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'greenmachine.spaces' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


# The built-in spaces register themselves.
from greenmachine.spaces import tss as _tss  # noqa: E402,F401  (after the registry exists)
from greenmachine.spaces import sss as _sss  # noqa: E402,F401
from greenmachine.spaces import macro as _macro  # noqa: E402,F401
from greenmachine.spaces import nb101 as _nb101  # noqa: E402,F401

__all__ = [
    "CUSTOM", "DATASETS", "DatasetInfo", "ENTRY_POINT_GROUP", "SearchSpace", "UnknownDatasetError",
    "UnknownSpaceError", "build_network", "get_dataset", "get_space", "parse_arch",
    "register_space", "space_names", "space_of", "unregister_space", *_LAZY,
]
