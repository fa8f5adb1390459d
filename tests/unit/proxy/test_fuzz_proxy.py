"""Property-based tests: random proxy JSON (deep, wide, wrong types, unknown names,
non-finite constants, random bytes) ends in one :class:`~greenmachine.errors.GMError` line or in a
tree that is exactly the JSON it came from, within the hard size limits, and evaluates.

The default run keeps each property to a few seconds; the ``slow`` variants try many more
cases (``pytest -m slow tests/unit/proxy/test_fuzz_proxy.py --hypothesis-show-statistics``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from greenmachine.errors import GMError
from greenmachine.proxy.evaluate import evaluate_population
from greenmachine.proxy.operators import operators
from greenmachine.proxy.tree import MAX_DEPTH, MAX_SIZE, Node, tree_from_dict
from greenmachine.rundir.directory import read_json
from greenmachine.stats.table import NetworkStatistics, StatisticTable

FAST = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MANY = settings(max_examples=3000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

LAYER_NAMES = ("snip", "synflow")
NETWORK_NAMES = ("flops", "params")
OPERATOR_NAMES = [operator.name for operator in operators()]
UNARY = [operator.name for operator in operators(arity=1)]
junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**1100), 2**1100),
                    st.sampled_from([0, -0.0, 1e308, 1e-320, float("nan"), float("inf")]))


def _maybe_drop(node: st.SearchStrategy) -> st.SearchStrategy:
    """Sometimes drop or retype one key of a node (missing keys, wrong types)."""

    @st.composite
    def damaged(draw):
        data = dict(draw(node))
        choice = draw(st.integers(0, 9))
        if choice == 0 and data:
            del data[draw(st.sampled_from(sorted(data)))]
        elif choice == 1 and data:
            data[draw(st.sampled_from(sorted(data)))] = draw(junk)
        return data

    return damaged()


leaves = st.one_of(
    _maybe_drop(st.fixed_dictionaries({"kind": st.just("layer_statistic"),
                                       "name": st.sampled_from(LAYER_NAMES + ("grad_norm", ""))})),
    _maybe_drop(st.fixed_dictionaries({"kind": st.just("network_statistic"),
                                       "name": st.sampled_from(NETWORK_NAMES + ("depth", "x\ny"))})),
    _maybe_drop(st.fixed_dictionaries({"kind": st.just("constant"), "value": numbers | junk})),
    st.fixed_dictionaries({"kind": st.text(max_size=8) | junk}),
    junk,
)


def _applies(children: st.SearchStrategy) -> st.SearchStrategy:
    return _maybe_drop(st.fixed_dictionaries({
        "kind": st.just("apply"),
        "operator": st.sampled_from(OPERATOR_NAMES) | st.sampled_from(["log", "Add", "", "eval"]),
        "children": st.lists(children, min_size=0, max_size=3),
    }))


BINARY = [operator.name for operator in operators(arity=2)]
good_leaves = st.one_of(
    st.builds(lambda name: {"kind": "layer_statistic", "name": name}, st.sampled_from(LAYER_NAMES)),
    st.builds(lambda name: {"kind": "network_statistic", "name": name}, st.sampled_from(NETWORK_NAMES)),
    st.builds(lambda value: {"kind": "constant", "value": value},
              st.floats(-1e6, 1e6) | st.integers(-5, 5)),
)


def _typed_applies(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(lambda name, child: {"kind": "apply", "operator": name, "children": [child]},
                  st.sampled_from(UNARY), children),
        st.builds(lambda name, left, right: {"kind": "apply", "operator": name, "children": [left, right]},
                  st.sampled_from(BINARY), children, children),
    )


# mostly well-formed trees of the right arity (type errors still occur), and fully random ones
trees = st.recursive(good_leaves, _typed_applies, max_leaves=30) | st.recursive(leaves, _applies, max_leaves=40)


@st.composite
def deep_chains(draw):
    """A unary chain of up to 20 000 nodes (far beyond the recursion limit)."""
    depth = draw(st.integers(1, 20_000))
    node = {"kind": "layer_statistic", "name": draw(st.sampled_from(LAYER_NAMES))}
    operator = draw(st.sampled_from(UNARY))
    for _ in range(depth):
        node = {"kind": "apply", "operator": operator, "children": [node]}
    return node


@st.composite
def wide_trees(draw):
    """A full binary tree of ``add`` up to depth 14 (32 767 nodes)."""
    depth = draw(st.integers(1, 14))
    leaf = {"kind": "network_statistic", "name": draw(st.sampled_from(NETWORK_NAMES))}
    level = [leaf] * (2 ** (depth - 1))
    while len(level) > 1:
        level = [{"kind": "apply", "operator": "add", "children": [level[i], level[i + 1]]}
                 for i in range(0, len(level), 2)]
    return level[0]


def _table() -> StatisticTable:
    rng = np.random.default_rng(0)
    networks = []
    for count in (2, 3, 4):
        networks.append(NetworkStatistics(
            tuple(f"layer{i}" for i in range(count)),
            {name: rng.normal(size=count) for name in LAYER_NAMES},
            {name: float(rng.uniform(1, 10)) for name in NETWORK_NAMES},
        ))
    return StatisticTable.from_networks(networks)


TABLE = _table()


def _same_structure(tree: Node, data) -> None:
    """The tree is exactly the JSON: same kinds, names, operators and values, in order."""
    stack = [(tree, data)]
    while stack:
        node, item = stack.pop()
        kind = item["kind"]
        assert node.to_dict()["kind"] == kind if kind != "apply" else True
        if kind in ("layer_statistic", "network_statistic"):
            assert node.name == item["name"]
        elif kind == "constant":
            assert node.value == float(item["value"])
        else:
            assert node.operator == item["operator"] and len(node.children) == len(item["children"])
            stack.extend(zip(node.children, item["children"]))


def _one_line(error: GMError) -> None:
    message = str(error)
    assert message and "\n" not in message and "\r" not in message and len(message) < 2000


def _check(data) -> None:
    try:
        tree = tree_from_dict(data)
    except GMError as error:
        _one_line(error)
        event("rejected with one GMError line")
        return
    event("accepted")
    assert tree.depth <= MAX_DEPTH and tree.size <= MAX_SIZE
    _same_structure(tree, data)
    assert tree_from_dict(json.loads(json.dumps(tree.to_dict()))) == tree
    assert str(tree)
    try:
        checked = tree_from_dict(data, LAYER_NAMES, NETWORK_NAMES)
    except GMError as error:  # a statistic the table lacks
        _one_line(error)
        return
    if checked.type != "network":
        with pytest.raises(GMError):
            evaluate_population([checked], TABLE)
        return
    scores = evaluate_population([checked], TABLE)
    assert scores.shape == (1, TABLE.num_networks) and scores.dtype == torch.float64
    assert torch.equal(scores.isnan(), evaluate_population([checked], TABLE).isnan())


@FAST
@given(trees)
def test_random_proxy_json(data):
    _check(data)


@pytest.mark.slow
@MANY
@given(trees)
def test_random_proxy_json_many(data):
    _check(data)


@settings(max_examples=25, deadline=None, database=None, derandomize=True)
@given(deep_chains() | wide_trees())
def test_deep_and_wide_proxy_json(data):
    _check(data)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, database=None)
@given(deep_chains() | wide_trees())
def test_deep_and_wide_proxy_json_many(data):
    _check(data)


def _check_file(tmp_path_factory, content: bytes) -> None:
    path = tmp_path_factory.mktemp("proxy") / "best_proxy.json"
    path.write_bytes(content)
    try:
        saved = read_json(path)
        if not isinstance(saved, dict) or "tree" not in saved:
            return
        tree_from_dict(saved["tree"])
    except GMError as error:
        _one_line(error)


VALID = json.dumps({"tree": {"kind": "apply", "operator": "sum", "children": [
    {"kind": "apply", "operator": "logarithm", "children": [{"kind": "layer_statistic", "name": "snip"}]}]}}).encode()


@st.composite
def damaged_files(draw):
    content = bytearray(VALID)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(content) - 1))
        content[position] = draw(st.integers(0, 255))
    return bytes(content)


@FAST
@given(st.binary(max_size=300) | damaged_files() | st.integers(900, 30_000).map(lambda n: b"[" * n + b"]" * n))
def test_random_bytes_in_a_proxy_file(tmp_path_factory, content):
    _check_file(tmp_path_factory, content)


@pytest.mark.slow
@MANY
@given(st.binary(max_size=300) | damaged_files())
def test_random_bytes_in_a_proxy_file_many(tmp_path_factory, content):
    _check_file(tmp_path_factory, content)
