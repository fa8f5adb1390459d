"""Lazy probing and layer order: a proxy's statistics need only some passes, with the same values.

Also checks the premise of the cheap layer walk: for the NATS-Bench networks the order of a
forward pass equals registration order.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greenmachine.errors import GMError
from greenmachine.probe.engine import build_initialised, passes_for, probe_model
from greenmachine.probe.registry import MAIN, NOISE, STRUCTURE, SYNFLOW, registered
from greenmachine.spaces import forward_layers, weighted_layers

TSS_ARCHS = ["|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
             "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|"]
SSS_ARCHS = ["8:16:24:32:64", "64:8:40:16:56"]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here probes on one torch thread (see conftest.py)."""


@pytest.mark.parametrize("space, arch", [("tss", a) for a in TSS_ARCHS] + [("sss", a) for a in SSS_ARCHS])
def test_nats_forward_order_equals_registration_order(space, arch):
    model = build_initialised(space, arch, "cifar10", 0, "cpu")
    images = torch.randn(1, 3, 32, 32)
    assert [n for n, _ in forward_layers(model, images)] == [n for n, _ in weighted_layers(model)]


def _batch():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(8, 3, 32, 32, generator=generator), torch.randint(0, 10, (8,), generator=generator)


@pytest.mark.parametrize("only", [{MAIN}, {SYNFLOW}, {NOISE}, {MAIN, SYNFLOW}, set()])
def test_lazy_probe_gives_the_full_probe_values(only):
    images, labels = _batch()
    full = probe_model(build_initialised("tss", TSS_ARCHS[0], "cifar10", 0, "cpu"), images, labels, 0)
    lazy = probe_model(build_initialised("tss", TSS_ARCHS[0], "cifar10", 0, "cpu"), images, labels, 0, only=only)
    bank = registered(grasp=False)
    expected = {name for name, s in bank.items() if s.needs in only | {STRUCTURE}} - {"non_finite_value_count"}
    got = set(lazy.layer_statistics) | set(lazy.network_statistics)
    assert expected <= got and got - expected <= {"non_finite_value_count"}
    for name in lazy.layer_statistics:
        np.testing.assert_array_equal(lazy.layer_statistics[name], full.layer_statistics[name])
    for name, value in lazy.network_statistics.items():
        if name != "non_finite_value_count":
            assert value == full.network_statistics[name]


def test_passes_for_a_formula():
    assert passes_for({"naswot", "fisher"}) == {STRUCTURE, MAIN}
    assert passes_for({"synflow"}) == {STRUCTURE, SYNFLOW}
    assert passes_for({"non_finite_value_count"}) >= {STRUCTURE, MAIN, SYNFLOW, NOISE}
    with pytest.raises(GMError, match="unknown statistic"):
        passes_for({"naswot", "no_such_statistic"})
