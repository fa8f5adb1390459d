"""Seeded weight initialisation of the probe's networks: the one place weights are drawn.

Called by :mod:`greenmachine.probe.engine` (every network, before the passes: Kaiming normal,
``mode='fan_out'``) and by the noise pass :mod:`greenmachine.probe.passes.noise` (Zen-NAS's
N(0, 1) re-initialisation). Both schemes draw every Conv2d/Linear weight from a
``torch.Generator`` seeded by the caller, set biases to 0, BatchNorm weights to 1 and biases
to 0, and reset BatchNorm running statistics; they differ only in the weight's standard
deviation.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

#: ``N(0, 2 / fan_out)`` weights (Kaiming normal, ``mode='fan_out'``, as FreeREA for NATS).
KAIMING_FAN_OUT = "kaiming_fan_out"
#: ``N(0, 1)`` weights (Zen-NAS).
UNIT_GAUSSIAN = "unit_gaussian"
SCHEMES = (KAIMING_FAN_OUT, UNIT_GAUSSIAN)


def _weight_std(weight: torch.Tensor, scheme: str) -> float:
    if scheme == UNIT_GAUSSIAN:
        return 1.0
    receptive = weight[0][0].numel() if weight.dim() > 2 else 1
    fan_out = weight.shape[0] * receptive
    return (2.0 / fan_out) ** 0.5


def initialise(model: nn.Module, seed: int, scheme: str = KAIMING_FAN_OUT,
               modules: list[nn.Module] | None = None) -> nn.Module:
    """Initialise ``model`` in place, reproducibly from ``seed``.

    Parameters
    ----------
    model : torch.nn.Module
        The network (any device; weights are drawn on the CPU and copied).
    seed : int
        Seed of the ``torch.Generator`` the weights are drawn from, in module order.
    scheme : str
        :data:`KAIMING_FAN_OUT` (default) or :data:`UNIT_GAUSSIAN`.
    modules : list of torch.nn.Module, optional
        ``list(model.modules())`` when the caller has it already (saves a walk).

    Returns
    -------
    torch.nn.Module
        ``model`` itself (its training mode unchanged).

    Raises
    ------
    ValueError
        For an unknown ``scheme``.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown initialisation scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    generator = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for module in model.modules() if modules is None else modules:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                weight = module.weight
                values = torch.randn(weight.shape, generator=generator)
                if scheme != UNIT_GAUSSIAN:  # (x * 1.0 == x: the unit scale is skipped)
                    values = values * _weight_std(weight, scheme)
                weight.copy_(values)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, _BatchNorm):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                    module.bias.zero_()
                module.reset_running_stats()
    return model
