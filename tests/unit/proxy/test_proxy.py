"""Proxy language: operator registry, typed trees, JSON / sympy round trips, batched evaluation."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from greenmachine.errors import GMError
from greenmachine.proxy import operators as ops
from greenmachine.proxy.evaluate import PopulationEvaluator, evaluate_population
from greenmachine.proxy.generate import Primitives, synthetic_table
from greenmachine.proxy.tree import (
    Apply,
    Constant,
    LayerStatistic,
    NetworkStatistic,
    check_proxy,
    evaluate_sympy,
    tree_from_dict,
    validate_statistics,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def moderate_table():
    return synthetic_table(24, 6, 4, 3, 9, seed=11, extreme=False)


@pytest.fixture(scope="module")
def extreme_table():
    return synthetic_table(60, 12, 6, 2, 12, seed=5, extreme=True)


def _random_trees(table, count, seed, max_depth=7, max_size=40):
    primitives = Primitives(table.layer_statistic_names, table.network_statistic_names)
    return primitives.ramped_half_and_half(random.Random(seed), count, 2, max_depth, max_size)


# ----------------------------------------------------------------------------- registry


def _operator(name, torch_function, sympy_function=lambda x: x, arity=1, may_overflow=False):
    return ops.Operator(
        name=name, arity=arity, kind=ops.ELEMENTWISE, input_types=(ops.ANY,) * arity,
        output_type=ops.PROMOTE, torch_function=torch_function, sympy_function=sympy_function,
        display="f({0})" if arity == 1 else "f({0}, {1})", description="test", may_overflow=may_overflow,
    )


def test_unprotected_operators_are_rejected():
    with pytest.raises(ops.OperatorRegistrationError, match="NaN"):
        ops.register(_operator("unprotected_logarithm", lambda x: torch.log(x)))
    with pytest.raises(ops.OperatorRegistrationError, match="infinity"):
        ops.register(_operator("unprotected_reciprocal", lambda x: 1.0 / x))
    with pytest.raises(ops.OperatorRegistrationError, match="overflows"):
        ops.register(_operator("huge", lambda x: x * 1e300, may_overflow=True))
    assert "unprotected_logarithm" not in ops.operator_names()


def test_registry_rejects_duplicates_bad_names_and_arity():
    with pytest.raises(ops.OperatorRegistrationError, match="already registered"):
        ops.register(_operator("logarithm", lambda x: x))
    with pytest.raises(ops.OperatorRegistrationError, match="full words"):
        ops.register(_operator("Log2", lambda x: x))
    with pytest.raises(ops.OperatorRegistrationError, match="torch function must take 1"):
        ops.register(_operator("identity_two", lambda x, y: x))
    with pytest.raises(ops.OperatorRegistrationError, match="sympy function must take 2"):
        ops.register(_operator("pair", lambda x, y: x, sympy_function=lambda x: x, arity=2))
    try:
        registered = ops.register(_operator("identity", lambda x: x.clone()))
        assert ops.get_operator("identity") is registered
    finally:
        ops.unregister("identity")
    with pytest.raises(GMError, match="unknown operator 'identity'"):
        ops.get_operator("identity")


@pytest.mark.parametrize("name", ops.operator_names())
def test_every_operator_finite_on_extreme_inputs(name):
    operator = ops.get_operator(name)
    values = ops.probe_values()
    if operator.kind == ops.ELEMENTWISE:
        grids = torch.meshgrid(*([values] * operator.arity), indexing="ij")
        result = operator.torch_function(*(g.reshape(-1) for g in grids))
        small = torch.stack([g.reshape(-1).abs() <= 1e30 for g in grids]).all(0)
    else:
        layers = values.reshape(1, -1).expand(3, -1).clone()
        mask = torch.ones_like(layers, dtype=torch.bool)
        mask[1, 5:] = False
        mask[2, :] = False
        result = operator.torch_function(layers, mask)
        small = torch.zeros(result.shape, dtype=torch.bool)
    assert not torch.isnan(result).any()
    if operator.may_overflow:
        assert torch.isfinite(result[small.reshape(result.shape)]).all()
    else:
        assert torch.isfinite(result).all()


# ----------------------------------------------------------------------------- trees


def test_tree_types_and_errors():
    snip = LayerStatistic("snip")
    params = NetworkStatistic("params")
    layer = Apply("logarithm", (snip,))
    assert layer.type == "layer" and layer.size == 2 and layer.depth == 2
    mixed = Apply("divide", (snip, params))
    assert mixed.type == "layer"
    proxy = Apply("sum", (mixed,))
    assert proxy.type == "network" and proxy.depth == 3 and proxy.size == 4
    check_proxy(proxy)
    with pytest.raises(GMError, match="network-typed"):
        check_proxy(layer)
    with pytest.raises(GMError, match="must be layer-typed"):
        Apply("sum", (params,))
    with pytest.raises(GMError, match="takes 2 argument"):
        Apply("add", (snip,))
    with pytest.raises(GMError, match="unknown operator 'logarithm_two'"):
        Apply("logarithm_two", (snip,))
    with pytest.raises(GMError, match="finite"):
        Constant(float("nan"))
    assert str(proxy) == "sum((snip / params))"
    assert hash(proxy) == hash(Apply("sum", (Apply("divide", (LayerStatistic("snip"), NetworkStatistic("params"))),)))
    assert proxy == tree_from_dict(proxy.to_dict())
    assert LayerStatistic("params") != params
    assert proxy.replace((0, 1), Constant(2.0)) == Apply("sum", (Apply("divide", (snip, Constant(2.0))),))


def test_tree_from_dict_errors():
    proxy = Apply("mean", (LayerStatistic("snip"),))
    with pytest.raises(GMError, match="unknown per-layer statistic 'snip'"):
        tree_from_dict(proxy.to_dict(), ["synflow"], ["params"])
    with pytest.raises(GMError, match="unknown network statistic 'flops'"):
        validate_statistics(NetworkStatistic("flops"), ["snip"], ["params"])
    with pytest.raises(GMError, match="unknown operator 'log'"):
        tree_from_dict({"kind": "apply", "operator": "log", "children": [{"kind": "constant", "value": 1.0}]})
    with pytest.raises(GMError, match="unknown proxy tree node kind"):
        tree_from_dict({"kind": "mystery"})
    with pytest.raises(GMError, match="non-empty string"):
        tree_from_dict({"kind": "layer_statistic"})


def test_json_round_trip_random_trees(moderate_table):
    trees = _random_trees(moderate_table, 400, seed=1)
    assert len(set(trees)) >= 300
    for tree in trees:
        text = json.dumps(tree.to_dict())
        loaded = tree_from_dict(json.loads(text), moderate_table.layer_statistic_names, moderate_table.network_statistic_names)
        assert loaded == tree and hash(loaded) == hash(tree) and str(loaded) == str(tree)
        assert loaded.size == tree.size and loaded.depth == tree.depth


def test_sympy_round_trip_random_trees(moderate_table):
    trees = list(dict.fromkeys(_random_trees(moderate_table, 260, seed=2)))
    assert len(trees) >= 200
    scores = evaluate_population(trees, moderate_table).numpy()
    compared = 0
    for tree, row in zip(trees, scores):
        reference = evaluate_sympy(tree.to_sympy(), moderate_table)
        finite = np.isfinite(row) & np.isfinite(reference)
        assert (np.isfinite(row) == np.isfinite(reference)).all(), str(tree)
        # relative error 1e-6, with an absolute floor for results that are rounding noise
        # around zero (e.g. the standard deviation of a constant vector)
        scale = np.maximum(np.abs(row), np.abs(reference))
        excess = (np.abs(row - reference) - 1e-6 * scale - 1e-9)[finite]
        assert excess.size == 0 or excess.max() <= 0, (str(tree), str(tree.to_sympy()))
        compared += int(finite.sum())
    assert compared > 0.9 * len(trees) * moderate_table.num_networks


def test_sympy_form_of_aggregations(moderate_table):
    import sympy

    snip = LayerStatistic("snip")
    expression = Apply("sum", (Apply("logarithm", (snip,)),)).to_sympy()
    l = ops.LAYER_INDEX
    assert expression == ops.LayerSum(sympy.log(sympy.Abs(sympy.IndexedBase("snip", real=True)[l]) + 1e-30))
    # an inner expression that no longer depends on the layer uses the layer count L
    assert ops.LayerSum(sympy.Integer(2)) == 2 * ops.LAYER_COUNT
    assert ops.LayerMean(sympy.Integer(2)) == 2 and ops.LayerStandardDeviation(sympy.Integer(2)) == 0
    first = LayerStatistic(moderate_table.layer_statistic_names[0])
    counting = Apply("sum", (Apply("add", (Apply("subtract", (first, first)), Constant(1.0))),))
    assert counting.to_sympy() == ops.LAYER_COUNT
    counts = moderate_table.layer_mask.sum(1).double().numpy()
    np.testing.assert_array_equal(evaluate_sympy(counting.to_sympy(), moderate_table), counts)
    np.testing.assert_array_equal(evaluate_population([counting], moderate_table)[0].numpy(), counts)
    assert "\\sum_{l}" in sympy.latex(expression)


# ----------------------------------------------------------------------------- evaluation


def test_masked_aggregations_match_numpy(moderate_table):
    values = moderate_table.layer_values[0].numpy()
    mask = moderate_table.layer_mask.numpy()
    expected = {
        "sum": np.sum, "mean": np.mean, "maximum": np.max, "minimum": np.min, "standard_deviation": np.std,
        "median": np.median, "norm": np.linalg.norm, "first": lambda v: v[0], "last": lambda v: v[-1],
    }
    trees = [Apply(name, (LayerStatistic(moderate_table.layer_statistic_names[0]),)) for name in expected]
    scores = evaluate_population(trees, moderate_table).numpy()
    for row, name in zip(scores, expected):
        reference = [expected[name](values[n, mask[n]]) for n in range(mask.shape[0])]
        np.testing.assert_allclose(row, reference, rtol=1e-12, err_msg=name)


def test_protected_trees_finite_on_extreme_table(extreme_table):
    trees = _random_trees(extreme_table, 300, seed=3)
    protected = [t for t in trees if not any(
        isinstance(n, Apply) and ops.get_operator(n.operator).may_overflow for _, n in t.subtrees())]
    assert len(protected) > 30
    scores = evaluate_population(protected, extreme_table)
    assert torch.isfinite(scores).all()
    overflowing = evaluate_population(trees, extreme_table)
    assert not torch.isnan(overflowing[torch.isfinite(overflowing).all(1)]).any()


def test_batched_equals_one_by_one_and_cache(extreme_table):
    trees = _random_trees(extreme_table, 60, seed=4)
    batched = evaluate_population(trees, extreme_table)
    for index in (0, 7, 33, 59):
        single = evaluate_population([trees[index]], extreme_table)[0]
        assert torch.equal(batched[index].nan_to_num(), single.nan_to_num())
    evaluator = PopulationEvaluator(extreme_table, cache_bytes=1 << 24)
    first = evaluator.evaluate(trees)
    computed = evaluator.nodes_computed
    second = evaluator.evaluate(trees)
    assert evaluator.nodes_computed == computed  # all remembered
    assert torch.equal(first.nan_to_num(), second.nan_to_num())
    assert torch.equal(first.nan_to_num(), batched.nan_to_num())
    with pytest.raises(GMError, match="no per-layer statistic 'snip'"):
        evaluate_population([Apply("sum", (LayerStatistic("snip"),))], extreme_table)
    with pytest.raises(GMError, match="network-typed"):
        evaluate_population([LayerStatistic(extreme_table.layer_statistic_names[0])], extreme_table)
    constant = evaluate_population([Apply("add", (Constant(1.0), Constant(2.0)))], extreme_table)
    assert constant.shape == (1, extreme_table.num_networks) and (constant == 3.0).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(extreme_table):
    trees = _random_trees(extreme_table, 50, seed=6)
    cpu = evaluate_population(trees, extreme_table)
    gpu = evaluate_population(trees, extreme_table.to("cuda"))
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-9, atol=0.0, equal_nan=True)


def test_proxy_json_beyond_the_limits_is_one_error_not_a_recursion_error():
    from greenmachine.proxy.tree import MAX_DEPTH, MAX_SIZE
    from greenmachine.settings.profile import MAX_INITIAL_DEPTH_SETTING, MAX_TREE_DEPTH_SETTING, MAX_TREE_SIZE_SETTING

    def chain(length):
        node = {"kind": "layer_statistic", "name": "snip"}
        for _ in range(length):
            node = {"kind": "apply", "operator": "logarithm", "children": [node]}
        return {"kind": "apply", "operator": "sum", "children": [node]}

    deepest = tree_from_dict(chain(MAX_DEPTH - 2))  # a proxy exactly at the depth limit
    assert deepest.depth == MAX_DEPTH
    assert tree_from_dict(deepest.to_dict()) == deepest and str(deepest).count("log(") == MAX_DEPTH - 2
    for length in (MAX_DEPTH - 1, 900, 5000, 100_000):
        with pytest.raises(GMError, match="proxy tree too large") as error:
            tree_from_dict(chain(length))
        assert "\n" not in str(error.value)
    leaf = NetworkStatistic("params")
    wide = leaf
    while wide.size * 2 + 1 <= MAX_SIZE:
        wide = Apply("add", (wide, wide))
    assert tree_from_dict(wide.to_dict()) == wide
    with pytest.raises(GMError, match="proxy tree too large"):
        Apply("add", (wide, wide))
    # evolution never builds a tree the limits refuse: crossover joins two trees of the
    # profile's largest depth/size; a subtree mutation adds a full tree of the initial depth
    assert 2 * MAX_TREE_DEPTH_SETTING <= MAX_DEPTH
    assert 2 * MAX_TREE_SIZE_SETTING + 2 ** MAX_INITIAL_DEPTH_SETTING <= MAX_SIZE


@pytest.mark.parametrize(
    "data,fragment",
    [
        ({"kind": "constant", "value": float("nan")}, "finite number"),
        ({"kind": "constant", "value": float("inf")}, "finite number"),
        ({"kind": "constant", "value": 10**400}, "finite number"),
        ({"kind": "constant", "value": True}, "finite number"),
        ({"kind": "constant", "value": "1"}, "finite number"),
        ({"kind": "constant"}, "finite number"),
        ({"kind": "apply", "operator": ["sum"], "children": []}, "operator name must be a string"),
        ({"kind": "apply", "operator": "sum", "children": "snip"}, "no list of children"),
        ({"kind": "apply", "operator": "add", "children": [{"kind": "constant", "value": 1}]}, "takes 2 argument"),
        ({"kind": "layer_statistic", "name": 3}, "non-empty string"),
        ([], "must be an object"),
    ],
)
def test_malformed_proxy_json_is_one_line(data, fragment):
    with pytest.raises(GMError, match=fragment) as error:
        tree_from_dict(data)
    assert "\n" not in str(error.value)
