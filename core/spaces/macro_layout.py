"""The layout of a NAS-Bench-Macro network: stages, channels and the choice of each digit.

Light constants shared by :mod:`greenmachine.spaces.macro` (the space, which re-exports them) and
:mod:`greenmachine.spaces.macro_network` (the PyTorch modules), so that the network module does not
import the space module that loads it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

STAGE_LAYERS: tuple[int, ...] = (2, 3, 3)
"""Searchable layers in each of the three stages."""

LAYER_COUNT = sum(STAGE_LAYERS)
"""Digits of an arch string (8)."""

STEM_CHANNELS = 32
"""Channels of the stem; each stage doubles them (64, 128, 256)."""

HEAD_CHANNELS = 1280
"""Channels of the head's 1x1 convolution."""

IDENTITY = 0
"""The digit of the identity layer."""

BLOCKS: Any = MappingProxyType({1: (3, 3), 2: (6, 5)})
"""Digit -> (expansion ratio, depthwise kernel size) of the two inverted residual blocks."""

CHOICE_NAMES: tuple[str, ...] = ("identity", "mbconv_e3_k3", "mbconv_e6_k5")
"""Names of the three choices, in digit order."""

RUNS = 3
"""Training runs per network in the benchmark."""


def stage_of_layer() -> tuple[tuple[int, bool], ...]:
    """Return ``(stage, first layer of its stage)`` for each of the 8 layers."""
    layout = []
    for stage, count in enumerate(STAGE_LAYERS):
        layout.extend((stage, position == 0) for position in range(count))
    return tuple(layout)
