"""A MobileNetV2-style network for CIFAR-10: inverted residuals, depthwise convolutions, ``F.relu6``."""

import torch.nn.functional as F
from torch import nn


class InvertedResidual(nn.Module):
    """1x1 expand, 3x3 depthwise, 1x1 linear projection; a residual when the shape is kept."""

    def __init__(self, in_planes, out_planes, expansion, stride):
        super().__init__()
        hidden = in_planes * expansion
        self.use_residual = stride == 1 and in_planes == out_planes
        self.expand = nn.Conv2d(in_planes, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.depthwise = nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False)
        self.bn2 = nn.BatchNorm2d(hidden)
        self.project = nn.Conv2d(hidden, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)

    def forward(self, x):
        out = F.relu6(self.bn1(self.expand(x)))
        out = F.relu6(self.bn2(self.depthwise(out)))
        out = self.bn3(self.project(out))
        return out + x if self.use_residual else out


class MobileNetV2(nn.Module):
    """Stem, inverted-residual stages given as (expansion, channels, blocks, stride), 1x1 head conv."""

    settings = ((1, 8, 1, 1), (6, 12, 2, 1), (6, 16, 2, 2), (6, 32, 2, 2), (6, 48, 1, 1))

    def __init__(self, num_classes=10, head=128):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, in_planes = [], 16
        for expansion, out_planes, count, stride in self.settings:
            for block_stride in [stride] + [1] * (count - 1):
                blocks.append(InvertedResidual(in_planes, out_planes, expansion, block_stride))
                in_planes = out_planes
        self.blocks = nn.Sequential(*blocks)
        self.conv2 = nn.Conv2d(in_planes, head, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(head)
        self.linear = nn.Linear(head, num_classes)

    def forward(self, x):
        out = F.relu6(self.bn1(self.conv1(x)))
        out = self.blocks(out)
        out = F.relu6(self.bn2(self.conv2(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)
