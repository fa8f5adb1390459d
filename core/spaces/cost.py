"""Parameter and FLOP counts with the NATS-Bench (xautodl) conventions.

Called by :mod:`greenmachine.spaces` users: the probe's network-level ``params`` / ``flops``
statistics and the tests that check our networks against the benchmark tables.

Conventions (xautodl ``utils/flop_benchmark.py``, used to fill the NATS-Bench cost tables):

* parameters: every trainable tensor, BatchNorm weight and bias included (running
  statistics are buffers, not counted); the tables print millions (1e6);
* FLOPs: multiply-accumulates of ``Conv2d``, ``Conv1d`` and ``Linear`` layers only, per
  image; a bias adds one operation per output element. Pooling, BatchNorm, ReLU and the
  element-wise sums of cells are not counted. The tables print millions (1e6).
"""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Count the parameters of a model (BatchNorm affine parameters included).

    Parameters
    ----------
    model : torch.nn.Module
        Any model.

    Returns
    -------
    int
        Number of scalar parameters; divide by 1e6 for NATS-Bench's ``params`` ("MB").
    """
    return sum(parameter.numel() for parameter in model.parameters())


def layer_flops(module: nn.Module, output: torch.Tensor) -> int:
    """FLOPs of one Conv/Linear call for one image, given its output tensor.

    The per-layer term of :func:`count_flops`; ``output`` may hold any number of images
    (the count is per image). Other modules count 0.
    """
    if isinstance(module, nn.Conv2d):
        output_height, output_width = output.shape[-2:]
        kernel_height, kernel_width = module.kernel_size
        positions = output_height * output_width
        flops = (kernel_height * kernel_width * module.in_channels * module.out_channels
                 // module.groups) * positions
        if module.bias is not None:
            flops += module.out_channels * positions
        return int(flops)
    if isinstance(module, nn.Conv1d):
        (kernel,) = module.kernel_size
        positions = output.shape[-1]
        flops = kernel * module.in_channels * module.out_channels // module.groups * positions
        if module.bias is not None:
            flops += module.out_channels * positions
        return int(flops)
    if isinstance(module, nn.Linear):
        # One output row per image; extra leading dimensions multiply the work.
        rows = output.numel() // output.shape[-1] // output.shape[0] if output.dim() > 1 else 1
        flops = module.in_features * module.out_features
        if module.bias is not None:
            flops += module.out_features
        return int(flops * rows)
    return 0


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Count multiply-accumulates per image with the NATS-Bench convention.

    One forward pass on a zero tensor runs in ``torch.no_grad`` and eval mode (the model's
    training flag is restored afterwards); only ``Conv2d``, ``Conv1d`` and ``Linear`` calls are
    counted, each as ``kernel_height * kernel_width * in_channels * out_channels / groups``
    per output position (plus one per output element for a bias).

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    input_shape : tuple of int
        Shape of the input, with or without the batch dimension, e.g. ``(1, 3, 32, 32)`` or
        ``(3, 32, 32)``; the count is per image.

    Returns
    -------
    int
        FLOPs per image; divide by 1e6 for NATS-Bench's ``flops`` column.
    """
    shape = tuple(int(size) for size in input_shape)
    if len(shape) == 3:
        shape = (1,) + shape
    total = 0

    def hook(module: nn.Module, _inputs, output) -> None:
        nonlocal total
        total += layer_flops(module, output)

    handles = [module.register_forward_hook(hook) for module in model.modules()
               if isinstance(module, (nn.Conv2d, nn.Conv1d, nn.Linear))]
    was_training = model.training
    try:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        dtype = parameter.dtype if parameter is not None else torch.float32
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1,) + shape[1:], device=device, dtype=dtype))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total
