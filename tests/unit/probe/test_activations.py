"""The probe sees activations however a model applies them (module or functional), each once.

NASWOT and SWAP read binary ReLU codes; a model that calls ``F.relu``, ``x.relu()``,
``torch.relu_`` or ``F.relu6`` in its ``forward`` must give the same statistics as the same
network built from ``nn.ReLU`` / ``nn.ReLU6`` modules. A model without any ReLU-family
activation has no such codes: its NASWOT and SWAP are undefined, a proxy reading them
scores NaN with one warning naming the statistic and the model, and no silent 0. The same
holds for global average pooling (the Zen-scores' features) and the reference SWAP.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from greenmachine.probe.engine import probe_model
from greenmachine.probe.initialisation import initialise
from greenmachine.probe.passes.activations import ActivationCalls
from greenmachine.proxies import Proxy
from greenmachine.proxies.degeneracy import DegenerateScoresWarning
from greenmachine.proxy.tree import Apply, LayerStatistic, NetworkStatistic


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here probes on one torch thread (see conftest.py)."""


ACTIVATIONS = {
    "module": lambda self, x: self.module(x),
    "functional": lambda self, x: F.relu(x),
    "method": lambda self, x: x.relu(),
    "torch": lambda self, x: torch.relu(x),
    "functional in place": lambda self, x: F.relu(x, inplace=True),
    "method in place": lambda self, x: x.relu_(),
    "module in place": lambda self, x: self.module_in_place(x),
    "relu6 module": lambda self, x: self.relu6(x),
    "relu6 functional": lambda self, x: F.relu6(x),
    "hardtanh 0..6": lambda self, x: F.hardtanh(x, 0.0, 6.0),
    "leaky": lambda self, x: F.leaky_relu(x, 0.1),
    "prelu": lambda self, x: self.prelu(x),
    "gelu": lambda self, x: F.gelu(x),
    "silu": lambda self, x: F.silu(x),
}


class SmallNet(nn.Module):
    """conv-BN-act, conv-BN-act (+ residual), global pooling, linear: the activation applied as ``style`` says."""

    def __init__(self, style: str, pooling: str = "module") -> None:
        super().__init__()
        self.style, self.pooling = style, pooling
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.module, self.module_in_place = nn.ReLU(), nn.ReLU(inplace=True)
        self.relu6, self.prelu = nn.ReLU6(), nn.PReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8, 10)
        self.scale = nn.Parameter(torch.ones(8))

    def act(self, x):
        return ACTIVATIONS[self.style](self, x)

    def forward(self, x):
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)) + out) * self.scale.relu().view(1, -1, 1, 1)
        if self.pooling == "module":
            out = self.pool(out).flatten(1)
        elif self.pooling == "functional":
            out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        else:
            out = out.mean((2, 3))
        return self.head(out)


def _batch(count: int = 8):
    generator = torch.Generator().manual_seed(0)
    return torch.randn(count, 3, 16, 16, generator=generator), torch.randint(0, 10, (count,), generator=generator)


def _probe(style: str, pooling: str = "module"):
    images, labels = _batch()
    torch.manual_seed(0)
    model = initialise(SmallNet(style, pooling), 0).train()
    return probe_model(model, images, labels, 0)


def _same(first, second) -> None:
    assert first.layer_names == second.layer_names
    for name, values in first.layer_statistics.items():
        np.testing.assert_array_equal(values, second.layer_statistics[name], err_msg=name)
    assert dict(first.network_statistics) == dict(second.network_statistics)


@pytest.mark.parametrize("style", ["functional", "method", "torch"])
def test_functional_relu_gives_the_statistics_of_the_module(style):
    reference = _probe("module")
    assert reference.network_statistics["swap"] > 0 and not reference.undefined
    _same(_probe(style), reference)


@pytest.mark.parametrize("style", ["functional in place", "method in place"])
def test_in_place_relu_gives_the_statistics_of_the_in_place_module(style):
    _same(_probe(style), _probe("module in place"))


@pytest.mark.parametrize("style", ["relu6 functional", "hardtanh 0..6"])
def test_relu6_however_applied_gives_the_statistics_of_the_module(style):
    _same(_probe(style), _probe("relu6 module"))


@pytest.mark.parametrize("style", ["relu6 module", "leaky", "prelu"])
def test_relatives_of_relu_are_coded_by_the_sign_of_their_input(style):
    """Their codes are "input > 0", as ReLU's "output != 0": the first activation's codes agree.

    Both blocks read the same first activation; with one block the codes (and so NASWOT and
    SWAP) of a ReLU network and of its relative are the same.
    """
    relu, relative = _probe("module"), _probe(style)
    assert not relative.undefined
    assert relative.network_statistics["naswot"] > 0 and relative.network_statistics["swap"] > 0
    # the first weighted layer after the activation reads the same codes
    assert relu.layer_statistics["activation_pattern_count"][1] == relative.layer_statistics["activation_pattern_count"][1]


def test_each_activation_is_seen_once_whether_module_or_functional():
    images, _ = _batch(4)
    for layer, expected in ((nn.ReLU(), {"relu": 1}), (nn.ReLU(inplace=True), {"relu": 1}),
                            (nn.ReLU6(), {"hardtanh": 1}), (nn.LeakyReLU(), {"leaky_relu": 1}),
                            (nn.GELU(), {"gelu": 1}), (nn.Hardtanh(), {"hardtanh": 1})):
        calls = []
        with ActivationCalls(lambda kind, *rest: calls.append(kind), rows=4) as seen:
            layer(images.clone())
        assert seen.seen == expected and len(calls) == 1
    assert not any(kind == "gelu" for kind in calls)


def test_activations_of_other_tensors_than_the_batch_are_not_units():
    """``self.scale.relu()`` (a parameter) is seen, not coded: the statistics are those without it."""
    images, _ = _batch(4)
    recorded = []
    with ActivationCalls(lambda kind, name, tensor, output, codes: recorded.append(tuple(tensor.shape)), rows=4) as seen:
        SmallNet("functional")(images)
    assert seen.seen["relu"] == 3 and recorded == [(4, 8, 16, 16), (4, 8, 16, 16)]


@pytest.mark.parametrize("style", ["gelu", "silu"])
def test_without_relu_naswot_and_swap_are_undefined_and_score_nan_with_one_warning(style):
    statistics = _probe(style)
    assert set(statistics.undefined) == {"naswot", "swap"}
    assert "no ReLU-family activation" in statistics.undefined["swap"] and style in statistics.undefined["swap"]
    reads_swap = Proxy("reads-swap", Apply("multiply", (NetworkStatistic("swap"), NetworkStatistic("zico"))))
    images, labels = _batch()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = reads_swap.rank([SmallNet("module"), SmallNet(style)], images, labels)
    assert math.isfinite(scores[0]) and math.isnan(scores[1])
    degenerate = [w for w in caught if issubclass(w.category, DegenerateScoresWarning)]
    assert len(degenerate) == 1, [str(w.message) for w in caught]
    message = str(degenerate[0].message)
    assert "swap is undefined for model 1 (SmallNet)" in message and "reads-swap" in message
    assert "model 0" not in message.split("undefined for")[1]
    # a proxy that does not read the codes scores the model, silently
    other = Proxy("reads-fisher", Apply("sum", (LayerStatistic("fisher"),)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateScoresWarning)
        assert math.isfinite(other.score(SmallNet(style), images, labels))


@pytest.mark.parametrize("pooling", ["functional", "mean"])
def test_zen_reads_the_features_before_global_pooling_however_pooled(pooling):
    from greenmachine.baselines.reference.zen import zen_repeats

    module, other = _probe("module", "module"), _probe("module", pooling)
    assert module.network_statistics["zen_score"] == other.network_statistics["zen_score"]
    images, _ = _batch()
    models = [initialise(SmallNet("module", kind), 0) for kind in ("module", pooling)]
    assert zen_repeats(models[0], images, 0, repeats=2) == zen_repeats(models[1], images, 0, repeats=2)


def test_reference_swap_counts_functional_relus_and_refuses_a_model_without_any():
    from greenmachine.baselines.reference.compute import score_network
    from greenmachine.baselines.reference.swap import pattern_count

    images, labels = _batch()
    counts = {style: pattern_count(initialise(SmallNet(style), 0).train(), images)
              for style in ("module", "functional", "method")}
    assert counts["module"] > 0 and len(set(counts.values())) == 1
    with pytest.raises(ValueError, match="no|none"):
        pattern_count(initialise(SmallNet("gelu"), 0).train(), images)
    values, _, failures = score_network(initialise(SmallNet("gelu"), 0), images, labels, 0, ["swap"])
    assert math.isnan(values["swap"]) and "swap needs ReLU-family activations" in failures[0]
