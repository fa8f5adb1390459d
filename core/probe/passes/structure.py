"""The structure pass: channel counts, kernel sizes, parameter and FLOP counts per layer.

Called by :func:`core.probe.engine.probe_model` first, before the data passes. No data:
one batch-1 forward of zeros, without gradients, records each weighted layer's input shape.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.probe.passes.common import ProbeRecord
from core.spaces import count_flops, count_parameters


def structure_pass(model: nn.Module, layers: list[tuple[str, nn.Module]], input_shape: tuple[int, ...],
                   record: ProbeRecord) -> None:
    """Record shapes, parameter and FLOP counts (one batch-1 forward, no gradients).

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    layers : list of (str, torch.nn.Module)
        Its weighted layers in forward order.
    input_shape : tuple of int
        ``(1, 3, H, W)``.
    record : ProbeRecord
        Filled in place.
    """
    shapes: dict[int, tuple[int, ...]] = {}

    def pre_hook(module, inputs):
        shapes.setdefault(id(module), tuple(inputs[0].shape))

    handles = [module.register_forward_pre_hook(pre_hook) for _, module in layers]
    parameter = next(model.parameters())
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, device=parameter.device, dtype=parameter.dtype))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    inputs, outputs, kernels, params, flops = [], [], [], [], []
    for _, module in layers:
        if isinstance(module, nn.Conv2d):
            inputs.append(module.in_channels)
            outputs.append(module.out_channels)
            kernels.append(module.kernel_size[0] * module.kernel_size[1])
        else:
            inputs.append(module.in_features)
            outputs.append(module.out_features)
            kernels.append(1)
        params.append(sum(p.numel() for p in module.parameters(recurse=False)))
        flops.append(count_flops(module, (1,) + shapes[id(module)][1:]) if id(module) in shapes else 0)
    count = len(layers)
    record.layer["input_channels"] = np.asarray(inputs, dtype=np.float64)
    record.layer["output_channels"] = np.asarray(outputs, dtype=np.float64)
    record.layer["kernel_area"] = np.asarray(kernels, dtype=np.float64)
    record.layer["parameters"] = np.asarray(params, dtype=np.float64)
    record.layer["flops"] = np.asarray(flops, dtype=np.float64)
    record.layer["relative_depth"] = (np.arange(count, dtype=np.float64) + 1.0) / max(count, 1)
    record.network["parameters"] = float(count_parameters(model))
    record.network["flops"] = float(np.sum(flops))
    record.network["weighted_layers"] = float(count)
    record.passes.add("structure")
