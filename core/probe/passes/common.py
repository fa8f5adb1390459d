"""What every pass shares: the raw-result record, tensor conversion, model preservation.

Called by the pass modules of :mod:`core.probe.passes`, by :mod:`core.probe.engine` (which
creates the :class:`ProbeRecord`) and by :mod:`core.probe.statistics` (which reads it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@dataclass
class ProbeRecord:
    """Raw results of the passes for one network.

    Attributes
    ----------
    layer_names : list of str
        Weighted layers (Conv2d, Linear) in forward order.
    batch_size : int
        Images of the real minibatch.
    layer : dict of str -> numpy.ndarray
        Raw per-layer float64 reductions (one value per weighted layer).
    network : dict of str -> float
        Raw network-level values.
    passes : set of str
        Passes that ran.
    """

    layer_names: list[str]
    batch_size: int
    layer: dict[str, np.ndarray] = field(default_factory=dict)
    network: dict[str, float] = field(default_factory=dict)
    passes: set[str] = field(default_factory=set)


def to_numpy(values: torch.Tensor) -> np.ndarray:
    """A float64 NumPy copy of ``values`` (detached, on the CPU)."""
    return values.detach().to("cpu", torch.float64).numpy().copy()


def _identity(inputs: torch.Tensor) -> torch.Tensor:
    return inputs


class Preserved:
    """Context manager restoring a model's dtype, parameters and buffers on exit.

    Cheaper than ``copy.deepcopy`` (only tensors are copied), so passes that transform the
    network (synflow's |W| in float64, the noise pass's Gaussian re-initialisation) work on
    the model itself and leave it exactly as it was.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.bypassed: list[nn.Module] = []

    def __enter__(self) -> "Preserved":
        parameter = next(self.model.parameters())
        self.dtype = parameter.dtype
        self.training = self.model.training
        self.snapshot = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return self

    def bypass_batchnorm(self) -> None:
        """Make every BatchNorm layer an identity until exit."""
        for module in self.model.modules():
            if isinstance(module, _BatchNorm):
                module.forward = _identity
                self.bypassed.append(module)

    def __exit__(self, *exc) -> None:
        for module in self.bypassed:
            module.__dict__.pop("forward", None)
        self.model.to(self.dtype)
        self.model.load_state_dict(self.snapshot)
        self.model.zero_grad(set_to_none=True)
        self.model.train(self.training)
