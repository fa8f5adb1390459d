"""NATS-Bench size search space (SSS): channel strings and networks.

Called by :mod:`greenmachine.spaces` (``parse_arch`` / ``build_network``), which the benchmark
loader, the probe and the CLI use.

A channel string ``c1:c2:c3:c4:c5`` (each in 8, 16, ..., 64) sets the output channels of the
five layers of the NATS-Bench size-space network (xautodl ``DynamicShapeTinyNet`` with N=1):
the stem and cell 1 have c1 channels, the first residual reduction block c2, cell 2 c3, the
second reduction block c4 and cell 3 c5. All cells use the fixed topology
:data:`SSS_CELL` (the best TSS cell on CIFAR-100, index 9930).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from greenmachine.errors import ArchStringError
from greenmachine.spaces.base import SearchSpace
from greenmachine.spaces.tss import parse_tss_arch

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

CHANNEL_CHOICES: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
"""Allowed channel counts of each layer."""

_CHANNEL_TEXTS = {str(channel): channel for channel in CHANNEL_CHOICES}

LAYER_COUNT = 5
"""Number of channel entries in an SSS string."""

SSS_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
"""The fixed cell of every SSS network."""

LAYER_REDUCTIONS: tuple[bool, ...] = (False, True, False, True, False)
"""Which of the five layers are residual reduction blocks."""


@dataclass(frozen=True)
class SSSArch:
    """A parsed SSS architecture: five layer channel counts.

    Attributes
    ----------
    channels : tuple of int
        Output channels of the five layers, each in :data:`CHANNEL_CHOICES`.
    """

    channels: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.channels) != LAYER_COUNT or any(
                channel not in CHANNEL_CHOICES for channel in self.channels):
            raise ArchStringError(f"invalid SSS channels {self.channels!r}: need 5 values in "
                                  f"{CHANNEL_CHOICES}")

    def to_string(self) -> str:
        """Return the canonical channel string, e.g. ``8:16:24:32:64``."""
        return ":".join(str(channel) for channel in self.channels)

    @property
    def index(self) -> int:
        """The official NATS-Bench SSS index (base-8 digits of the channel choices)."""
        value = 0
        for channel in self.channels:
            value = value * len(CHANNEL_CHOICES) + CHANNEL_CHOICES.index(channel)
        return value


def parse_sss_channels(text: str) -> SSSArch:
    """Parse and validate an SSS channel string.

    Parameters
    ----------
    text : str
        Five colon-separated integers, each in 8, 16, ..., 64 (whitespace around the string
        is ignored).

    Returns
    -------
    SSSArch

    Raises
    ------
    ArchStringError
        If the string is malformed or a channel count is not allowed.
    """
    if not isinstance(text, str):
        raise ArchStringError(f"SSS channel string must be a str, got {type(text).__name__}: {text!r}")
    stripped = text.strip()
    parts = stripped.split(":")
    if len(parts) != LAYER_COUNT:
        raise ArchStringError(f"invalid SSS channel string {stripped!r}: expected 5 "
                              f"':'-separated channel counts, found {len(parts)}")
    channels = []
    for part in parts:
        if part not in _CHANNEL_TEXTS:
            raise ArchStringError(f"invalid SSS channel string {stripped!r}: channel {part!r} "
                                  f"is not one of {', '.join(map(str, CHANNEL_CHOICES))}")
        channels.append(_CHANNEL_TEXTS[part])
    return SSSArch(tuple(channels))


def build_sss_network(arch: SSSArch | str, num_classes: int) -> "nn.Module":
    """Build the untrained NATS-Bench SSS network for a channel configuration.

    Parameters
    ----------
    arch : SSSArch or str
        The channels (a string is parsed with :func:`parse_sss_channels`).
    num_classes : int
        Classifier outputs.

    Returns
    -------
    torch.nn.Module
        Stem (c1), cell (c1), reduction block (c2), cell (c2 -> c3), reduction block (c4),
        cell (c4 -> c5), BN+ReLU, global average pooling, linear head; ``forward`` returns
        logits.
    """
    from greenmachine.spaces.operations import MacroNetwork

    if isinstance(arch, str):
        arch = parse_sss_channels(arch)
    cell = parse_tss_arch(SSS_CELL)
    return MacroNetwork(cell.edges(), list(arch.channels), list(LAYER_REDUCTIONS), num_classes)


_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


class SizeSearchSpace(SearchSpace):
    """NATS-Bench SSS: 32 768 channel configurations of one fixed cell.

    Ground truth: 90-epoch, single-run, validation-type accuracy (noisier than TSS). The
    ``nats_*`` attributes say how the official archive is queried by :mod:`greenmachine.benchmark.importers`.
    """

    name = "sss"
    title = "NATS-Bench SSS"
    size = 32768
    datasets = _DATASETS
    table_file = "nats_sss.csv.gz"
    arch_column = "channels"
    layers_in_registration_order = True
    metric_columns = MappingProxyType({
        "cifar10": "cifar10-valid_valid_acc_90ep",
        "cifar100": "cifar100_acc_90ep",
        "ImageNet16-120": "ImageNet16-120_acc_90ep",
    })
    params_columns = MappingProxyType({})
    ground_truth_note = (
        "SSS ground truth: 90-epoch, single-run, validation-type accuracy "
        "(cifar10-valid_valid_acc_90ep, cifar100_acc_90ep, ImageNet16-120_acc_90ep); "
        "noisier than TSS, which caps attainable Kendall tau."
    )
    caveat = (
        "NATS-Bench SSS ground truth: validation-type accuracy after 90 epochs, single "
        "training run (cifar10-valid x-valid, half-test-set splits for cifar100 and "
        "ImageNet16-120) - noisier than the seed-averaged TSS test accuracies."
    )
    #: Training schedule (``hp``) of the ground truth in the official archive.
    nats_hp = "90"
    #: Ground-truth column -> (dataset passed to ``get_more_info``, key of the returned
    #: dict): ``cifar10-valid`` on ``x-valid`` (25 000 images), ``cifar100`` and
    #: ``ImageNet16-120`` on ``x-valid`` (the validation half of their test sets).
    nats_metric_queries = MappingProxyType({
        "cifar10-valid_valid_acc_90ep": ("cifar10-valid", "valid-accuracy"),
        "cifar100_acc_90ep": ("cifar100", "valid-accuracy"),
        "ImageNet16-120_acc_90ep": ("ImageNet16-120", "valid-accuracy"),
    })
    #: Extra (optional) accuracy columns written alongside by the importer.
    nats_extra_queries = MappingProxyType({
        "cifar10_test_acc_90ep": ("cifar10", "test-accuracy"),
        "cifar100_test_acc_90ep": ("cifar100", "test-accuracy"),
        "ImageNet16-120_test_acc_90ep": ("ImageNet16-120", "test-accuracy"),
    })

    def parse(self, text: str) -> SSSArch:
        """Parse an SSS channel string (see :func:`parse_sss_channels`)."""
        return parse_sss_channels(text)

    def build(self, arch: SSSArch | str, dataset: str) -> "nn.Module":
        """Build the SSS network of ``arch`` with the head of ``dataset``."""
        info = self.dataset(dataset)
        parsed = parse_sss_channels(arch) if isinstance(arch, str) else arch
        if not isinstance(parsed, SSSArch):
            raise ArchStringError(f"expected an SSS architecture, got {parsed!r}")
        return build_sss_network(parsed, info.num_classes)

    def mutate(self, arch: str, rng) -> str:
        """Change the channel count of one layer to another allowed count."""
        channels = list(parse_sss_channels(arch).channels)
        layer = int(rng.integers(len(channels)))
        others = [choice for choice in CHANNEL_CHOICES if choice != channels[layer]]
        channels[layer] = others[int(rng.integers(len(others)))]
        return SSSArch(tuple(channels)).to_string()


SSS = SizeSearchSpace()
"""The registered SSS space."""

from greenmachine.spaces.registry import register_space  # noqa: E402

register_space(SSS)
