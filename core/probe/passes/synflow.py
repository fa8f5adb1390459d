"""The synflow pass: SynFlow and FreeREA's logsynflow per weighted layer.

Called by :func:`greenmachine.probe.engine.probe_model` after the main pass. The network in float64
with |W|, BatchNorm bypassed (as ``bn=False`` in the zero-cost-nas reference and FreeREA),
one all-ones input; R = sum of outputs. ``scripts/bench_probe.py`` compares it with the
reference's deep-copy form, :func:`without_batchnorm`.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from greenmachine.probe.passes.common import Preserved, ProbeRecord, non_finite_description, set_training, to_numpy


def without_batchnorm(model: nn.Module) -> nn.Module:
    """Return a deep copy of ``model`` whose BatchNorm layers are identities."""
    clone = copy.deepcopy(model)
    for module in list(clone.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, _BatchNorm):
                setattr(module, child_name, nn.Identity())
    return clone


def synflow_pass(model: nn.Module, input_shape: tuple[int, ...], record: ProbeRecord,
                 layers: list[tuple[str, nn.Module]] | None = None) -> None:
    """SynFlow (Tanaka et al. 2020) per weighted layer, as in the zero-cost-nas / FreeREA code.

    The network in float64 with every parameter replaced by its absolute value and
    BatchNorm bypassed is fed one all-ones image; R = sum of the logits is back-propagated.
    Per layer: ``synflow = sum |W * dR/dW|`` and FreeREA's
    ``logsynflow = sum |W * log(dR/dW + 1)|``. The model is restored afterwards.
    ``layers`` is the probe's layer order (default: registration order).
    """
    from greenmachine.spaces import weighted_layers

    modules = [module for _, module in (layers if layers is not None else weighted_layers(model))]

    with Preserved(model, copy=False) as preserved:
        preserved.bypass_batchnorm()
        preserved.to_float64()
        set_training(preserved.modules, True)
        with torch.no_grad():
            for parameter, _ in preserved.parameters:
                parameter.abs_()
        parameter = next(model.parameters())
        ones = torch.ones((1,) + tuple(input_shape[1:]), dtype=torch.float64, device=parameter.device)
        output = model(ones)
        problem = non_finite_description(output)
        if problem is not None:
            record.broken_passes["synflow"] = (f"its output on the synflow pass's all-ones input (|W|, float64, "
                                               f"no BatchNorm) is not finite ({problem})")
        output.sum().backward()
        synflow, logsynflow = [], []
        for module in modules:
            weight = module.weight.detach()
            grad = module.weight.grad
            if grad is None:
                grad = torch.zeros_like(weight)
            synflow.append((weight * grad).abs().sum())
            logsynflow.append((weight * torch.log(grad + 1.0)).abs().sum())
    record.layer["synflow"] = to_numpy(torch.stack(synflow))
    record.layer["logsynflow"] = to_numpy(torch.stack(logsynflow))
    record.passes.add("synflow")
