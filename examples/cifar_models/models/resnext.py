"""A ResNeXt-style network for CIFAR-10: bottlenecks with grouped 3x3 convolutions, in-place ``F.relu``."""

import torch.nn.functional as F
from torch import nn


class Bottleneck(nn.Module):
    """1x1 reduce, grouped 3x3 (``cardinality`` groups), 1x1 expand, projection shortcut when needed."""

    expansion = 2

    def __init__(self, in_planes, cardinality=4, group_width=4, stride=1):
        super().__init__()
        inner = cardinality * group_width
        self.conv1 = nn.Conv2d(in_planes, inner, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, inner, 3, stride, 1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv3 = nn.Conv2d(inner, self.expansion * inner, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(self.expansion * inner)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * inner:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, self.expansion * inner, 1, stride, bias=False),
                                          nn.BatchNorm2d(self.expansion * inner))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        out += self.shortcut(x)
        return F.relu(out, inplace=True)


class ResNeXt(nn.Module):
    """Three stages of grouped bottlenecks; the group width doubles at each stage."""

    def __init__(self, blocks=(1, 1, 1), cardinality=4, group_width=4, num_classes=10):
        super().__init__()
        self.in_planes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages = []
        for index, count in enumerate(blocks):
            for stride in [1 if index == 0 else 2] + [1] * (count - 1):
                block = Bottleneck(self.in_planes, cardinality, group_width, stride)
                stages.append(block)
                self.in_planes = Bottleneck.expansion * cardinality * group_width
            group_width *= 2
        self.layers = nn.Sequential(*stages)
        self.linear = nn.Linear(self.in_planes, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.adaptive_avg_pool2d(out, (1, 1))
        return self.linear(out.view(out.size(0), -1))
