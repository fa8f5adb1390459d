"""Six small CIFAR-10 CNNs for ``gm score``, imported from the sibling ``models`` package.

Run from any folder, for instance::

    gm score --proxy tss-cifar10 --model path/to/examples/cifar_models/zoo.py:all_models

``from models import *`` finds ``models/`` next to this file, as ``python zoo.py`` would:
``gm score`` makes the model file's own folder importable while it loads. The networks call
their activations the ordinary ways (``F.relu``, in-place ``F.relu``, ``F.relu6``,
``Tensor.relu()``) and cover residual and pre-activation blocks, grouped and depthwise
convolutions and concatenation. ``scripts/real_models_check.py`` scores them with every
shipped proxy and baseline.
"""

from models import *  # noqa: F401,F403 - the sibling package, as a model repository imports it


def all_models():
    """The six networks, in a fixed order (10 classes, small widths so a CPU scores them in seconds).

    The pre-activation ResNet is narrower (base width 12) than the ResNet-18 (16): at one
    width both have the same convolutions, hence the same FLOPs and the same SynFlow (which
    bypasses BatchNorm and feeds positive values, so ReLU placement does not matter).
    """
    return [ResNet18(), PreActResNet18(width=12), ResNeXt(), MobileNetV2(), DenseNet(), VGG11()]  # noqa: F405


def named_models():
    """``(name, network)`` pairs of :func:`all_models`, for tables."""
    names = ("ResNet18", "PreActResNet18", "ResNeXt", "MobileNetV2", "DenseNet", "VGG11")
    return list(zip(names, all_models()))


if __name__ == "__main__":
    import torch

    for name, model in named_models():
        logits = model(torch.zeros(2, 3, 32, 32))
        print(f"{name:16s} {sum(p.numel() for p in model.parameters()):8d} parameters, logits {tuple(logits.shape)}")
