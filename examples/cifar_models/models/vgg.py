"""A VGG-11-style network for CIFAR-10: conv-BN stacks activated with ``Tensor.relu()``, max pooling.

The feature map is averaged with ``x.mean((2, 3))`` before the classifier (1 x 1 at 32 x 32
inputs), so the network also runs on larger images.
"""

from torch import nn

#: Output channels per convolution ("M": 2x2 max pooling), VGG-11 at a quarter of its width.
CONFIG = (16, "M", 32, "M", 64, 64, "M", 128, 128, "M", 128, 128, "M")


class VGG(nn.Module):
    """Convolutions in a ModuleList applied with ``x.relu()``, spatial mean, then a two-layer classifier."""

    def __init__(self, config=CONFIG, num_classes=10):
        super().__init__()
        self.convs, self.norms, self.pool_after = nn.ModuleList(), nn.ModuleList(), []
        in_planes = 3
        for item in config:
            if item == "M":
                self.pool_after[-1] = True
                continue
            self.convs.append(nn.Conv2d(in_planes, item, 3, padding=1, bias=False))
            self.norms.append(nn.BatchNorm2d(item))
            self.pool_after.append(False)
            in_planes = item
        self.pool = nn.MaxPool2d(2)
        self.hidden = nn.Linear(in_planes, 64)
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x):
        for conv, norm, pool in zip(self.convs, self.norms, self.pool_after):
            x = norm(conv(x)).relu()
            if pool:
                x = self.pool(x)
        x = x.mean((2, 3))
        return self.classifier(self.hidden(x).relu())


def VGG11(num_classes=10):
    """VGG-11 layout at a quarter of the original widths."""
    return VGG(CONFIG, num_classes)
