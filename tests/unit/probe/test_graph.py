"""The graph statistics: depths, path counts and widths of the traced dataflow graph.

Hand-built modules with known structure (a chain, a residual block, a concatenation block,
a zero branch, a model whose output ignores its input, shared weights, a custom leaf module
with inner branches), NATS-Bench TSS cells with known structure (``none`` edges cut paths),
the summary on hand-written graphs, the statistics as network statistics of the proxy
language, and a model the probe cannot trace (undefined, NaN with a warning).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from greenmachine.probe import statistic_names
from greenmachine.probe.engine import build_initialised, passes_for, probe_model
from greenmachine.probe.initialisation import initialise
from greenmachine.probe.passes import ProbeRecord, structure_pass
from greenmachine.probe.passes.graph import GRAPH_STATISTICS, UNTRACEABLE, DataflowRecorder, summarise
from greenmachine.probe.registry import NETWORK, STRUCTURE, registered
from greenmachine.proxies import Proxy
from greenmachine.proxies.degeneracy import DegenerateScoresWarning
from greenmachine.proxy.tree import Apply, NetworkStatistic
from greenmachine.spaces import weighted_layers
from greenmachine.stats.table import StatisticTable


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here probes on one torch thread (see conftest.py)."""


def _batch(count: int = 4):
    generator = torch.Generator().manual_seed(0)
    return torch.randn(count, 3, 8, 8, generator=generator), torch.randint(0, 10, (count,), generator=generator)


def graph_of(model: nn.Module) -> dict[str, float]:
    """The graph statistics of ``model``, probed on the structure pass only (no data pass)."""
    images, labels = _batch()
    torch.manual_seed(0)
    statistics = probe_model(initialise(model, 0).train(), images, labels, 0, only=set())
    assert set(GRAPH_STATISTICS) <= set(statistics.network_statistics)
    return {name: statistics.network_statistics[name] for name in GRAPH_STATISTICS} | {
        "undefined": dict(statistics.undefined)}


def _expect(values, reaches, longest, shortest, weighted_paths, operation_paths, mean_width, minimum_width):
    assert values["undefined"] == {}
    assert values["input_reaches_output"] == reaches
    assert values["longest_path_weighted_depth"] == longest
    assert values["shortest_path_weighted_depth"] == shortest
    assert values["weighted_path_count_log"] == math.log(weighted_paths + 1)
    assert values["operation_path_count_log"] == math.log(operation_paths + 1)
    assert values["longest_path_mean_width"] == pytest.approx(mean_width, abs=0, rel=1e-15)
    assert values["longest_path_minimum_width"] == minimum_width


class Chain(nn.Module):
    """conv(3->8) - BN - ReLU - conv(8->5) - ReLU - global pool - linear(5->10): three weighted layers, one path."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 5, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(5, 10)

    def forward(self, x):
        return self.head(self.body(x))


class Residual(nn.Module):
    """stem conv, then a block conv-ReLU-conv plus the identity, then the head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, padding=1)
        self.first, self.second = nn.Conv2d(6, 4, 3, padding=1), nn.Conv2d(4, 6, 3, padding=1)
        self.head = nn.Linear(6, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = x + self.second(F.relu(self.first(x)))
        return self.head(x.mean((2, 3)))


class Concatenation(nn.Module):
    """A dense block: a = conv1(x); b = conv2(cat(x, a)); head(cat(x, a, b)) (DenseNet's concatenation)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.first = nn.Conv2d(4, 2, 3, padding=1)
        self.second = nn.Conv2d(6, 2, 3, padding=1)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        joined = torch.cat([x, F.relu(self.first(x))], dim=1)
        joined = torch.cat((joined, F.relu(self.second(joined))), 1)
        return self.head(F.adaptive_avg_pool2d(joined, 1).flatten(1))


def test_a_chain_has_one_path_through_every_layer():
    # widths of the layers after the first: conv2 reads 8 channels, the head 5 features
    _expect(graph_of(Chain()), 1.0, 3, 3, 1, 1, 6.5, 5)


def test_a_residual_block_adds_a_path_around_its_convolutions():
    # paths: stem-first-second-head and stem-head; the main path reads 6, 4, 6
    _expect(graph_of(Residual()), 1.0, 4, 2, 2, 2, 16 / 3, 4)


def test_a_concatenation_block_counts_every_route_into_the_concatenation():
    # stem, then into the head: directly, via first, via second (from x or via first): 4 paths
    _expect(graph_of(Concatenation()), 1.0, 4, 2, 4, 4, (4 + 6 + 8) / 3, 4)


class ZeroBranch(nn.Module):
    """Residual, with the convolution branch multiplied by 0 (a ``none`` edge) as ``how`` says."""

    def __init__(self, how: str, all_zero: bool = False) -> None:
        super().__init__()
        self.how, self.all_zero = how, all_zero
        self.stem, self.branch = nn.Conv2d(3, 6, 3, padding=1), nn.Conv2d(6, 6, 3, padding=1)
        self.head = nn.Linear(6, 10)

    def zero(self, x):
        return {"mul": lambda: x.mul(0.0), "times": lambda: x * 0, "left": lambda: 0 * x,
                "zeros_like": lambda: torch.zeros_like(x), "new_zeros": lambda: x.new_zeros(x.shape),
                "in place": lambda: x.clone().zero_()}[self.how]()

    def forward(self, x):
        x = self.stem(x)
        skip = self.zero(x) if self.all_zero else x
        x = skip + self.zero(self.branch(x))
        return self.head(x.mean((2, 3)))


@pytest.mark.parametrize("how", ["mul", "times", "left", "zeros_like", "new_zeros", "in place"])
def test_a_multiplication_by_zero_cuts_the_path(how):
    _expect(graph_of(ZeroBranch(how)), 1.0, 2, 2, 1, 1, 6, 6)
    _expect(graph_of(ZeroBranch(how, all_zero=True)), 0.0, 0, 0, 0, 0, 0, 0)


class IgnoresInput(nn.Module):
    """Logits of a constant: the input only gives the batch size."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 10)

    def forward(self, x):
        constant = torch.ones(x.shape[0], 3, 8, 8)
        return self.head(self.conv(constant).mean((2, 3)))


def test_a_model_whose_output_ignores_its_input_has_no_path():
    _expect(graph_of(IgnoresInput()), 0.0, 0, 0, 0, 0, 0, 0)


class Shared(nn.Module):
    """The same convolution applied twice (shared weights): two weighted calls on the path."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.shared = nn.Conv2d(3, 5, 1), nn.Conv2d(5, 5, 3, padding=1)
        self.head = nn.Linear(5, 10)

    def forward(self, x):
        return self.head(self.shared(F.relu(self.shared(self.stem(x)))).mean((2, 3)))


def test_a_shared_layer_counts_once_per_call():
    _expect(graph_of(Shared()), 1.0, 4, 4, 1, 1, 5, 5)


class Swish(nn.Module):
    """A leaf module with two inner routes (x and sigmoid(x)): one operation of the graph."""

    def forward(self, x):
        return x * torch.sigmoid(x)


class WithSwish(Chain):
    def __init__(self) -> None:
        super().__init__()
        self.body[2] = Swish()


def test_a_custom_leaf_module_is_one_operation():
    _expect(graph_of(WithSwish()), 1.0, 3, 3, 1, 1, 6.5, 5)


class Skips(nn.Module):
    """Two identity routes around a pooling: three operation paths, one sequence of layers."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.head = nn.Conv2d(3, 4, 3, padding=1), nn.Linear(4, 10)
        self.pool = nn.AvgPool2d(3, 1, 1)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.pool(x) + F.relu(x)
        return self.head(x.mean((2, 3)))


def test_paths_through_operations_and_through_weighted_layers_differ():
    _expect(graph_of(Skips()), 1.0, 2, 2, 1, 3, 4, 4)


def _example(name: str):
    """One module of the example zoo (examples/cifar_models/models/<name>.py), under its own name."""
    path = Path(__file__).resolve().parents[3] / "examples" / "cifar_models" / "models" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"greenmachine_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_resnet_and_densenet():
    images, labels = torch.randn(2, 3, 32, 32), torch.tensor([0, 1])
    values = {}
    for name, model in (("resnet", _example("resnet").ResNet18()), ("densenet", _example("densenet").DenseNet())):
        statistics = probe_model(initialise(model, 0).train(), images, labels, 0, only=set())
        values[name] = {key: statistics.network_statistics[key] for key in GRAPH_STATISTICS}
    # ResNet-18: stem, 8 basic blocks (two convs, or the identity / a 1x1 projection), head
    assert values["resnet"]["longest_path_weighted_depth"] == 1 + 8 * 2 + 1
    assert values["resnet"]["shortest_path_weighted_depth"] == 1 + 3 + 1
    assert values["resnet"]["weighted_path_count_log"] == values["resnet"]["operation_path_count_log"] == math.log(
        2 ** 8 + 1)
    # DenseNet: stem, 9 dense layers (two convs, concatenated with their input), 2 transitions, head
    assert values["densenet"]["longest_path_weighted_depth"] == 1 + 9 * 2 + 2 + 1
    assert values["densenet"]["shortest_path_weighted_depth"] == 1 + 2 + 1
    assert values["densenet"]["operation_path_count_log"] == math.log(2 ** 9 + 1)
    assert values["densenet"]["longest_path_minimum_width"] == 16  # the first dense layer reads the stem's 16


# ----------------------------------------------------------------------- NATS-Bench TSS cells

def tss_graph(arch: str) -> dict[str, float]:
    model = build_initialised("tss", arch, "cifar10", 0, "cpu")
    layers = weighted_layers(model)
    record = ProbeRecord([name for name, _ in layers], 1)
    structure_pass(model, layers, (1, 3, 32, 32), record)
    from greenmachine.probe.engine import evaluate_bank
    statistics = evaluate_bank(record, ran={STRUCTURE})
    return {name: statistics.network_statistics[name] for name in GRAPH_STATISTICS} | {
        "undefined": dict(statistics.undefined)}


# the skeleton around the 15 cells: stem conv, two residual reduction blocks (two 3x3 convs on
# the branch, one 1x1 conv on the shortcut), the classifier
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
SKIP_ONLY = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
CHAIN_OF_TWO = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
DISCONNECTED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|"


def test_a_cell_of_none_edges_disconnects_the_output_from_the_input():
    _expect(tss_graph(ALL_NONE), 0.0, 0, 0, 0, 0, 0, 0)
    # nodes 1 and 2 are computed, but every edge into the output node is none
    _expect(tss_graph(DISCONNECTED), 0.0, 0, 0, 0, 0, 0, 0)


def test_a_skip_only_cell_leaves_the_skeleton_paths():
    # longest: stem + 2 x (2 branch convs) + head = 6; shortest: stem + 2 shortcut convs + head = 4
    # inputs after the stem: each block's first conv reads 16 then 32, its second 32 then 64; the head 64
    _expect(tss_graph(SKIP_ONLY), 1.0, 6, 4, 4, 4, (16 + 32 + 32 + 64 + 64) / 5, 16)


def test_an_all_convolution_cell_has_four_paths_per_cell():
    # 0->3, 0->1->3, 0->2->3, 0->1->2->3 in each of 15 cells; 2 routes in each reduction block
    values = tss_graph(ALL_CONV)
    _expect(values, 1.0, 1 + 15 * 3 + 2 * 2 + 1, 1 + 15 + 2 + 1, 4 ** 15 * 4, 4 ** 15 * 4,
            values["longest_path_mean_width"], 16)


def test_none_edges_shorten_the_cell():
    _expect(tss_graph(CHAIN_OF_TWO), 1.0, 1 + 15 * 2 + 2 * 2 + 1, 1 + 15 * 2 + 2 + 1, 4, 4,
            tss_graph(CHAIN_OF_TWO)["longest_path_mean_width"], 16)


def test_skip_edges_add_operation_paths_but_no_layer_sequences():
    values = tss_graph(ALL_SKIP)
    assert values["operation_path_count_log"] == math.log(4 ** 15 * 4 + 1)
    assert values["weighted_path_count_log"] == math.log(4 + 1)
    assert values["longest_path_weighted_depth"] == 6 and values["shortest_path_weighted_depth"] == 4


def test_the_graph_of_the_forward_that_finds_the_layer_order_is_the_same():
    """probe_model without a layer list records the graph during forward_layers' pass."""
    images, labels = _batch(2)
    images = torch.randn(2, 3, 32, 32)
    model = build_initialised("tss", CHAIN_OF_TWO, "cifar10", 0, "cpu")
    statistics = probe_model(model, images, labels, 0, only=set())
    expected = tss_graph(CHAIN_OF_TWO)
    assert {name: statistics.network_statistics[name] for name in GRAPH_STATISTICS} == {
        name: expected[name] for name in GRAPH_STATISTICS}


# ----------------------------------------------------------------------- the summary itself

def test_summary_of_hand_written_graphs():
    # 0 -> 1 (layer) -> 3 ; 0 -> 2 -> 3 ; 4 hangs off 1 (not on a path to the output 3)
    parents = [(), (0,), (0,), (1, 2), (1,)]
    summary = summarise(parents, {1: 7}, 3)
    assert (summary.input_reaches_output, summary.longest_depth, summary.shortest_depth) == (True, 1, 0)
    assert (summary.weighted_paths, summary.operation_paths) == (2, 2)
    assert (summary.mean_width, summary.minimum_width) == (0.0, 0.0)  # one layer: no width after the first
    assert not summarise(parents, {1: 7}, None).input_reaches_output
    # a node without a path from the input does not reach the output
    assert not summarise([(), (), (1,)], {}, 2).input_reaches_output
    # the output is the input itself
    assert summarise([()], {}, 0).operation_paths == 1


def test_path_counts_are_exact_beyond_float_range():
    # 1100 diamonds in a row: 2**1100 paths (more than a float holds)
    parents: list[tuple[int, ...]] = [()]
    for _ in range(1100):
        top = len(parents) - 1
        parents += [(top,), (top,), (top + 1, top + 2)]
    summary = summarise(parents, {}, len(parents) - 1)
    assert summary.operation_paths == 2 ** 1100 and summary.weighted_paths == 1


# ----------------------------------------------------------------------- registry and proxy language

def test_the_graph_statistics_are_network_statistics_of_the_structure_pass():
    bank = registered()
    for name in GRAPH_STATISTICS:
        assert bank[name].kind == NETWORK and bank[name].needs == STRUCTURE, name
        assert name in statistic_names(NETWORK)
    assert passes_for(GRAPH_STATISTICS) == {STRUCTURE}


def test_a_formula_reads_graph_statistics_of_a_custom_model():
    depth_times_paths = Proxy("graph", Apply("multiply", (NetworkStatistic("longest_path_weighted_depth"),
                                                          NetworkStatistic("weighted_path_count_log"))))
    assert depth_times_paths.passes == {STRUCTURE}
    images, labels = _batch()
    scores = depth_times_paths.rank([Residual(), Chain()], images, labels)
    assert scores == [4 * math.log(3), 3 * math.log(2)]
    images, labels = _batch()
    statistics = probe_model(initialise(Concatenation(), 0).train(), images, labels, 0)
    table = StatisticTable.from_networks([statistics])
    assert set(GRAPH_STATISTICS) <= set(table.network_statistic_names)


class Scripted(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.jit.script(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
        self.head = nn.Linear(4, 10)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_a_model_the_probe_cannot_trace_has_undefined_graph_statistics():
    values = graph_of(Scripted())
    assert values["undefined"] == {name: UNTRACEABLE for name in GRAPH_STATISTICS}
    reads_depth = Proxy("depth", NetworkStatistic("longest_path_weighted_depth"))
    images, labels = _batch()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = reads_depth.rank([Chain(), Scripted()], images, labels)
    assert scores[0] == 3 and math.isnan(scores[1])
    assert any(issubclass(w.category, DegenerateScoresWarning) and "longest_path_weighted_depth is undefined"
               in str(w.message) for w in caught), [str(w.message) for w in caught]


def test_the_recorder_leaves_no_hook_and_no_mode_behind():
    model = Residual()
    with DataflowRecorder(model) as graph, torch.no_grad():
        model(torch.zeros(1, 3, 8, 8))
    assert graph.output is not None and len(graph.parents) > 1
    assert all(not module._forward_hooks and not module._forward_pre_hooks for module in model.modules())
    count = len(graph.parents)
    model(torch.zeros(1, 3, 8, 8))
    assert len(graph.parents) == count
