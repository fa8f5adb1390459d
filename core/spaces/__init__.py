"""Search spaces: NATS-Bench TSS and SSS arch strings and the networks they describe.

Called by the benchmark loader (arch-string validation), the probe (builds each network
and walks :func:`weighted_layers`), the baselines (params / FLOPs) and the CLI (a bad arch
string is a one-line :class:`core.errors.ArchStringError`).

Spaces are named ``"tss"`` (topology, 15 625 cells, NAS-Bench-201) and ``"sss"`` (size,
32 768 channel configurations); datasets are listed in :data:`DATASETS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from core.errors import ArchStringError
from core.spaces.cost import count_flops, count_parameters
from core.spaces.sss import SSSArch, build_sss_network, parse_sss_channels
from core.spaces.tss import TSSArch, build_tss_network, parse_tss_arch, tss_parameter_count

__all__ = [
    "DATASETS", "DatasetInfo", "SPACES", "SSSArch", "TSSArch", "build_network",
    "build_sss_network", "build_tss_network", "count_flops", "count_parameters",
    "get_dataset", "parse_arch", "parse_sss_channels", "parse_tss_arch", "tss_parameter_count",
    "weighted_layers",
]


@dataclass(frozen=True)
class DatasetInfo:
    """What a network needs to know about a NATS-Bench dataset.

    Attributes
    ----------
    name : str
        NATS-Bench dataset name.
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


DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo("cifar10", 10, 32),
    "cifar100": DatasetInfo("cifar100", 100, 32),
    "ImageNet16-120": DatasetInfo("ImageNet16-120", 120, 16),
}
"""The three NATS-Bench datasets, by name."""

SPACES: tuple[str, ...] = ("tss", "sss")
"""Names of the supported search spaces."""


def get_dataset(dataset: str) -> DatasetInfo:
    """Look up a dataset by name.

    Parameters
    ----------
    dataset : str
        One of the keys of :data:`DATASETS`.

    Returns
    -------
    DatasetInfo

    Raises
    ------
    ValueError
        If the dataset is unknown.
    """
    try:
        return DATASETS[dataset]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dataset {dataset!r}; expected one of "
                         f"{', '.join(DATASETS)}") from None


def parse_arch(space: str, text: str) -> TSSArch | SSSArch:
    """Parse an arch string of a search space.

    Parameters
    ----------
    space : str
        ``"tss"`` or ``"sss"``.
    text : str
        A TSS arch string or an SSS channel string.

    Returns
    -------
    TSSArch or SSSArch

    Raises
    ------
    ArchStringError
        If the space is unknown or the string is invalid for it.
    """
    if space == "tss":
        return parse_tss_arch(text)
    if space == "sss":
        return parse_sss_channels(text)
    raise ArchStringError(f"unknown search space {space!r}; expected one of {', '.join(SPACES)}")


def build_network(space: str, arch: str | TSSArch | SSSArch, dataset: str) -> nn.Module:
    """Build the untrained NATS-Bench network of an architecture for a dataset.

    Parameters
    ----------
    space : str
        ``"tss"`` or ``"sss"``.
    arch : str, TSSArch or SSSArch
        The architecture (a string is parsed with :func:`parse_arch`).
    dataset : str
        A key of :data:`DATASETS`; sets the classifier width.

    Returns
    -------
    torch.nn.Module
        The network in training mode; ``forward`` maps ``(batch, 3, H, W)`` to logits
        ``(batch, num_classes)``.

    Raises
    ------
    ArchStringError
        If the space is unknown or the arch string is invalid.
    ValueError
        If the dataset is unknown.
    """
    info = get_dataset(dataset)
    parsed = parse_arch(space, arch) if isinstance(arch, str) else arch
    if space == "tss":
        if not isinstance(parsed, TSSArch):
            raise ArchStringError(f"expected a TSS architecture, got {parsed!r}")
        return build_tss_network(parsed, info.num_classes)
    if not isinstance(parsed, SSSArch):
        raise ArchStringError(f"expected an SSS architecture, got {parsed!r}")
    return build_sss_network(parsed, info.num_classes)


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """List every ``Conv2d`` and ``Linear`` layer of a model in forward order.

    For the NATS-Bench networks built here, module registration order equals execution
    order (cell edges are registered in the order they are evaluated; a reduction block
    runs its two convolutions before its shortcut), so this is a walk of
    ``named_modules``.

    Parameters
    ----------
    model : torch.nn.Module
        A network (typically from :func:`build_network`).

    Returns
    -------
    list of (str, torch.nn.Module)
        Qualified module name and module, e.g. ``("cells.0.edges.0.op.1", Conv2d(...))``.
    """
    return [(name, module) for name, module in model.named_modules()
            if isinstance(module, (nn.Conv2d, nn.Linear))]
