"""Tests of the probe's statistic bank and passes (real TSS/SSS networks, small batches)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greenmachine.errors import ArchStringError
from greenmachine.probe import (BANK_VERSION, describe_statistics, probe_network, register, statistic_names)
from greenmachine.probe import registry
from greenmachine.probe.engine import build_initialised, one_thread, resolve_device
from greenmachine.spaces import build_network, count_flops, count_parameters, weighted_layers

TSS_ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
    "|skip_connect~0|+|none~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
]
SSS_ARCH = "8:16:8:24:16"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def probed():
    return {arch: probe_network("tss", arch, "cifar10", 8, 0, "cpu") for arch in TSS_ARCHS} | {
        SSS_ARCH: probe_network("sss", SSS_ARCH, "cifar100", 8, 0, "cpu")}


def test_bank_has_at_least_40_documented_statistics():
    rows = describe_statistics()
    assert len(rows) >= 40
    assert len(statistic_names(grasp=True)) == len(rows)
    for name, kind, needs, doc in rows:
        registry.validate_name(name)
        assert kind in registry.KINDS and needs in registry.PASSES and doc
    for expected in ("weight_l2_norm", "gradient_absolute_mean", "activation_standard_deviation",
                     "activation_gradient_l2_norm", "snip", "fisher", "synflow", "weight_times_gradient",
                     "grasp", "naswot_layer_logdet", "channel_correlation_min_eigenvalue",
                     "activation_pattern_count", "noise_sensitivity", "gradient_signal_to_noise",
                     "naswot", "jacob_cov", "zen_score", "parameter_count", "flop_count"):
        assert expected in statistic_names(grasp=True)
    assert "grasp" not in statistic_names() and len(statistic_names()) >= 40
    assert isinstance(BANK_VERSION, str) and BANK_VERSION == registry.bank_version()
    assert registry.bank_version(grasp=True) != BANK_VERSION


def test_registration_validates_names_and_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        register("weight_l2_norm", registry.LAYER, registry.MAIN)(lambda r: r)
    for bad in ("WeightNorm", "weight-norm", "avg_weight", "wt_norm", "1weight", "weight__norm"):
        with pytest.raises(ValueError):
            register(bad, registry.LAYER, registry.MAIN)
    with pytest.raises(ValueError, match="kind"):
        register("temporary_statistic", "edge", registry.MAIN)
    with pytest.raises(ValueError, match="pass"):
        register("temporary_statistic", registry.LAYER, "backward")
    with pytest.raises(ValueError, match="docstring"):
        register("temporary_statistic", registry.LAYER, registry.MAIN)(lambda r: r)
    version = registry.bank_version()

    def temporary_statistic(r):
        """A temporary statistic."""
        return 0.0

    register("temporary_statistic", registry.NETWORK, registry.MAIN)(temporary_statistic)
    try:
        assert registry.bank_version() != version
    finally:
        registry.unregister("temporary_statistic")
    assert registry.bank_version() == version


def test_probe_gives_finite_values_with_one_entry_per_weighted_layer(probed):
    for arch, stats in probed.items():
        space, dataset = ("sss", "cifar100") if arch == SSS_ARCH else ("tss", "cifar10")
        model = build_network(space, arch, dataset)
        layers = weighted_layers(model)
        assert stats.layer_names == tuple(name for name, _ in layers)
        assert set(stats.layer_statistics) == set(statistic_names(registry.LAYER))
        assert set(stats.network_statistics) == set(statistic_names(registry.NETWORK))
        for name, values in stats.layer_statistics.items():
            assert values.dtype == np.float64 and values.shape == (len(layers),), name
            assert np.all(np.isfinite(values)), name
        for name, value in stats.network_statistics.items():
            assert np.isfinite(value), name
        assert stats.network_statistics["parameter_count"] == count_parameters(model)
        assert stats.network_statistics["flop_count"] == count_flops(model, (1, 3, 32, 32))
        assert stats.network_statistics["weighted_layer_count"] == len(layers)
        assert stats.network_statistics["non_finite_value_count"] == 0
        # totals are the sums of their per-layer terms
        assert np.isclose(stats.network_statistics["snip_total"], stats.layer_statistics["snip"].sum())
        assert np.isclose(stats.network_statistics["synflow_total"], stats.layer_statistics["synflow"].sum())


def test_probe_values_make_sense(probed):
    stats = probed[TSS_ARCHS[0]]
    layer = stats.layer_statistics
    assert np.all(layer["weight_l2_norm"] > 0)
    assert np.all(layer["snip"] >= 0) and np.all(layer["synflow"] >= 0)
    assert np.all((layer["activation_positive_fraction"] >= 0) & (layer["activation_positive_fraction"] <= 1))
    assert np.all(layer["activation_pattern_count"] <= 2 ** 8)
    assert 0 < stats.network_statistics["swap"] <= 2 ** 8
    assert stats.network_statistics["cross_entropy_loss"] > 0
    # the network with more convolutions has more parameters and a larger synflow
    other = probed[TSS_ARCHS[1]]
    assert stats.network_statistics["parameter_count"] > other.network_statistics["parameter_count"]
    assert stats.network_statistics["synflow_total"] > other.network_statistics["synflow_total"]


def test_probe_is_deterministic(probed):
    again = probe_network("tss", TSS_ARCHS[1], "cifar10", 8, 0, "cpu")
    first = probed[TSS_ARCHS[1]]
    for name, values in first.layer_statistics.items():
        np.testing.assert_allclose(again.layer_statistics[name], values, rtol=1e-9, atol=0, err_msg=name)
    for name, value in first.network_statistics.items():
        assert again.network_statistics[name] == pytest.approx(value, rel=1e-9), name


def test_initialisation_depends_only_on_arch_and_seed():
    cpu = torch.device("cpu")
    a = build_initialised("tss", TSS_ARCHS[0], "cifar10", 3, cpu)
    torch.manual_seed(99)
    b = build_initialised("tss", TSS_ARCHS[0], "cifar10", 3, cpu)
    c = build_initialised("tss", TSS_ARCHS[0], "cifar10", 4, cpu)
    for (pa, pb, pc) in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_bad_arch_and_device():
    with pytest.raises(ArchStringError):
        probe_network("tss", "|conv~0|", "cifar10", 4, 0, "cpu")
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    torch.set_num_threads(2)
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_optional_grasp_pass():
    stats = probe_network("tss", TSS_ARCHS[0], "cifar10", 4, 0, "cpu", grasp=True)
    assert set(stats.layer_statistics) == set(statistic_names(registry.LAYER, grasp=True))
    assert "grasp" in stats.layer_statistics and np.all(np.isfinite(stats.layer_statistics["grasp"]))
    assert np.isclose(stats.network_statistics["grasp_total"], stats.layer_statistics["grasp"].sum())
