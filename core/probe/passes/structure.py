"""The structure pass: channel counts, kernel sizes, parameter and FLOP counts per layer, and the dataflow graph.

Called by :func:`greenmachine.probe.engine.probe_model` first, before the data passes. No data:
one batch-1 forward of zeros in evaluation mode, without gradients, records each weighted
layer's FLOPs at its first call and the network's dataflow graph
(:mod:`greenmachine.probe.passes.graph`: depths, path counts, main-path width); or the engine
records both during the forward pass that finds the layer order (see :class:`LayerFlops`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from greenmachine.probe.passes.common import ProbeRecord
from greenmachine.probe.passes.graph import DataflowRecorder, record_graph
from greenmachine.spaces.cost import count_parameters, layer_flops


class LayerFlops:
    """Forward hooks that record the FLOPs of each given layer at its first call.

    The count of :func:`greenmachine.spaces.count_flops` for the layer alone (it depends only on the
    output's shape per image), without a forward pass per layer. Use as a context manager
    around any forward pass (or pass it to :func:`structure_pass`, which runs its own).

    Parameters
    ----------
    modules : iterable of torch.nn.Module
        The weighted layers to watch.
    """

    def __init__(self, modules) -> None:
        self.modules = list(modules)
        self.flops: dict[int, int] = {}
        self.handles: list = []

    def _hook(self, module, inputs, output) -> None:
        if id(module) not in self.flops:
            self.flops[id(module)] = layer_flops(module, output)

    def __enter__(self) -> "LayerFlops":
        self.handles = [module.register_forward_hook(self._hook) for module in self.modules]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def structure_pass(model: nn.Module, layers: list[tuple[str, nn.Module]], input_shape: tuple[int, ...],
                   record: ProbeRecord, recorded: LayerFlops | None = None,
                   graph: DataflowRecorder | None = None) -> None:
    """Record shapes, parameter and FLOP counts and the dataflow graph (one batch-1 forward, no gradients).

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
    recorded : LayerFlops, optional
        FLOPs already recorded (watching every layer of ``layers``) during an evaluation-mode
        forward pass of one image (e.g. the one that found the layer order).
    graph : DataflowRecorder, optional
        The dataflow graph recorded during that same forward. Given both ``recorded`` and
        ``graph``, the pass runs no forward of its own.
    """
    if recorded is None or graph is None:
        recorded = LayerFlops(module for _, module in layers) if recorded is None else recorded
        graph = DataflowRecorder(model) if graph is None else graph
        parameter = next(model.parameters())
        was_training = model.training
        with recorded, graph:
            try:
                model.eval()
                with torch.no_grad():
                    model(torch.zeros(input_shape, device=parameter.device, dtype=parameter.dtype))
            finally:
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
        flops.append(recorded.flops.get(id(module), 0))
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
    record_graph(graph, record)
    record.passes.add("structure")
