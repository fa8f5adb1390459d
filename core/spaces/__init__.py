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
from greenmachine.spaces.registry import (  # noqa: F401  (re-exported)
    _REGISTRY,
    CUSTOM,
    ENTRY_POINT_GROUP,
    UnknownSpaceError,
    _load_entry_points,
    register_space,
    unregister_space,
)


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
