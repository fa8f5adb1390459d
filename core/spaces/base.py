"""The search-space protocol and the image datasets every space is trained on.

Called by :mod:`greenmachine.spaces` (the registry), by each space module (``tss``, ``sss`` and any
space a user or a package registers) and, through the registry, by the benchmark loader,
the probe, the importers, the data check, the reports and the settings.

A search space is one object implementing :class:`SearchSpace`: its name and size, the
datasets its networks were trained on, where its ground truth lives (table file, arch
column, accuracy column per dataset, an optional parameter-count column per dataset) and
the note reports print about that ground truth (and, for a table kept in the benchmark's
own format, how to read it), how to parse and validate an arch string, and how to build the
untrained network of an arch for a dataset. Nothing outside
``core/spaces/`` compares a space name with a literal: it asks the space.

This module imports no torch: the CLI validates profiles and lists spaces without it.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Hashable, Mapping

from greenmachine.errors import GMError

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


class UnknownDatasetError(GMError, ValueError):
    """A dataset name no registered dataset (or no dataset of a space) carries."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a network needs to know about an image dataset.

    Attributes
    ----------
    name : str
        Dataset name as NATS-Bench spells it (``cifar10``, ``cifar100``, ``ImageNet16-120``).
    num_classes : int
        Classifier outputs.
    image_size : int
        Height and width of the (square, RGB) input images.
    """

    name: str
    num_classes: int
    image_size: int

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """Shape of one input image with a batch dimension: ``(1, 3, size, size)``."""
        return (1, 3, self.image_size, self.image_size)


DATASETS: Mapping[str, DatasetInfo] = MappingProxyType({
    "cifar10": DatasetInfo("cifar10", 10, 32),
    "cifar100": DatasetInfo("cifar100", 100, 32),
    "ImageNet16-120": DatasetInfo("ImageNet16-120", 120, 16),
})
"""The image datasets GreenMachine has minibatches of (see :mod:`greenmachine.benchmark.images`), by name."""


def get_dataset(dataset: str) -> DatasetInfo:
    """Look up an image dataset by name.

    Parameters
    ----------
    dataset : str
        One of the keys of :data:`DATASETS`.

    Returns
    -------
    DatasetInfo

    Raises
    ------
    UnknownDatasetError
        If the dataset is unknown (a :class:`GMError` and a ``ValueError``).
    """
    try:
        return DATASETS[dataset]
    except (KeyError, TypeError):
        raise UnknownDatasetError(f"unknown dataset {dataset!r}; valid datasets: "
                                  f"{', '.join(DATASETS)}") from None


class SearchSpace(abc.ABC):
    """A family of networks with a table of trained accuracies.

    Subclasses set the class attributes and implement :meth:`parse` and :meth:`build`;
    one instance is registered by name with :func:`greenmachine.spaces.register_space`.

    Attributes
    ----------
    name : str
        Registry name (what profiles write as ``benchmark.space``).
    title : str
        Human name for reports and errors, e.g. ``"NATS-Bench TSS"``.
    size : int or None
        Number of architectures of the official table (its row count is checked), or
        ``None`` when any row count is valid.
    datasets : tuple of str
        Datasets with ground truth (keys of :data:`DATASETS`).
    table_file : str
        File name of the ground-truth table (gzip CSV with an ``index`` column).
    arch_column : str
        Table column holding the arch string.
    metric_columns : Mapping[str, str]
        Dataset -> ground-truth accuracy column (percent).
    params_columns : Mapping[str, str]
        Dataset -> parameter-count column (millions); empty when the table has none.
    ground_truth_note : str
        One sentence for reports: what the ground truth is.
    caveat : str
        A longer note on the ground truth kept with the loaded table.
    indexed : bool
        Whether the table has an ``index`` column (``0..N-1`` in order); without one the
        row order is the index.
    cache_name : str
        The name probe-cache entries are filed under (the space name; a space whose
        networks depend on user files adds their content hash).
    layers_in_registration_order : bool
        True when every network's Conv2d/Linear registration order equals its execution
        order (the NATS-Bench networks), so the probe may skip the ordering forward pass.
    hardware_table_file : str or None
        File name of a table of measured hardware cost per network (gzip CSV with
        ``index`` and ``<dataset>_<metric>`` columns, as HW-NAS-Bench's), or ``None``.
    """

    name: str = ""
    title: str = ""
    size: int | None = None
    datasets: tuple[str, ...] = ()
    table_file: str = ""
    arch_column: str = "arch"
    metric_columns: Mapping[str, str] = MappingProxyType({})
    params_columns: Mapping[str, str] = MappingProxyType({})
    ground_truth_note: str = ""
    caveat: str = ""
    indexed: bool = True
    layers_in_registration_order: bool = False
    hardware_table_file: str | None = None

    @property
    def cache_name(self) -> str:
        """Folder name of this space's probe-cache entries (default: the space name)."""
        return self.name

    @abc.abstractmethod
    def parse(self, text: str) -> Hashable:
        """Parse and validate an arch string.

        Raises
        ------
        greenmachine.errors.ArchStringError
            One line naming the string and what is wrong with it.
        """

    @abc.abstractmethod
    def build(self, arch: Any, dataset: str) -> "nn.Module":
        """Build the untrained network of ``arch`` (a string or a parsed arch) for ``dataset``.

        The network is in training mode; ``forward`` maps ``(batch, 3, H, W)`` images to
        logits ``(batch, num_classes)``.
        """

    def dataset(self, dataset: str) -> DatasetInfo:
        """Return the :class:`DatasetInfo` of one of this space's datasets.

        Raises
        ------
        UnknownDatasetError
            If the space has no ground truth for ``dataset``.
        """
        if dataset not in self.datasets:
            raise UnknownDatasetError(f"unknown dataset {dataset!r} for {self.title or self.name}; "
                                      f"valid datasets: {', '.join(self.datasets)}")
        return get_dataset(dataset)

    def table_path(self):
        """Return the path of the ground-truth table (through :mod:`greenmachine.datadir`).

        Raises
        ------
        greenmachine.errors.DataFileError
            If the file is missing.
        """
        from greenmachine.datadir import data_file

        return data_file(self.table_file)

    def table_rows(self, path: Any) -> tuple[list[str], list[list[str]]] | None:
        """Read a ground-truth table kept in a format of the space's own.

        :func:`greenmachine.benchmark.tables.read_table` calls this first; ``None`` (the default) means
        the file is the standard gzip CSV. A space whose data file is, say, the benchmark's
        published JSON returns the header and the rows (text fields, as a CSV reader would)
        it stands for, and they are validated like any CSV table.

        Raises
        ------
        greenmachine.errors.DataFileError
            The file is missing or malformed (one line naming it).
        """
        return None

    def parameter_count(self, arch: Any, dataset: str) -> int:
        """Count the trainable parameters of the network of ``arch`` for ``dataset``."""
        from greenmachine.spaces.cost import count_parameters

        return count_parameters(self.build(arch, dataset))

    def flop_count(self, arch: Any, dataset: str) -> int:
        """Count the multiply-accumulate FLOPs of one forward pass of one image."""
        from greenmachine.spaces.cost import count_flops

        return count_flops(self.build(arch, dataset), self.dataset(dataset).input_shape)

    def mutate(self, arch: str, rng: Any) -> str:
        """Return a neighbour of ``arch``: the arch string with one choice changed.

        Used by the architecture search (``greenmachine.search``, aging evolution). A space that
        cannot enumerate its neighbours does not support evolution.

        Parameters
        ----------
        arch : str
            An arch string of this space.
        rng : numpy.random.Generator
            The only source of randomness.

        Raises
        ------
        GMError
            The space does not support mutation (the default).
        """
        raise GMError(f"search space {self.name!r} does not support evolution (no mutation); "
                      "use the sample strategy")

    def __repr__(self) -> str:
        return f"<search space {self.name!r}>"


__all__ = ["DATASETS", "DatasetInfo", "SearchSpace", "UnknownDatasetError", "get_dataset"]
