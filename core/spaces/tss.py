"""NATS-Bench topology search space (TSS, = NAS-Bench-201): arch strings and networks.

Called by :mod:`greenmachine.spaces` (``parse_arch`` / ``build_network``), which the benchmark
loader, the probe and the CLI use to validate arch strings and to build untrained networks.

An arch string reads ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: node 1 takes one edge from
node 0, node 2 edges from nodes 0 and 1, node 3 edges from nodes 0, 1 and 2. The network is
NATS-Bench's macro skeleton with C=16 and N=5 cells per stage (see
:class:`greenmachine.spaces.operations.MacroNetwork`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from greenmachine.errors import ArchStringError
from greenmachine.spaces.base import SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

OPERATION_NAMES: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)
"""The five NATS-Bench TSS operations, in ``op_code`` order (0..4)."""

STEM_CHANNELS = 16
"""C: channels of the first stage (stages have C, 2C, 4C)."""

CELLS_PER_STAGE = 5
"""N: cells in each of the three stages."""

EDGE_ENDPOINTS: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
"""(target node, source node) of the six edges, in arch-string order."""


@dataclass(frozen=True)
class TSSArch:
    """A parsed TSS cell: one operation name per edge, in arch-string order.

    Attributes
    ----------
    operations : tuple of str
        Six operation names for edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2.
    """

    operations: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "operations", tuple(self.operations))
        if len(self.operations) != len(EDGE_ENDPOINTS):
            raise ArchStringError(f"a TSS cell needs 6 operations, got {len(self.operations)}: "
                                  f"{self.operations!r}")
        for name in self.operations:
            if name not in OPERATION_NAMES:
                raise ArchStringError(f"unknown TSS operation {name!r} in {self.operations!r}")

    def to_string(self) -> str:
        """Return the canonical NATS-Bench arch string.

        Returns
        -------
        str
            ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.
        """
        nodes: list[list[str]] = [[], [], []]
        for name, (target, source) in zip(self.operations, EDGE_ENDPOINTS):
            nodes[target - 1].append(f"{name}~{source}")
        return "+".join("|" + "|".join(node) + "|" for node in nodes)

    @property
    def op_code(self) -> str:
        """Six digits, one per edge: 0=none 1=skip_connect 2=nor_conv_1x1 3=nor_conv_3x3 4=avg_pool_3x3."""
        return "".join(str(OPERATION_NAMES.index(name)) for name in self.operations)

    @classmethod
    def from_op_code(cls, code: str) -> "TSSArch":
        """Build an arch from its six-digit ``op_code``.

        Parameters
        ----------
        code : str
            Six digits in 0..4.

        Returns
        -------
        TSSArch

        Raises
        ------
        ArchStringError
            If ``code`` is not six digits in 0..4.
        """
        if len(code) != 6 or any(digit not in "01234" for digit in code):
            raise ArchStringError(f"invalid TSS op code {code!r}: expected 6 digits in 0..4")
        return cls(tuple(OPERATION_NAMES[int(digit)] for digit in code))

    def edges(self) -> list[tuple[str, int, int]]:
        """Return ``(operation, target node, source node)`` for the six edges."""
        return [(name, target, source)
                for name, (target, source) in zip(self.operations, EDGE_ENDPOINTS)]


def parse_tss_arch(text: str) -> TSSArch:
    """Parse and validate a NATS-Bench TSS arch string.

    Parameters
    ----------
    text : str
        ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` with ops from
        :data:`OPERATION_NAMES`. Surrounding whitespace is ignored.

    Returns
    -------
    TSSArch
        The parsed cell.

    Raises
    ------
    ArchStringError
        If the string is malformed, names an unknown operation or a wrong input node.
    """
    if not isinstance(text, str):
        raise ArchStringError(f"TSS arch string must be a str, got {type(text).__name__}: {text!r}")
    stripped = text.strip()

    def fail(reason: str) -> ArchStringError:
        return ArchStringError(f"invalid TSS arch string {stripped!r}: {reason}")

    nodes = stripped.split("+")
    if len(nodes) != 3:
        raise fail(f"expected 3 '+'-separated nodes, found {len(nodes)}")
    operations: list[str] = []
    for node_number, node in enumerate(nodes, start=1):
        if len(node) < 2 or not (node.startswith("|") and node.endswith("|")):
            raise fail(f"node {node_number} must be enclosed in '|'")
        edges = node[1:-1].split("|")
        if len(edges) != node_number:
            raise fail(f"node {node_number} needs {node_number} edge(s), found {len(edges)}")
        for expected_source, edge in enumerate(edges):
            name, separator, source = edge.partition("~")
            if not separator:
                raise fail(f"edge {edge!r} lacks '~<input node>'")
            if name not in OPERATION_NAMES:
                raise fail(f"unknown operation {name!r} (expected one of "
                           f"{', '.join(OPERATION_NAMES)})")
            if source != str(expected_source):
                raise fail(f"edge {edge!r} of node {node_number} must read from node "
                           f"{expected_source}")
            operations.append(name)
    return TSSArch(tuple(operations))


def build_tss_network(arch: TSSArch | str, num_classes: int) -> "nn.Module":
    """Build the untrained NATS-Bench TSS network for a cell.

    Parameters
    ----------
    arch : TSSArch or str
        The cell (an arch string is parsed with :func:`parse_tss_arch`).
    num_classes : int
        Classifier outputs (10, 100 or 120 for the NATS-Bench datasets).

    Returns
    -------
    torch.nn.Module
        Stem, 3 stages of 5 cells (16, 32, 64 channels) with residual reduction blocks
        between them, BN+ReLU, global average pooling, linear head; ``forward`` returns
        logits of shape ``(batch, num_classes)``.
    """
    from greenmachine.spaces.operations import MacroNetwork

    if isinstance(arch, str):
        arch = parse_tss_arch(arch)
    channels, reductions = [], []
    for stage in range(3):
        if stage > 0:
            channels.append(STEM_CHANNELS * 2 ** stage)
            reductions.append(True)
        channels.extend([STEM_CHANNELS * 2 ** stage] * CELLS_PER_STAGE)
        reductions.extend([False] * CELLS_PER_STAGE)
    return MacroNetwork(arch.edges(), channels, reductions, num_classes)


def tss_parameter_count(arch: TSSArch | str, num_classes: int) -> int:
    """Count the parameters of :func:`build_tss_network` without building it.

    Cheap enough for all 15 625 cells in a fraction of a second (building one network costs
    tens of milliseconds). Same convention as :func:`greenmachine.spaces.cost.count_parameters`:
    BatchNorm weight and bias counted, running statistics not.

    Parameters
    ----------
    arch : TSSArch or str
        The cell.
    num_classes : int
        Classifier outputs.

    Returns
    -------
    int
        Number of scalar parameters (equals ``count_parameters(build_tss_network(...))``).
    """
    if isinstance(arch, str):
        arch = parse_tss_arch(arch)

    def conv_bn(in_channels: int, out_channels: int, kernel_size: int) -> int:
        return kernel_size * kernel_size * in_channels * out_channels + 2 * out_channels

    edge_kernels = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}
    total = conv_bn(3, STEM_CHANNELS, 3)  # stem
    previous = STEM_CHANNELS
    for stage in range(3):
        channels = STEM_CHANNELS * 2 ** stage
        if stage > 0:  # residual reduction block: conv_a, conv_b, 1x1 shortcut conv
            total += conv_bn(previous, channels, 3) + conv_bn(channels, channels, 3)
            total += previous * channels
        cell = sum(conv_bn(channels, channels, edge_kernels[name])
                   for name in arch.operations if name in edge_kernels)
        total += CELLS_PER_STAGE * cell
        previous = channels
    total += 2 * previous  # final BatchNorm
    total += previous * num_classes + num_classes  # classifier
    return total


_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


class TopologySearchSpace(SearchSpace):
    """NATS-Bench TSS (NAS-Bench-201): 15 625 cells in a fixed macro skeleton.

    Ground truth: ``<dataset>_test_acc``, test accuracy after 200 epochs, mean over seeds;
    the table also holds the parameter count of every network (``params_MB_<dataset>``).
    The ``nats_*`` attributes say how the official archive is queried by
    :mod:`greenmachine.benchmark.importers`.
    """

    name = "tss"
    title = "NATS-Bench TSS"
    size = 15625
    datasets = _DATASETS
    table_file = "nats_tss.csv.gz"
    arch_column = "arch_str"
    layers_in_registration_order = True
    hardware_table_file = "nats_tss_hw.csv.gz"
    metric_columns = MappingProxyType({dataset: f"{dataset}_test_acc" for dataset in _DATASETS})
    params_columns = MappingProxyType({dataset: f"params_MB_{dataset}" for dataset in _DATASETS})
    ground_truth_note = "TSS ground truth: <dataset>_test_acc, 200 epochs, mean over seeds."
    caveat = ("NATS-Bench TSS ground truth: test accuracy after 200 epochs, mean over seeds "
              "(cifar10 trained on train+valid).")
    #: Training schedule (``hp``) of the ground truth in the official archive.
    nats_hp = "200"
    #: Ground-truth column -> (dataset passed to ``get_more_info``, key of the returned
    #: dict): seed-averaged test accuracy after 200 epochs (``cifar10`` trained on
    #: train+valid, evaluated on the original test set; the others on ``x-test``).
    nats_metric_queries = MappingProxyType(
        {f"{dataset}_test_acc": (dataset, "test-accuracy") for dataset in _DATASETS})
    #: Extra (optional) accuracy columns written alongside by the importer.
    nats_extra_queries = MappingProxyType({
        "cifar10-valid_valid_acc": ("cifar10-valid", "valid-accuracy"),
        "cifar100_valid_acc": ("cifar100", "valid-accuracy"),
        "ImageNet16-120_valid_acc": ("ImageNet16-120", "valid-accuracy"),
    })

    def parse(self, text: str) -> TSSArch:
        """Parse a TSS arch string (see :func:`parse_tss_arch`)."""
        return parse_tss_arch(text)

    def build(self, arch: TSSArch | str, dataset: str) -> "nn.Module":
        """Build the TSS network of ``arch`` with the head of ``dataset``."""
        info = self.dataset(dataset)
        parsed = parse_tss_arch(arch) if isinstance(arch, str) else arch
        if not isinstance(parsed, TSSArch):
            raise ArchStringError(f"expected a TSS architecture, got {parsed!r}")
        return build_tss_network(parsed, info.num_classes)

    def mutate(self, arch: str, rng) -> str:
        """Change the operation of one cell edge to another operation (REA's mutation)."""
        operations = list(parse_tss_arch(arch).operations)
        edge = int(rng.integers(len(operations)))
        others = [name for name in OPERATION_NAMES if name != operations[edge]]
        operations[edge] = others[int(rng.integers(len(others)))]
        return TSSArch(tuple(operations)).to_string()

    def parameter_count(self, arch: TSSArch | str, dataset: str) -> int:
        """Count parameters without building the network (:func:`tss_parameter_count`)."""
        return tss_parameter_count(arch, self.dataset(dataset).num_classes)


TSS = TopologySearchSpace()
"""The registered TSS space."""

from greenmachine.spaces.registry import register_space  # noqa: E402

register_space(TSS)
