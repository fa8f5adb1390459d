"""A user's own search space: a CSV of trained accuracies and a Python builder file.

Called by :func:`greenmachine.spaces.space_of` when a profile says ``space = "custom"``::

    [benchmark]
    space = "custom"
    table = "my_space.csv"         # an `arch` column + one accuracy column per dataset
    builder = "my_space.py:build"  # build(arch: str, num_classes: int) -> torch.nn.Module
    datasets = ["cifar10"]

Relative paths resolve against the profile file's folder. The table may be plain or gzip
CSV; its row order is the index; accuracy columns are named after the dataset (values in
percent or as fractions, any finite numbers in [0, 100]). The builder file is imported as a
module (it is the user's own code); each network is built by calling the named function.
Networks are read by the probe in the order their forward pass runs their Conv2d/Linear
layers.

Every problem is one :class:`greenmachine.errors.GMError` line naming the file, row or arch: a
missing table or builder, a missing ``arch`` column, a duplicate arch, a non-numeric
accuracy (through :mod:`greenmachine.benchmark.tables`), an import error in the builder, a missing or
non-callable function, a build that raises or returns something other than an
``nn.Module``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Sequence

from greenmachine.errors import ArchStringError, GMError
from greenmachine.spaces.base import DATASETS, SearchSpace
from greenmachine.spaces.user_folder import in_script_folder, script_folder

from greenmachine.spaces.registry import CUSTOM


#: How the probe reads a custom network, part of the space's name (so of its cache entries)
#: beside the files' content. Changed when that reading changes for networks the built-in
#: spaces do not contain, where the bank version (frozen with the built-in spaces'
#: statistics) stays: "2" sees functional activations (``F.relu``, ``x.relu()``, ...) and
#: functional global pooling, not only ``nn.ReLU`` / ``nn.AdaptiveAvgPool2d`` modules.
PROBE_READING = "2"


class CustomSpace(SearchSpace):
    """A search space given by a table file and a builder function.

    Parameters
    ----------
    table : Path
        The CSV (``arch`` column + one accuracy column per dataset).
    builder : str
        ``path/to/file.py:function``; ``function(arch: str, num_classes: int)`` returns a
        ``torch.nn.Module``.
    datasets : sequence of str
        Datasets with ground truth (each a column of the table and a dataset GreenMachine has
        images of).

    Raises
    ------
    GMError
        A missing file, a malformed builder reference, or an unknown dataset.
    """

    indexed = False
    arch_column = "arch"
    size = None

    def __init__(self, table: Path, builder: str, datasets: Sequence[str]) -> None:
        self.table = Path(table)
        if not self.table.is_file():
            raise GMError(f"custom space table {str(self.table)!r} not found")
        file_text, separator, function = str(builder).rpartition(":")
        if not separator or not file_text or not function.isidentifier():
            raise GMError(f"custom space builder {builder!r} must read 'file.py:function'")
        self.builder_file = Path(file_text)
        self.builder_function = function
        if not self.builder_file.is_file():
            raise GMError(f"custom space builder file {str(self.builder_file)!r} not found")
        unknown = [dataset for dataset in datasets if dataset not in DATASETS]
        if unknown or not datasets:
            raise GMError(f"custom space datasets must be some of {', '.join(DATASETS)}; got {list(datasets)!r}")
        self.datasets = tuple(datasets)
        self.metric_columns = MappingProxyType({dataset: dataset for dataset in self.datasets})
        self.params_columns = MappingProxyType({})
        digest = hashlib.sha256()
        for path in (self.table, self.builder_file):
            digest.update(path.read_bytes())
        digest.update(function.encode())
        digest.update(PROBE_READING.encode())
        self.content_hash = digest.hexdigest()[:12]
        self.name = f"{CUSTOM}-{self.content_hash}"
        self.title = f"custom space {self.table.name}"
        self.ground_truth_note = (f"Custom space ground truth: columns {', '.join(self.datasets)} of "
                                  f"{self.table.name} (networks built by {self.builder_file.name}:{function}).")
        self.caveat = self.ground_truth_note
        self._build: Callable[..., Any] | None = None

    def table_path(self) -> Path:
        """The user's table file."""
        return self.table

    def parse(self, text: str) -> str:
        """Any non-empty single-line string is an arch of a custom space (the builder judges it)."""
        if not isinstance(text, str) or not text.strip() or "\n" in text:
            raise ArchStringError(f"invalid arch {text!r} for {self.title}: expected a non-empty one-line string")
        return text

    def _builder(self) -> Callable[..., Any]:
        if self._build is None:
            self._build = load_function(f"{self.builder_file}:{self.builder_function}", "custom space builder")
        return self._build

    def build(self, arch: Any, dataset: str):
        """Call the user's builder for ``arch`` and check it returned an ``nn.Module``."""
        from torch import nn

        info = self.dataset(dataset)
        text = self.parse(str(arch))
        function = self._builder()
        where = f"custom space builder {self.builder_file.name}:{self.builder_function}"
        try:
            model = function(text, info.num_classes)
        except Exception as exc:  # the user's code: one line naming the arch
            raise GMError(f"{where} failed for arch {text!r}: {type(exc).__name__}: {_first_line(exc)}") from None
        if not isinstance(model, nn.Module):
            raise GMError(f"{where} returned {type(model).__name__} for arch {text!r}, not a torch.nn.Module")
        return model

    @property
    def cache_name(self) -> str:
        """Cache entries are filed under the content hash of the table and builder."""
        return self.name


def load_function(reference: str, what: str, base: Path | None = None) -> Callable[..., Any]:
    """Import ``file.py:function`` (the user's own code) and return the function.

    The file's own folder is importable while it loads and while the returned function
    runs, as it is for ``python file.py`` (a ``models/`` package beside the file imports),
    and only then (see :mod:`greenmachine.spaces.user_folder`).

    Parameters
    ----------
    reference : str
        ``path/to/file.py:function``; a relative path resolves against ``base`` (default:
        the working directory).
    what : str
        What the function is, for error messages (``"custom space builder"``, ``"model factory"``).

    Raises
    ------
    GMError
        A malformed reference, a missing file, an import that fails, or no such function;
        one line naming the file.
    """
    file_text, separator, function = str(reference).rpartition(":")
    if not separator or not file_text or not function.isidentifier():
        raise GMError(f"{what} {reference!r} must read 'file.py:function'")
    path = Path(file_text).expanduser()
    path = path if path.is_absolute() or base is None else Path(base) / path
    if not path.is_file():
        raise GMError(f"{what} file {str(path)!r} not found")
    digest = hashlib.sha256(str(path.resolve()).encode() + path.read_bytes()).hexdigest()[:12]
    module_name = f"greenmachine_user_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError("not a Python file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            with script_folder(path.parent, keep=(module_name,)):
                spec.loader.exec_module(module)
        except Exception as exc:  # the user's module: any failure is one line
            sys.modules.pop(module_name, None)
            raise GMError(f"{what} file {str(path)!r} failed to import: "
                          f"{type(exc).__name__}: {_first_line(exc)}") from None
    target = getattr(module, function, None)
    if not callable(target):
        raise GMError(f"{what} file {str(path)!r} has no function {function!r}")
    return in_script_folder(target, path.parent)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def custom_space(table: str, builder: str, datasets: Sequence[str], base: Path | None = None) -> CustomSpace:
    """Return the registered custom space of a table and builder (registering it on first use).

    Relative paths resolve against ``base`` (the profile's folder). The same files give the
    same registered space (its name carries their content hash).

    Raises
    ------
    GMError
        See :class:`CustomSpace`.
    """
    from greenmachine.spaces.registry import _REGISTRY, register_space

    if not table or not builder:
        raise GMError("a custom space needs benchmark.table and benchmark.builder")
    folder = Path(base) if base is not None else Path.cwd()
    table_path = Path(table).expanduser()
    table_path = table_path if table_path.is_absolute() else folder / table_path
    file_text, separator, function = str(builder).rpartition(":")
    builder_path = Path(file_text).expanduser() if separator else Path(builder)
    builder_path = builder_path if builder_path.is_absolute() else folder / builder_path
    space = CustomSpace(table_path, f"{builder_path}:{function}" if separator else str(builder_path), datasets)
    existing = _REGISTRY.get(space.name)
    if isinstance(existing, CustomSpace) and existing.datasets == space.datasets:
        return existing
    if existing is not None:
        _REGISTRY.pop(space.name)
    return register_space(space)


__all__ = ["CUSTOM", "CustomSpace", "custom_space", "load_function"]
