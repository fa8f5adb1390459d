"""The NAS-Bench-101 network in PyTorch (the modules behind :func:`greenmachine.spaces.nb101.build_nb101_network`).

Called by :mod:`greenmachine.spaces.nb101` when a network is built (this module imports torch; the
arch grammar does not). Written from the benchmark's description (see the docstring of
:mod:`greenmachine.spaces.nb101`): convolutions without bias, affine BatchNorm, ``nn.ReLU`` modules
(not in-place), global average pooling as an ``nn.AdaptiveAvgPool2d`` module (proxies that
read the features before it find it, as Zen-NAS's code does), and every Conv2d/Linear
registered in the order the forward pass runs it (in a cell: vertex by vertex, the input
projection of a vertex before its operation, the output projection last).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from greenmachine.spaces.nb101_layout import CELLS_PER_STACK, STACKS, STEM_CHANNELS, vertex_channels


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """A bias-free convolution (stride 1, same padding), BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=False),
    )


def vertex_operation(label: str, channels: int) -> nn.Module:
    """The operation of an interior vertex (its input already has ``channels`` channels)."""
    if label == "conv3x3-bn-relu":
        return conv_bn_relu(channels, channels, 3)
    if label == "conv1x1-bn-relu":
        return conv_bn_relu(channels, channels, 1)
    if label == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NAS-Bench-101 operation {label!r}")


def truncate(tensor: torch.Tensor, channels: int) -> torch.Tensor:
    """The first ``channels`` channels of ``tensor`` (the tensor itself when it has no more)."""
    return tensor if tensor.shape[1] == channels else tensor[:, :channels]


class Vertex(nn.Module):
    """One interior vertex: the projection of the cell input (when it reads it), then the operation."""

    def __init__(self, projection: nn.Module | None, operation: nn.Module) -> None:
        super().__init__()
        self.projection = projection
        self.operation = operation


class Cell(nn.Module):
    """A NAS-Bench-101 cell (module) of a pruned matrix.

    Parameters
    ----------
    matrix : sequence of sequence of int
        Pruned adjacency matrix (``matrix[source][target]``).
    labels : sequence of str
        Vertex labels (``input``, operations, ``output``).
    in_channels, out_channels : int
        Channels of the cell's input and output.
    """

    def __init__(self, matrix: Sequence[Sequence[int]], labels: Sequence[str], in_channels: int,
                 out_channels: int) -> None:
        super().__init__()
        self.matrix = [list(row) for row in matrix]
        self.channels = vertex_channels(in_channels, out_channels, self.matrix)
        output = len(self.matrix) - 1
        self.vertices = nn.ModuleList(
            Vertex(conv_bn_relu(in_channels, self.channels[vertex], 1) if self.matrix[0][vertex] else None,
                   vertex_operation(labels[vertex], self.channels[vertex]))
            for vertex in range(1, output))
        self.output_projection = conv_bn_relu(in_channels, out_channels, 1) if self.matrix[0][output] else None

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        output = len(self.matrix) - 1
        values = [inputs]
        concatenated = []
        for vertex, module in enumerate(self.vertices, start=1):
            channels = self.channels[vertex]
            terms = [truncate(values[source], channels) for source in range(1, vertex) if self.matrix[source][vertex]]
            if module.projection is not None:
                terms.append(module.projection(inputs))
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            values.append(module.operation(total))
            if self.matrix[vertex][output]:
                concatenated.append(values[vertex])
        if not concatenated:
            return self.output_projection(inputs)
        result = concatenated[0] if len(concatenated) == 1 else torch.cat(concatenated, dim=1)
        if self.output_projection is not None:
            result = result + self.output_projection(inputs)
        return result


class NB101Network(nn.Module):
    """The NAS-Bench-101 network: stem, 3 stacks of 3 cells with max-pool downsampling, classifier.

    Parameters
    ----------
    matrix : sequence of sequence of int
        The cell's pruned adjacency matrix.
    labels : sequence of str
        The cell's vertex labels.
    num_classes : int
        Classifier outputs.
    """

    def __init__(self, matrix: Sequence[Sequence[int]], labels: Sequence[str], num_classes: int) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, STEM_CHANNELS, 3)
        layers: list[nn.Module] = []
        in_channels = STEM_CHANNELS
        for stack in range(STACKS):
            out_channels = STEM_CHANNELS * 2 ** stack
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
            for _cell in range(CELLS_PER_STACK):
                layers.append(Cell(matrix, labels, in_channels, out_channels))
                in_channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.layers(self.stem(images))
        return self.classifier(torch.flatten(self.pool(features), 1))


__all__ = ["Cell", "NB101Network", "Vertex", "conv_bn_relu", "truncate", "vertex_operation"]
