"""Small CIFAR-10 CNNs written in the ordinary PyTorch style (activations called in ``forward``).

Imported by ``examples/cifar_models/zoo.py`` as a sibling package (``from models import *``),
the layout of a typical model repository; ``gm score --model examples/cifar_models/zoo.py:all_models``
loads it from any working directory. Every network takes 32x32 RGB images and returns logits.
"""

from models.densenet import DenseNet
from models.mobilenetv2 import MobileNetV2
from models.preact_resnet import PreActResNet18
from models.resnet import ResNet18
from models.resnext import ResNeXt
from models.vgg import VGG11

__all__ = ["DenseNet", "MobileNetV2", "PreActResNet18", "ResNeXt", "ResNet18", "VGG11"]
