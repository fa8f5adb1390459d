"""Example candidate networks for ``gm score`` and ``greenmachine.load_proxy(...).rank``.

Run, for instance::

    gm score --proxy tss-cifar10 --model examples/models.py:candidates --dataset cifar10

``candidates()`` returns a few small ResNet- and VGG-style CNNs for 32x32 RGB images with
10 classes; ``resnet_with_features()`` returns a model whose forward gives
``(features, logits)``, which the probe also reads.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(inputs: int, outputs: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU())


class VGG(nn.Module):
    """Plain stacks of 3x3 convolutions with max pooling between stages, then a linear head."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64), depth: int = 2, classes: int = 10) -> None:
        super().__init__()
        layers, inputs = [], 3
        for width in widths:
            for _ in range(depth):
                layers.append(_conv_bn_relu(inputs, width))
                inputs = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(inputs, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).mean(dim=(2, 3)))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut."""

    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.first = _conv_bn_relu(inputs, outputs, stride)
        self.second = nn.Sequential(nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False), nn.BatchNorm2d(outputs))
        self.shortcut = (nn.Identity() if stride == 1 and inputs == outputs else
                         nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.second(self.first(images)) + self.shortcut(images))


class ResNet(nn.Module):
    """A small CIFAR ResNet: stem, three stages of basic blocks, global pooling, linear head."""

    def __init__(self, width: int = 16, blocks: int = 1, classes: int = 10, with_features: bool = False) -> None:
        super().__init__()
        self.stem = _conv_bn_relu(3, width)
        stages, inputs = [], width
        for stage in range(3):
            outputs = width * 2 ** stage
            for block in range(blocks):
                stages.append(BasicBlock(inputs, outputs, 2 if stage > 0 and block == 0 else 1))
                inputs = outputs
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(inputs, classes)
        self.with_features = with_features

    def forward(self, images: torch.Tensor):
        features = self.stages(self.stem(images)).mean(dim=(2, 3))
        logits = self.head(features)
        return (features, logits) if self.with_features else logits


def candidates() -> list[nn.Module]:
    """Four candidates: two VGG-style and two ResNet-style networks of different sizes."""
    return [VGG((16, 32, 64), 1), VGG((32, 64, 128), 2), ResNet(16, 1), ResNet(32, 2)]


def resnet_with_features() -> nn.Module:
    """A ResNet whose forward returns ``(features, logits)``."""
    return ResNet(16, 1, with_features=True)
