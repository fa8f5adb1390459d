"""The export formats: a registry of named exporters, one module per format.

Each module of this package registers one :class:`ExportFormat` when it is imported
(``text``, ``latex``, ``python``, ``json``); every module here is imported when this
package is, so adding a format is adding one module. An exporter turns proxies (each a
:class:`greenmachine.export.records.ProxyRecord`) and their simplification results
(:class:`greenmachine.export.simplify.SimplifyResult`) into one text.

Called by :mod:`greenmachine.export.records` (:func:`get_format` for ``export_records``), the
CLI's ``gm export`` and the TUI's export action (through :mod:`greenmachine.export`) and the tests.
Never prints.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

from greenmachine.errors import GMError

_NAME_PATTERN = re.compile(r"^[a-z]+(_[a-z]+)*$")


class ExportFormatError(GMError):
    """An export format is malformed or registered twice."""


@dataclass(frozen=True)
class ExportFormat:
    """One registered export format.

    Attributes
    ----------
    name : str
        Lower-case full-word name given to ``gm export --format``; unique.
    suffix : str
        File-name suffix of its output, without the dot (``txt``, ``tex``, ``py``).
    description : str
        One line for users.
    position : int
        Place in listings (help texts, error messages); lower comes first.
    write : callable
        ``write(records, results) -> str``: the proxies (``ProxyRecord``) and their
        ``SimplifyResult`` (same length, same order) as one text.
    """

    name: str
    suffix: str
    description: str
    position: int
    write: Callable[[Sequence[Any], Sequence[Any]], str]


_REGISTRY: dict[str, ExportFormat] = {}
FORMATS: Mapping[str, ExportFormat] = MappingProxyType(_REGISTRY)
"""Format name -> :class:`ExportFormat`, in listing order (read-only view)."""


def register_format(export_format: ExportFormat) -> ExportFormat:
    """Check ``export_format`` and add it to :data:`FORMATS`.

    Checks: a full-word lower-case name not registered yet, an alphanumeric suffix, a
    description, an integer position and a ``write`` taking two positional arguments.

    Returns
    -------
    ExportFormat
        The registered format.

    Raises
    ------
    ExportFormatError
        If a check fails; nothing is registered then.
    """
    name = export_format.name
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ExportFormatError(f"export format name {name!r} must be lower-case full words joined by '_'")
    if name in _REGISTRY:
        raise ExportFormatError(f"export format {name!r} is already registered")
    if not isinstance(export_format.suffix, str) or not export_format.suffix.isalnum():
        raise ExportFormatError(f"export format {name!r}: suffix must be letters and digits, got {export_format.suffix!r}")
    if not isinstance(export_format.description, str) or not export_format.description.strip():
        raise ExportFormatError(f"export format {name!r} needs a description")
    if not isinstance(export_format.position, int) or isinstance(export_format.position, bool):
        raise ExportFormatError(f"export format {name!r}: position must be an integer")
    if not callable(export_format.write) or _positional_count(export_format.write) != 2:
        raise ExportFormatError(f"export format {name!r}: write must take (records, results)")
    entries = sorted([*_REGISTRY.values(), export_format], key=lambda f: f.position)
    _REGISTRY.clear()
    _REGISTRY.update((entry.name, entry) for entry in entries)
    return export_format


def unregister_format(name: str) -> None:
    """Remove a format (tests only; the shipped formats stay registered)."""
    _REGISTRY.pop(name, None)


def get_format(name: str) -> ExportFormat:
    """Return the registered format ``name``.

    Raises
    ------
    GMError
        ``unknown export format 'yaml' (choose one of: text, latex, python, json)``.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise GMError(f"unknown export format {name!r} (choose one of: {', '.join(_REGISTRY)})") from None


def _positional_count(function: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return -1
    return sum(1 for p in parameters
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


def _load_format_modules() -> None:
    """Import every module of this package (each registers its format)."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_load_format_modules()
