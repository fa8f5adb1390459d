"""What the reference baselines share: model preservation, seeded draws, Gaussian re-initialisation.

Called by the baseline modules of :mod:`greenmachine.baselines.reference`. The score functions never
change the model they are given: they run inside :class:`greenmachine.probe.passes.common.Preserved`
(parameters, buffers, training flags and gradients restored on exit), the probe's one home
for that.
"""

from __future__ import annotations

import torch
from torch import nn

from greenmachine.probe.passes.common import Preserved

__all__ = ["Preserved", "gaussian_reinitialise", "generator", "weighted_modules"]


def generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (draws are made on the CPU, then moved)."""
    return torch.Generator().manual_seed(int(seed))


def weighted_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every Conv2d and Linear in ``model.named_modules()`` order (as the released codes walk them)."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))]


def gaussian_reinitialise(model: nn.Module, draws: torch.Generator) -> None:
    """Zen-NAS's and SWAP's ``network_weight_gaussian_init``, with seeded draws.

    Every Conv2d and Linear weight ~ N(0, 1) and bias 0; BatchNorm2d and GroupNorm weight 1,
    bias 0; BatchNorm running statistics are left as they are (the released function does
    not reset them). Weights are drawn in ``model.modules()`` order from ``draws``.
    """
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.copy_(torch.randn(module.weight.shape, generator=draws))
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
