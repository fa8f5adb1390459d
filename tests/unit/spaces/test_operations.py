"""The fast CPU ``avg_pool_3x3`` of the TSS networks equals PyTorch's pooling bit for bit.

:class:`greenmachine.spaces.operations.AveragePool3x3` replaces ``nn.AvgPool2d(3, 1, 1,
count_include_pad=False)`` (whose CPU kernel is as slow as a convolution); its values, its
gradients and its second-order gradients (GraSP) must be the same float bits.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from greenmachine.spaces.operations import AveragePool3x3

SHAPES = [(8, 16, 32, 32), (16, 64, 8, 8), (3, 5, 7, 6), (2, 3, 1, 1), (2, 3, 1, 5), (1, 1, 2, 3)]


def _reference(values):
    return F.avg_pool2d(values, 3, stride=1, padding=1, count_include_pad=False)


def _bits(tensor):
    tensor = tensor.detach().contiguous()
    return tensor.view(torch.int32 if tensor.dtype == torch.float32 else torch.int64)


def _same(first, second):
    return first.shape == second.shape and torch.equal(_bits(first), _bits(second))


def _inputs(shape, dtype, kind, generator):
    values = torch.randn(shape, dtype=dtype, generator=generator)
    if kind == "zeros":
        values[values.abs() < 0.5] = 0.0
        values[values < -1.0] = -0.0
    elif kind == "wide":
        values = values.exp() * 1e30 - 1e29
    elif kind == "special":
        values.view(-1)[0] = float("nan")
        values.view(-1)[-1] = float("inf")
    return values


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", ["plain", "zeros", "wide", "special"])
def test_pool_values_and_gradients_are_bit_identical(dtype, kind):
    generator = torch.Generator().manual_seed(0)
    pool = AveragePool3x3()
    for shape in SHAPES:
        values = _inputs(shape, dtype, kind, generator)
        first = values.clone().requires_grad_(True)
        second = values.clone().requires_grad_(True)
        expected, got = _reference(first), pool(second)
        assert _same(expected, got), ("values", shape)
        grad = torch.randn(expected.shape, dtype=dtype, generator=generator)
        grad[grad.abs() < 0.2] = -0.0
        first_grad = grad.clone().requires_grad_(True)
        second_grad = grad.clone().requires_grad_(True)
        (expected_input_grad,) = torch.autograd.grad(expected, first, first_grad, create_graph=True)
        (got_input_grad,) = torch.autograd.grad(got, second, second_grad, create_graph=True)
        assert _same(expected_input_grad, got_input_grad), ("gradient", shape)
        weights = torch.randn(expected_input_grad.shape, dtype=dtype, generator=generator)
        (expected_second,) = torch.autograd.grad((expected_input_grad * weights).sum(), first_grad)
        (got_second,) = torch.autograd.grad((got_input_grad * weights).sum(), second_grad)
        assert _same(expected_second, got_second), ("second order", shape)
        ones = torch.ones((), dtype=dtype).expand(expected.shape)  # a non-contiguous gradient
        assert _same(torch.autograd.grad(_reference(first), first, ones)[0],
                     torch.autograd.grad(pool(second), second, ones)[0]), ("expanded gradient", shape)


def test_pool_falls_back_to_pytorch_for_other_inputs():
    values = torch.randn(2, 3, 5, 5).to(torch.bfloat16)
    assert torch.equal(AveragePool3x3()(values), _reference(values))
