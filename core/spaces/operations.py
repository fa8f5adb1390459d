"""Building blocks of the NATS-Bench networks (topology and size spaces).

Called by :mod:`greenmachine.spaces.tss` and :mod:`greenmachine.spaces.sss`, which assemble these blocks into
whole networks. The blocks follow the NATS-Bench / NAS-Bench-201 reference implementation
(xautodl ``models/cell_operations.py``): every convolution is ReLU -> Conv (no bias) -> BN
with affine BatchNorm, and the residual reduction block between stages averages-pools its
shortcut before a 1x1 convolution. Two deliberate differences that change no number: the
final ReLU of the head is not in-place (the reference's is), so that activation hooks of the
probe see the BatchNorm output unmodified; and ``avg_pool_3x3`` is :class:`AveragePool3x3`,
which on the CPU adds the window's terms in the order of PyTorch's kernel, 3-5x faster and
with bit-identical values and gradients (``tests/unit/spaces/test_operations.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn



class ReLUConvBN(nn.Module):
    """ReLU, then a bias-free convolution, then an affine BatchNorm.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts of the convolution.
    kernel_size : int
        Square kernel size.
    stride : int
        Convolution stride.
    padding : int
        Zero padding on each side.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                      bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.op(inputs)


class Zero(nn.Module):
    """The ``none`` operation: a zero tensor of the output shape (no parameters).

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts; when they differ the output has ``out_channels`` channels.
    stride : int
        Spatial subsampling factor of the output.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.in_channels == self.out_channels:
            # Multiplying (not allocating zeros) keeps the reference's NaN propagation.
            return inputs[:, :, :: self.stride, :: self.stride].mul(0.0)
        batch, _, height, width = inputs.shape
        shape = (batch, self.out_channels, -(-height // self.stride), -(-width // self.stride))
        return inputs.new_zeros(shape)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, stride={self.stride}"


class FactorizedReduce(nn.Module):
    """Channel-changing (and, with stride 2, down-sampling) shortcut used by ``skip_connect``.

    With stride 1 it is a 1x1 convolution followed by BatchNorm (no ReLU, as in the
    reference). With stride 2 it is ReLU, then two 1x1 stride-2 convolutions on the input and
    on the input shifted by one pixel, concatenated, then BatchNorm.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    stride : int
        1 or 2.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        if stride == 1:
            self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=0, bias=False)
        elif stride == 2:
            self.relu = nn.ReLU(inplace=False)
            half = out_channels // 2
            self.convs = nn.ModuleList([
                nn.Conv2d(in_channels, half, 1, stride=2, padding=0, bias=False),
                nn.Conv2d(in_channels, out_channels - half, 1, stride=2, padding=0, bias=False),
            ])
            self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0.0)
        else:
            raise ValueError(f"FactorizedReduce: invalid stride {stride}")
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return self.bn(self.conv(inputs))
        activated = self.relu(inputs)
        shifted = self.pad(activated)[:, :, 1:, 1:]
        output = torch.cat([self.convs[0](activated), self.convs[1](shifted)], dim=1)
        return self.bn(output)


def _window_counts(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """Positions of each 3x3 window (padding 1) that fall inside a height x width image."""
    rows = [min(i + 2, height) - max(i - 1, 0) for i in range(height)]
    columns = [min(j + 2, width) - max(j - 1, 0) for j in range(width)]
    counts = torch.tensor([[r * c for c in columns] for r in rows], dtype=like.dtype)
    return counts.to(like.device)


_COUNTS: dict[tuple, torch.Tensor] = {}


def _counts(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    key = (height, width, like.dtype, like.device)
    counts = _COUNTS.get(key)
    if counts is None:
        counts = _COUNTS[key] = _window_counts(height, width, like)
    return counts


def _window_sums(values: torch.Tensor) -> torch.Tensor:
    """Sum of each 3x3 window (padding 1), terms added row by row from a zero, as PyTorch's
    CPU average-pooling kernels add them (out-of-image terms add an exact 0)."""
    height, width = values.shape[-2:]
    padded = F.pad(values, (1, 1, 1, 1))
    total = torch.zeros(values.shape, dtype=values.dtype, device=values.device)
    for row in range(3):
        for column in range(3):
            total += padded[..., row:row + height, column:column + width]
    return total


class _PoolBackward(torch.autograd.Function):
    """Gradient of :class:`_Pool3x3` (its own gradient is the pool itself, as in PyTorch)."""

    @staticmethod
    def forward(ctx, grad: torch.Tensor) -> torch.Tensor:
        # PyTorch scatters grad / count to each window in output order; for a symmetric 3x3
        # window that is the same row-by-row sum over the neighbours.
        return _window_sums(grad / _counts(grad.shape[-2], grad.shape[-1], grad))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _Pool3x3.apply(grad)


class _Pool3x3(torch.autograd.Function):
    """``F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)`` with the same float results."""

    @staticmethod
    def forward(ctx, values: torch.Tensor) -> torch.Tensor:
        return _window_sums(values) / _counts(values.shape[-2], values.shape[-1], values)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _PoolBackward.apply(grad)


class AveragePool3x3(nn.Module):
    """3x3 average pooling, stride 1, padding 1, padding not counted (``avg_pool_3x3``).

    On the CPU (float32/float64, 4-D) it is computed as nine shifted-slice additions, in the
    order of PyTorch's CPU kernel, so values and gradients (first and second order) are
    bit-identical to ``nn.AvgPool2d(3, 1, 1, count_include_pad=False)`` and 3-5x faster
    (that kernel is as slow as a 3x3 convolution of the same tensor). Elsewhere it calls
    ``F.avg_pool2d``.
    """

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.device.type == "cpu" and inputs.dim() == 4 and inputs.dtype in (torch.float32, torch.float64):
            return _Pool3x3.apply(inputs)
        return F.avg_pool2d(inputs, 3, stride=1, padding=1, count_include_pad=False)


class AveragePooling(nn.Module):
    """The ``avg_pool_3x3`` operation: 3x3 average pooling (padding not counted).

    When the channel count changes, a 1x1 ReLU-Conv-BN projection runs first.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    stride : int
        Pooling stride.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.preprocess = (None if in_channels == out_channels
                           else ReLUConvBN(in_channels, out_channels, 1, 1, 0))
        self.op = (AveragePool3x3() if stride == 1
                   else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            inputs = self.preprocess(inputs)
        return self.op(inputs)


class ResidualReductionBlock(nn.Module):
    """Residual block between stages (the reference's ``ResNetBasicblock``).

    Two 3x3 ReLU-Conv-BN (the first with the given stride) plus a shortcut: with stride 2
    a 2x2 average pool then a bias-free 1x1 convolution; with stride 1 and a channel change a
    1x1 ReLU-Conv-BN; otherwise the identity.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    stride : int
        1 or 2.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"ResidualReductionBlock: invalid stride {stride}")
        self.conv_a = ReLUConvBN(in_channels, out_channels, 3, stride, 1)
        self.conv_b = ReLUConvBN(out_channels, out_channels, 3, 1, 1)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=0, bias=False),
            )
        elif in_channels != out_channels:
            self.downsample = ReLUConvBN(in_channels, out_channels, 1, 1, 0)
        else:
            self.downsample = None
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        branch = self.conv_b(self.conv_a(inputs))
        shortcut = inputs if self.downsample is None else self.downsample(inputs)
        return shortcut + branch


def make_operation(name: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Build one cell-edge operation by its NATS-Bench name.

    Parameters
    ----------
    name : str
        One of :data:`greenmachine.spaces.tss.OPERATION_NAMES`.
    in_channels, out_channels : int
        Channel counts of the edge.
    stride : int
        Stride of the edge (1 inside NATS-Bench cells).

    Returns
    -------
    torch.nn.Module
        The operation module.

    Raises
    ------
    ValueError
        If ``name`` is not a known operation.
    """
    builders = {
        "none": lambda: Zero(in_channels, out_channels, stride),
        "skip_connect": lambda: (nn.Identity() if stride == 1 and in_channels == out_channels
                                 else FactorizedReduce(in_channels, out_channels, stride)),
        "nor_conv_1x1": lambda: ReLUConvBN(in_channels, out_channels, 1, stride, 0),
        "nor_conv_3x3": lambda: ReLUConvBN(in_channels, out_channels, 3, stride, 1),
        "avg_pool_3x3": lambda: AveragePooling(in_channels, out_channels, stride),
    }
    if name in builders:
        return builders[name]()
    raise ValueError(f"unknown operation {name!r}; expected one of {', '.join(builders)}")


class Cell(nn.Module):
    """A NATS-Bench cell: a 4-node DAG whose nodes sum their incoming edges.

    Edges leaving the input node map ``in_channels`` to ``out_channels``; all other edges map
    ``out_channels`` to ``out_channels``. The output is the last node.

    Parameters
    ----------
    edges : sequence of (str, int, int)
        ``(operation name, target node, source node)`` in the NATS-Bench string order
        (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2); this is also the execution order.
    in_channels, out_channels : int
        Channel counts of the cell.
    """

    def __init__(self, edges, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.edge_targets: list[int] = []
        self.edge_sources: list[int] = []
        self.edges = nn.ModuleList()
        for name, target, source in edges:
            channels_in = in_channels if source == 0 else out_channels
            self.edges.append(make_operation(name, channels_in, out_channels, 1))
            self.edge_targets.append(target)
            self.edge_sources.append(source)
        self.node_count = max(self.edge_targets) + 1
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        nodes = [inputs]
        for node in range(1, self.node_count):
            total = None
            for edge, target, source in zip(self.edges, self.edge_targets, self.edge_sources):
                if target == node:
                    value = edge(nodes[source])
                    total = value if total is None else total + value
            nodes.append(total)
        return nodes[-1]


class MacroNetwork(nn.Module):
    """The NATS-Bench macro skeleton shared by the topology and size spaces.

    Stem (3x3 conv + BN), then for each stage its cells with a residual reduction block
    (stride 2) between stages, then BN + ReLU, global average pooling and a linear classifier.
    The forward pass returns the logits only.

    Parameters
    ----------
    cell_edges : sequence of (str, int, int)
        Edges of the (single, shared) cell genotype, see :class:`Cell`.
    layer_channels : sequence of int
        Output channels of every layer (cells and reduction blocks) in order.
    layer_reductions : sequence of bool
        True where the layer is a residual reduction block.
    num_classes : int
        Classifier outputs.
    """

    def __init__(self, cell_edges, layer_channels, layer_reductions, num_classes: int) -> None:
        super().__init__()
        stem_channels = layer_channels[0]
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels),
        )
        self.cells = nn.ModuleList()
        previous = stem_channels
        for channels, reduction in zip(layer_channels, layer_reductions):
            if reduction:
                layer: nn.Module = ResidualReductionBlock(previous, channels, 2)
            else:
                layer = Cell(cell_edges, previous, channels)
            self.cells.append(layer)
            previous = channels
        self.lastact = nn.Sequential(nn.BatchNorm2d(previous), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(previous, num_classes)
        self.num_classes = num_classes

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = self.stem(inputs)
        for layer in self.cells:
            features = layer(features)
        features = self.global_pooling(self.lastact(features))
        return self.classifier(features.flatten(1))
