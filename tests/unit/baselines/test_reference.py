"""Reference baselines (greenmachine.baselines.reference) against independent computations written
differently (explicit loops, NumPy), on tiny hand-made networks; agreement with the bank
variants where the definitions coincide, difference where documented; registry and cache."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from greenmachine.probe.engine import probe_model
from greenmachine.baselines.reference import reference_baselines, reference_version, register
from greenmachine.baselines.reference.registry import unregister

RELATIVE = 1e-6


def conv_bn_net() -> nn.Sequential:
    """Conv + BN + ReLU twice, global pooling, Linear head."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5))


def conv_only_net() -> nn.Sequential:
    """Convolutions and ReLUs only (no BN, no Linear): the class scores are pooled channels."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 5, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())


class Residual(nn.Module):
    """Stem, one residual block with BN, pooling, Linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
        self.branch = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                                    nn.Conv2d(4, 4, 1, bias=False), nn.BatchNorm2d(4))
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4, 5)

    def features(self, inputs):
        stem = self.stem(inputs)
        return self.relu(stem + self.branch(stem))

    def forward(self, inputs):
        return self.head(self.pool(self.features(inputs)).flatten(1))


class Plain(nn.Module):
    """Two convolutions, pooling, Linear head; no BN or ReLU (MeCo's bank and reference coincide)."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv2d(3, 4, 3, padding=1)
        self.second = nn.Conv2d(4, 5, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(5, 5)

    def forward(self, inputs):
        return self.head(self.pool(self.second(self.first(inputs))).flatten(1))


NETWORKS = {"conv_bn": conv_bn_net, "conv_only": conv_only_net, "residual": Residual}


def build(kind: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = NETWORKS[kind]() if kind in NETWORKS else Plain()
    with torch.no_grad():  # non-trivial BN affine parameters
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.train()


def batch(count: int = 8, seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, 3, 8, 8, generator=generator), torch.randint(0, 5, (count,), generator=generator)


def score(name, model, images, labels, seed=0):
    return reference_baselines()[name].function(model, images, labels, seed)


def weighted(model):
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


# ---------------------------------------------------------------- independent computations

def fisher_by_loops(model, images, labels) -> float:
    outputs = {}

    def keep(module, inputs, output):
        output.retain_grad()
        outputs[module] = output

    handles = [m.register_forward_hook(keep) for m in weighted(model)]
    F.cross_entropy(model(images), labels).backward()
    for handle in handles:
        handle.remove()
    total = 0.0
    for module in weighted(model):
        values, grad = outputs[module].detach().double(), outputs[module].grad.double()
        count = values.shape[0]
        for channel in range(values.shape[1]):
            squares = sum(float((values[n, channel] * grad[n, channel]).sum()) ** 2 for n in range(count))
            total += 0.5 * squares / count * module.weight[channel].numel()
    model.zero_grad(set_to_none=True)
    return total


def meco_by_numpy(model, image) -> float:
    terms = []

    def hook(module, inputs, output):
        rows = output[0].detach().double().numpy()
        rows = rows.reshape(rows.shape[0], -1)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            correlation = np.atleast_2d(np.corrcoef(rows))
        correlation[~np.isfinite(correlation)] = 0.0
        terms.append(float(np.min(np.linalg.eigvals(correlation).real)))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(image)
    for handle in handles:
        handle.remove()
    return float(sum(t for t in terms if math.isfinite(t)))


def zico_by_numpy(model, images, labels, accumulate: bool) -> float:
    layers = weighted(model)
    half = images.shape[0] // 2
    per_half = []
    for part in (slice(0, half), slice(half, None)):
        loss = F.cross_entropy(model(images[part]), labels[part])
        per_half.append([g.detach().double().numpy().ravel() for g in torch.autograd.grad(loss, [m.weight for m in layers])])
    if accumulate:
        per_half[1] = [a + b for a, b in zip(per_half[0], per_half[1])]
    total = 0.0
    for first, second in zip(*per_half):
        stacked = np.stack([first, second])
        std, mean_absolute = stacked.std(axis=0), np.abs(stacked).mean(axis=0)
        ratio = sum(mean_absolute[i] / std[i] for i in range(len(std)) if std[i] != 0)
        if ratio != 0:
            total += math.log(ratio)
    return total


def gaussian_draws(model, generator):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator))
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.fill_(1.0)
                module.bias.zero_()


def zen_by_loops(model, images, seed, repeats=32) -> float:
    generator = torch.Generator().manual_seed(seed)
    features = (lambda x: model.features(x)) if isinstance(model, Residual) else (lambda x: model[:-3](x))
    scores = []
    with torch.no_grad():
        for _ in range(repeats):
            gaussian_draws(model, generator)
            first = torch.randn(images.shape, generator=generator)
            second = torch.randn(images.shape, generator=generator)
            difference = (features(first) - features(first + 0.01 * second)).double().abs().numpy()
            value = math.log(np.mean([difference[n].sum() for n in range(difference.shape[0])]))
            for module in model.modules():
                if isinstance(module, nn.BatchNorm2d):
                    value += math.log(math.sqrt(float(module.running_var.double().mean())))
            scores.append(value)
    return float(np.mean(scores))


def swap_by_sets(model, images, seed, repeats=32, draw=True) -> float:
    generator = torch.Generator().manual_seed(seed)
    counts = []
    with torch.no_grad():
        for _ in range(repeats):
            if draw:
                gaussian_draws(model, generator)
            outputs = []
            handles = [m.register_forward_hook(lambda m, i, o: outputs.append(o.reshape(o.shape[0], -1)))
                       for m in model.modules() if isinstance(m, nn.ReLU)]
            model(images)
            for handle in handles:
                handle.remove()
            signs = np.sign(torch.cat(outputs, dim=1).numpy())
            counts.append(len({tuple(signs[:, unit]) for unit in range(signs.shape[1])}))
    return float(np.mean(counts))


def same(value, expected):
    assert math.isfinite(value) and value == pytest.approx(expected, rel=RELATIVE, abs=1e-12)


# ---------------------------------------------------------------- reference vs independent

@pytest.mark.parametrize("kind", ["conv_bn", "conv_only", "residual"])
def test_fisher_matches_loops(kind):
    images, labels = batch()
    model = build(kind)
    same(score("fisher", model, images, labels), fisher_by_loops(build(kind), images, labels))


@pytest.mark.parametrize("kind", ["conv_bn", "conv_only", "residual"])
def test_meco_matches_numpy(kind):
    images, labels = batch()
    same(score("meco", build(kind), images, labels), meco_by_numpy(build(kind), images[:1]))
    image = torch.randn((1, 3, 64, 64), generator=torch.Generator().manual_seed(5))
    same(score("meco_gaussian", build(kind), images, labels, seed=5), meco_by_numpy(build(kind), image))


@pytest.mark.parametrize("kind", ["conv_bn", "conv_only", "residual"])
def test_zico_matches_numpy(kind):
    images, labels = batch()
    same(score("zico", build(kind), images, labels), zico_by_numpy(build(kind), images, labels, False))
    same(score("zico_accumulated", build(kind), images, labels), zico_by_numpy(build(kind), images, labels, True))


@pytest.mark.parametrize("kind", ["conv_bn", "residual"])
def test_zen_matches_loops(kind):
    images, labels = batch()
    same(score("zen", build(kind), images, labels, seed=3), zen_by_loops(build(kind), images, 3))


@pytest.mark.parametrize("kind", ["conv_bn", "conv_only", "residual"])
def test_swap_matches_sets(kind):
    from greenmachine.baselines.reference.swap import TSS_MU_THOUSANDS, TSS_SIGMA

    images, labels = batch()
    expected = swap_by_sets(build(kind), images, 2)
    assert score("swap", build(kind), images, labels, seed=2) == expected > 1
    size = sum(p.numel() for p in build(kind).parameters()) / 1e3
    factor = math.exp(-((size - TSS_MU_THOUSANDS) ** 2) / TSS_SIGMA)
    same(score("swap_regularised", build(kind), images, labels, seed=2), expected * factor)


def test_scores_leave_the_model_unchanged():
    images, labels = batch()
    model = build("residual")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for name in reference_baselines():
        first = score(name, model, images, labels)
        assert score(name, model, images, labels) == first  # deterministic
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", sorted(reference_baselines()))
def test_scores_free_the_activations(name):
    # a gradient hook that refers to its own tensor is a cycle the collector cannot see: it
    # kept each network's activations alive (about 35 MB per TSS network at batch 16)
    import gc
    import weakref

    images, labels = batch()
    model = build("residual")
    outputs = []
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    handle = first.register_forward_hook(lambda m, i, o: outputs.append(weakref.ref(o)))
    score(name, model, images, labels)
    handle.remove()
    gc.collect()
    assert outputs and all(reference() is None for reference in outputs)


# ---------------------------------------------------------------- bank variant vs reference

def bank(model, images, labels):
    return probe_model(model, images, labels, 0)


def _fisher_times_fan_in(model, statistics) -> float:
    """The bank's per-layer fisher, each times its layer's fan-in (the reference's broadcast), summed."""
    modules = dict(model.named_modules())
    return sum(value * math.prod(modules[name].weight.shape[1:])
               for name, value in zip(statistics.layer_names, statistics.layer_statistics["fisher"]))


def test_fisher_bank_agrees_on_conv_only_net_after_the_broadcast_factor():
    images, labels = batch()
    model = build("conv_only")
    statistics = bank(model, images, labels)
    rescaled = _fisher_times_fan_in(model, statistics)
    same(score("fisher", model, images, labels), rescaled)
    assert statistics.network_statistics["fisher_total"] < rescaled / 5  # the factor is 27 / 36 here


def test_fisher_bank_differs_with_a_linear_head():
    images, labels = batch()
    model = build("conv_bn")
    statistics = bank(model, images, labels)
    rescaled = _fisher_times_fan_in(model, statistics)
    assert abs(score("fisher", model, images, labels) - rescaled) > 1e-3 * abs(rescaled)


def test_meco_bank_agrees_without_bn_or_relu_and_differs_with_them():
    images, labels = batch()
    plain = build("plain")
    same(score("meco", plain, images, labels), bank(plain, images, labels).network_statistics["meco"])
    model = build("conv_bn")
    assert abs(score("meco", model, images, labels) - bank(model, images, labels).network_statistics["meco"]) > 1e-3


@pytest.mark.parametrize("kind", ["conv_bn", "residual"])
def test_zico_bank_agrees_with_the_newest_release_not_the_first(kind):
    images, labels = batch()
    model = build(kind)
    banked = bank(model, images, labels).network_statistics["zico"]
    same(score("zico", model, images, labels), banked)
    assert abs(score("zico_accumulated", model, images, labels) - banked) > 1e-3


def test_swap_pattern_count_agrees_with_the_bank_on_one_pass_without_bn():
    from greenmachine.baselines.reference.swap import pattern_count

    images, labels = batch()
    model = build("conv_only")
    with torch.no_grad():
        count = pattern_count(model, images)
    assert count == bank(model, images, labels).network_statistics["swap"] == swap_by_sets(model, images, 0, 1, False)
    assert score("swap", model, images, labels) != count  # 32 Gaussian repeats


def test_distinct_columns_packed_and_unpacked_agree():
    from greenmachine.baselines.reference.swap import distinct_columns

    generator = torch.Generator().manual_seed(0)
    for samples in (3, 39, 41):
        signs = torch.randint(-1, 2, (samples, 500), generator=generator).float()
        signs[:, 250:] = signs[:, :250]  # duplicates
        assert distinct_columns(signs) == int(torch.unique(signs.T, dim=0).shape[0])


# ---------------------------------------------------------------- registry and cache

def test_registry_validates_and_refuses_duplicates():
    entries = reference_baselines()
    assert {"fisher", "meco", "zico", "zen", "swap", "swap_regularised"} <= set(entries)
    for entry in entries.values():
        assert entry.code_url.startswith("https://github.com/") and "@" in entry.followed
        assert entry.label.endswith("(authors' code)")
    metadata = dict(bank_baseline=None, paper="p", code_url="https://example.org", followed="f", summary="s",
                    bank_difference="d")
    with pytest.raises(ValueError, match="already registered"):
        register("fisher", **metadata)(lambda *a: 0.0)
    with pytest.raises(ValueError, match="snake_case"):
        register("Bad-Name", **metadata)
    with pytest.raises(ValueError, match="unknown bank baseline"):
        register("other", **{**metadata, "bank_baseline": "nonexistent"})
    with pytest.raises(ValueError, match="empty"):
        register("other", **{**metadata, "summary": " "})
    with pytest.raises(ValueError, match="https"):
        register("other", **{**metadata, "code_url": "http://example.org"})
    version = reference_version()

    def temporary(model, images, labels, seed):
        """A temporary baseline."""
        return 1.0

    try:
        register("temporary_baseline", **metadata)(temporary)
        assert reference_version() != version
    finally:
        unregister("temporary_baseline")
    assert reference_version() == version


def test_reference_cache_round_trip_and_separate_key(tmp_path):
    from greenmachine.probe.cache import ProbeCache
    from greenmachine.baselines.reference.cache import ReferenceCache

    cache = ReferenceCache(tmp_path)
    key = dict(arch="a", device="cpu", images="x")
    path = cache.store_values("toy", 3, "cifar10", 16, 0, {"fisher": 2.5, "zen": -1.0}, {"fisher": 0.1, "zen": 2.0},
                              **key)
    assert f"reference{reference_version()}" in str(path)
    assert cache.load_values("toy", 3, "cifar10", 16, 0, **key) == ({"fisher": 2.5, "zen": -1.0},
                                                                    {"fisher": 0.1, "zen": 2.0})
    assert cache.load_values("toy", 3, "cifar10", 16, 0, **{**key, "arch": "b"}) == ({}, {})
    assert len(cache.problems) == 1  # the arch is part of the key
    assert ProbeCache(tmp_path).load("toy", 3, "cifar10", 16, 0, **key) is None  # never a bank entry


# ---------------------------------------------------------------- networks of a space, cache, command

def test_derived_regularised_swap_equals_its_own_computation():
    from greenmachine.baselines.reference.compute import score_network

    images, labels = batch()
    model = build("residual")
    values, seconds, failures = score_network(model, images, labels, 2, ["swap_regularised", "swap"])
    alone = score("swap_regularised", model, images, labels, seed=2)
    assert not failures and values["swap_regularised"] == pytest.approx(alone, rel=1e-12)
    assert seconds["swap_regularised"] >= seconds["swap"]  # what it would cost alone


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from greenmachine.spaces import register_space, unregister_space
    from toy_space import ToySpace, write_table

    folder = tmp_path_factory.mktemp("toy")
    space = register_space(ToySpace(write_table(folder / "toy_space.csv.gz")))
    yield space, folder
    unregister_space("toy")


def test_reference_scores_go_through_their_cache(toy, tmp_path):
    from greenmachine.errors import GMError
    from greenmachine.baselines.reference.cache import ReferenceCache
    from greenmachine.baselines.reference.compute import reference_scores

    cache = ReferenceCache(tmp_path)
    first = reference_scores("toy", [0, 5, 9], "cifar10", 4, 0, ["fisher", "zico"], "cpu", cache)
    assert first.misses == 3 and first.hits == 0 and not first.failures
    assert np.isfinite(first.values["fisher"]).all() and (first.seconds["zico"] > 0).all()
    again = reference_scores("toy", [0, 5, 9], "cifar10", 4, 0, ["zico", "fisher", "meco"], "cpu", cache)
    assert again.misses == 3  # meco was missing: computed and merged into each entry
    np.testing.assert_array_equal(again.values["fisher"], first.values["fisher"])
    third = reference_scores("toy", [0, 5, 9], "cifar10", 4, 0, ["meco", "fisher"], "cpu", cache)
    assert third.hits == 3 and third.misses == 0
    np.testing.assert_array_equal(third.values["meco"], again.values["meco"])
    other_seed = reference_scores("toy", [0], "cifar10", 4, 1, ["fisher"], "cpu", cache)
    assert other_seed.misses == 1
    with pytest.raises(GMError, match="unknown reference baseline"):
        reference_scores("toy", [0], "cifar10", 4, 0, ["nonexistent"], "cpu", cache)


@pytest.mark.slow
def test_gm_baselines_reference_adds_rows(toy, tmp_path):
    import json

    from typer.testing import CliRunner

    from greenmachine.tui.cli import app

    profile = tmp_path / "toy.toml"
    profile.write_text(
        'name = "toy"\n[benchmark]\nspace = "toy"\ndatasets = ["cifar10"]\n'
        '[sampling]\nmode = "random"\nsearch = 10\nvalidation = 10\ntest = 10\nseed = 0\n'
        f'[probe]\nbatch_size = 4\nseed = 0\ncache_dir = "{tmp_path / "cache"}"\n'
        '[evolution]\npopulation = 4\ngenerations = 1\nseed = 0\n[energy]\nenabled = false\n')
    runner = CliRunner()
    result = runner.invoke(app, ["baselines", str(profile), "--reference", "--reference-only", "fisher,zico",
                                 "--reference-cache", str(tmp_path / "reference"), "--json", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    assert "fisher (authors' code)" in result.output and "zico (authors' code)" in result.output
    rows = json.loads((tmp_path / "out.json").read_text())["proxies"]
    assert "fisher" in rows and "fisher (authors' code)" in rows and "meco (authors' code)" not in rows
    assert "precision_at_10pct" in rows["fisher (authors' code)"] and "top1_rank" in rows["zico (authors' code)"]
    result = runner.invoke(app, ["baselines", str(profile), "--reference", "--reference-only", "nonexistent"])
    assert result.exit_code == 2 and "unknown reference baseline" in result.output
    result = runner.invoke(app, ["baselines", str(profile), "--reference-only", "fisher"])
    assert result.exit_code == 2 and "needs --reference" in result.output


def test_reference_cache_keeps_the_other_baselines_of_an_entry(tmp_path):
    from greenmachine.baselines.reference.cache import ReferenceCache

    key = dict(arch="a", device="cpu", images="x")
    first, second = ReferenceCache(tmp_path), ReferenceCache(tmp_path)  # two processes
    first.store_values("toy", 1, "cifar10", 16, 0, {"fisher": 1.0}, {"fisher": 0.5}, **key)
    second.store_values("toy", 1, "cifar10", 16, 0, {"zen": 2.0}, {"zen": 3.0}, **key)
    assert first.load_values("toy", 1, "cifar10", 16, 0, **key) == ({"fisher": 1.0, "zen": 2.0},
                                                                     {"fisher": 0.5, "zen": 3.0})
