"""A pre-activation ResNet-18 for CIFAR-10: BN and ``F.relu`` before each convolution."""

import torch.nn.functional as F
from torch import nn


class PreActBlock(nn.Module):
    """BN-ReLU-conv twice; the shortcut branches off the first pre-activation when it projects."""

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride, bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """Stem convolution, four stages of pre-activation blocks, final BN-ReLU, pooling, linear head."""

    def __init__(self, blocks=(2, 2, 2, 2), width=16, num_classes=10):
        super().__init__()
        self.in_planes = width
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        stages = []
        for index, count in enumerate(blocks):
            planes = width * 2 ** index
            for stride in [1 if index == 0 else 2] + [1] * (count - 1):
                stages.append(PreActBlock(self.in_planes, planes, stride))
                self.in_planes = planes
        self.layers = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(self.in_planes)
        self.linear = nn.Linear(self.in_planes, num_classes)

    def forward(self, x):
        out = self.layers(self.conv1(x))
        out = F.relu(self.bn(out))
        out = F.avg_pool2d(out, out.shape[-1]).view(out.size(0), -1)
        return self.linear(out)


def PreActResNet18(width=16, num_classes=10):
    """Pre-activation ResNet-18 (2, 2, 2, 2 blocks) at base width ``width``."""
    return PreActResNet((2, 2, 2, 2), width, num_classes)
