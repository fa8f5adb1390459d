"""The NAS-Bench-Macro network in PyTorch (the modules behind :func:`greenmachine.spaces.macro.build_macro_network`).

Called by :mod:`greenmachine.spaces.macro` when a network is built (this module imports torch; the
arch grammar does not). Written from the benchmark's description (see the docstring of
:mod:`greenmachine.spaces.macro`): convolutions without bias, affine BatchNorm, ``nn.ReLU`` modules
(not in-place, so activation hooks see their inputs unchanged), and every Conv2d/Linear
registered in the order the forward pass runs it.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from greenmachine.spaces.macro_layout import BLOCKS, HEAD_CHANNELS, IDENTITY, STEM_CHANNELS, stage_of_layer


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1,
            relu: bool = True) -> nn.Sequential:
    """A bias-free convolution (padding ``kernel_size // 2``), BatchNorm and, optionally, ReLU."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                  groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: pointwise expansion, depthwise convolution, linear pointwise projection.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the block's input and output.
    stride : int
        Stride of the depthwise convolution (1 or 2).
    expansion : int
        Hidden channels = ``expansion * in_channels``.
    kernel_size : int
        Depthwise kernel size.

    Notes
    -----
    The block adds its input to its output where ``stride == 1`` and the channels match.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int, kernel_size: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.residual = stride == 1 and in_channels == out_channels
        self.body = nn.Sequential(
            conv_bn(in_channels, hidden, 1),
            conv_bn(hidden, hidden, kernel_size, stride=stride, groups=hidden),
            conv_bn(hidden, out_channels, 1, relu=False),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.body(inputs)
        return outputs + inputs if self.residual else outputs


class MacroNetwork(nn.Module):
    """A NAS-Bench-Macro network: stem, 8 chosen layers in 3 stages, head, classifier.

    Parameters
    ----------
    choices : sequence of int
        Eight digits in 0..2 (:class:`greenmachine.spaces.macro.MacroArch`).
    num_classes : int
        Classifier outputs.
    """

    def __init__(self, choices: Sequence[int], num_classes: int) -> None:
        super().__init__()
        self.stem = conv_bn(3, STEM_CHANNELS, 3)
        layers: list[nn.Module] = []
        channels = STEM_CHANNELS
        for choice, (_stage, first) in zip(choices, stage_of_layer()):
            out_channels, stride = (channels * 2, 2) if first else (channels, 1)
            if choice == IDENTITY:
                layers.append(conv_bn(channels, out_channels, 1, stride=2, relu=False) if first else nn.Identity())
            else:
                expansion, kernel = BLOCKS[choice]
                layers.append(InvertedResidual(channels, out_channels, stride, expansion, kernel))
            channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.head = conv_bn(channels, HEAD_CHANNELS, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.head(self.layers(self.stem(images)))
        return self.classifier(torch.flatten(self.pool(features), 1))


__all__ = ["InvertedResidual", "MacroNetwork", "conv_bn"]
