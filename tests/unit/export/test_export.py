"""Formula export: simplification under a time limit, and the four export formats.

The round trips run on *real* probe statistics: 6 NATS-Bench-TSS networks probed once per
test session at batch 8 (CPU, cache in a temporary folder). Only if the probe cannot run
(no data directory) do they fall back to a realistic synthetic table, with a warning.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import random
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch
from typer.testing import CliRunner

from greenmachine import export
from greenmachine.errors import GMError
from greenmachine.proxy.evaluate import evaluate_population
from greenmachine.proxy.generate import Primitives, synthetic_table
from greenmachine.proxy.operators import AGGREGATION, ELEMENTWISE, operator_names, operators
from greenmachine.proxy.tree import Apply, Constant, LayerStatistic, NetworkStatistic, evaluate_sympy, tree_from_dict

TSS_INDICES = [0, 1, 100, 5000, 12000, 15000]
PROBE_CACHE = Path(tempfile.gettempdir()) / "gm-test-formulas-probe-cache"
"""Kept between test sessions (keyed by bank version, corruption-checked): later runs skip the probe."""


@pytest.fixture(scope="session")
def real_table():
    """6 TSS networks probed at batch 8 (the real statistic bank), or a synthetic fallback."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from greenmachine.probe import ProbeCache, probe_many
        from greenmachine.stats.table import StatisticTable

        cache = ProbeCache(PROBE_CACHE)
        networks = probe_many("tss", TSS_INDICES, "cifar10", 8, 0, "cpu", cache=cache)
        return StatisticTable.from_networks(networks)
    except GMError as error:  # no data directory: say so, and use realistic synthetic values
        warnings.warn(f"probe unusable ({error}); formula round trips use a synthetic table")
        return synthetic_table(num_networks=40, seed=3)
    finally:
        torch.set_num_threads(previous)


def network_inputs(table):
    """Per network: (layer dict of lists, network dict of floats), as the probe gives them."""
    layer_values = table.layer_values.numpy()
    mask = table.layer_mask.numpy()
    network_values = table.network_values.numpy()
    inputs = []
    for column in range(table.num_networks):
        layer = {name: layer_values[i, column, mask[column]] for i, name in enumerate(table.layer_statistic_names)}
        network = {name: float(network_values[i, column]) for i, name in enumerate(table.network_statistic_names)}
        inputs.append((layer, network))
    return inputs


def import_module(source: str, path, name: str):
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_same_scores(reference: np.ndarray, values: np.ndarray, what: str) -> None:
    """Relative error <= 1e-6 where the reference is finite, and the same ranking."""
    finite = np.isfinite(reference)
    assert np.all(np.isfinite(values[finite])), f"{what}: non-finite where the tree is finite"
    close = np.isclose(values[finite], reference[finite], rtol=1e-6, atol=1e-300)
    assert close.all(), f"{what}: {values[finite][~close]} != {reference[finite][~close]}"
    for i, j in itertools.combinations(np.flatnonzero(finite), 2):
        gap = reference[i] - reference[j]
        if abs(gap) > 1e-6 * max(abs(reference[i]), abs(reference[j])):
            assert np.sign(values[i] - values[j]) == np.sign(gap), f"{what}: ranking differs"


def check_round_trip(trees, table, tmp_path, timeout: float) -> list:
    scores = evaluate_population(trees, table).numpy()
    results = export.simplify_many([tree.to_sympy() for tree in trees], timeout)
    inputs = network_inputs(table)
    for position, (tree, result) in enumerate(zip(trees, results)):
        assert sympy.count_ops(result.expression) <= sympy.count_ops(result.original), tree
        assert result.status in ("simplified", "unchanged", "timeout") or result.status.startswith("error: "), result
        assert not export.free_layer_terms(result.expression), result.expression
        assert_same_scores(scores[position], evaluate_sympy(result.expression, table), f"lambdified {tree}")
        module = import_module(export.to_python_module(tree, result.expression),
                               tmp_path / f"proxy_{position}.py", f"gm_exported_proxy_{position}")
        exported = np.array([module.proxy_score(layer, network) for layer, network in inputs])
        assert_same_scores(scores[position], exported, f"python export of {tree}")
    return results


def random_proxies(table, count: int, seed: int, max_depth: int = 6, max_size: int = 30):
    primitives = Primitives(table.layer_statistic_names, table.network_statistic_names)
    return primitives.ramped_half_and_half(random.Random(seed), count, 2, max_depth, max_size=max_size)


def test_round_trip_30_random_trees_on_real_statistics(real_table, tmp_path):
    # smaller trees and a short limit keep this fast; the slow test covers sizes up to 30
    trees = random_proxies(real_table, 30, seed=7, max_depth=5, max_size=15)
    results = check_round_trip(trees, real_table, tmp_path, timeout=1.0)
    assert any(r.status in ("simplified", "unchanged") for r in results)


@pytest.mark.slow
def test_round_trip_200_random_trees_on_real_statistics(real_table, tmp_path):
    trees = random_proxies(real_table, 200, seed=11)
    results = check_round_trip(trees, real_table, tmp_path, timeout=3.0)
    assert len(results) == 200
    assert sum(r.form != "original" for r in results) > 0


def test_time_limit_holds_on_pathological_expression():
    x = sympy.symbols("x0:6", real=True)
    expression = sympy.Add(*[
        sympy.sin(x[i]) ** 2 * sympy.cos(x[j]) * sympy.exp(x[i] - x[j]) / (1 + sympy.tanh(x[i] * x[j]))
        + sympy.cos(x[i]) ** 2 * sympy.sin(x[j] + x[i])
        for i, j in itertools.permutations(range(6), 2)
    ])  # sympy.simplify runs far beyond 10 s on this
    limit = 1.5
    start = time.monotonic()
    result = export.simplify_expression(expression, limit)
    elapsed = time.monotonic() - start
    assert elapsed <= limit + 1.0, elapsed
    assert result.status == "timeout"
    assert result.form in ("original", "canonical")
    assert result.original == expression
    if result.form == "original":
        assert result.expression == expression
    assert "time limit" in result.note


def test_simplification_keeps_smaller_equal_forms():
    snip = LayerStatistic("snip")
    params = NetworkStatistic("parameter_count")
    # sigmoid(x) + sigmoid(-x) = 1, so the sum over layers is the layer count L
    tree = Apply("sum", (Apply("add", (Apply("sigmoid", (snip,)), Apply("sigmoid", (Apply("negative", (snip,)),)))),))
    result = export.simplify_expression(tree.to_sympy(), 20.0)
    assert result.status == "simplified" and result.form == "simplified", result
    assert result.expression == sympy.Symbol("L", integer=True, positive=True)
    assert sympy.count_ops(result.expression) < sympy.count_ops(result.original)
    assert export.one_line(result.expression) == "L"
    # sympy rewrites sigmoid(x) into exp(x)/(exp(x) + 1): equal, same size, but nan at x = 1e6 -- refused
    sigmoid = Apply("sigmoid", (params,)).to_sympy()
    kept = export.simplify_expression(sigmoid, 20.0).expression
    assert export.same_numbers(kept, sigmoid)
    x = sympy.Symbol("parameter_count", real=True)
    assert not export.same_numbers(sympy.exp(x) / (sympy.exp(x) + 1), sigmoid)


def test_trivial_and_zero_timeout():
    tree = Apply("mean", (LayerStatistic("snip"),))
    result = export.simplify_expression(tree.to_sympy(), 5.0)
    assert result.status == "unchanged" and result.seconds < 0.5
    skipped = export.simplify_expression(Apply("logarithm", (tree,)).to_sympy(), 0)
    assert skipped.status == "timeout" and skipped.form == "original"


def test_every_operator_has_an_exact_python_form(tmp_path):
    assert set(export.python_operator_names()) == set(operator_names())
    table = synthetic_table(num_networks=30, num_layer_statistics=3, num_network_statistics=3,
                            min_layers=1, max_layers=9, seed=5, extreme=True)
    moderate = synthetic_table(num_networks=30, num_layer_statistics=3, num_network_statistics=3,
                               min_layers=1, max_layers=9, seed=6, extreme=False)
    layer = [LayerStatistic(f"layer_statistic_0{i}") for i in range(3)]
    network = [NetworkStatistic(f"network_statistic_0{i}") for i in range(3)]
    trees = []
    for operator in operators(ELEMENTWISE):
        if operator.arity == 1:
            trees += [Apply("sum", (Apply(operator.name, (layer[0],)),)), Apply(operator.name, (network[1],))]
        else:
            trees += [Apply("mean", (Apply(operator.name, (layer[0], layer[2])),)),
                      Apply("maximum", (Apply(operator.name, (layer[1], network[0])),)),
                      Apply("minimum", (Apply(operator.name, (network[2], layer[2])),)),
                      Apply(operator.name, (network[0], Constant(0.5)))]
    for operator in operators(AGGREGATION):
        trees += [Apply(operator.name, (layer[0],)), Apply(operator.name, (layer[1],)),
                  Apply(operator.name, (Apply("divide", (layer[2], network[1])),))]
    source = export.to_python_module(trees[0], extra=[(t, None, []) for t in trees[1:]], statistic_docs_={})
    module = import_module(source, tmp_path / "all_operators.py", "gm_exported_all_operators")
    for data in (table, moderate):
        scores = evaluate_population(trees, data).numpy()
        inputs = network_inputs(data)
        for position, tree in enumerate(trees):
            function = getattr(module, "proxy_score" if position == 0 else f"proxy_score_{position + 1}")
            exported = np.array([function(layer_values, network_values) for layer_values, network_values in inputs])
            assert_same_scores(scores[position], exported, str(tree))


def sample_tree():
    snip = LayerStatistic("snip")
    return Apply("divide", (
        Apply("sum", (Apply("logarithm", (Apply("multiply", (snip, NetworkStatistic("parameter_count"))),)),)),
        Apply("add", (Apply("maximum", (LayerStatistic("gradient_l2_norm"),)), Constant(2.0))),
    ))


def test_each_format_for_a_sample_tree(tmp_path):
    tree = sample_tree()
    expression = tree.to_sympy()
    text = export.export_proxy(tree, "text", 10.0)
    assert "L" in text and "╲" in text and "snip[l]" in text and "maxₗ" in text
    assert "ε = 1e-30" in text and f"tree: {tree}" in text
    latex = export.export_proxy(tree, "latex", 10.0)
    assert r"\sum_{l}" in latex and r"\mathrm{snip}_{l}" in latex and r"\max_{l}" in latex
    assert r"\mathrm{gradient\_l2\_norm}_{l}" in latex and r"\epsilon" in latex
    assert all(line.startswith("%") for line in latex.splitlines()[:-1])
    # powers of aggregations print (the aggregations' own _latex cannot)
    squared = Apply("square", (Apply("maximum", (LayerStatistic("snip"),)),)).to_sympy()
    assert export.to_latex(squared) == r"\left(\max_{l} \left(\mathrm{snip}_{l}\right)\right)^{2}"
    source = export.export_proxy(tree, "python", 10.0)
    compile(source, "exported.py", "exec")
    assert "import greenmachine" not in source and "from greenmachine" not in source and "numpy" not in source
    assert "snip: SNIP saliency" in source and "parameter_count: Trainable parameters" in source  # bank docs
    module = import_module(source, tmp_path / "sample.py", "gm_exported_sample")
    layer = {"snip": [0.5, 2.0, -3.0], "gradient_l2_norm": [1.0, 4.0, 0.0]}
    network = {"parameter_count": 1000.0}
    expected = sum(math.log(abs(v * 1000.0) + 1e-30) for v in layer["snip"]) / (4.0 + 2.0 + 1e-30)
    assert module.proxy_score(layer, network) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="gradient_l2_norm"):
        module.proxy_score({"snip": [1.0]}, network)
    with pytest.raises(ValueError, match="one value per weighted layer"):
        module.proxy_score({"snip": [1.0], "gradient_l2_norm": [1.0, 2.0]}, network)
    data = json.loads(export.export_proxy(tree, "json", 10.0))
    assert tree_from_dict(data["tree"]) == tree and data["formula"] == str(tree) and data["size"] == tree.size
    assert json.loads(export.to_json(tree))["tree"] == tree.to_dict()
    assert export.one_line(expression).startswith("sum_l(log(|parameter_count*snip[l]| + 1.0e-30))")
    with pytest.raises(GMError, match="unknown export format"):
        export.export_proxy(tree, "yaml")


def test_python_export_cannot_be_broken_by_names(tmp_path, capsys):
    odd = '"""\nimport os\nos.exit(1)  # \\'
    tree = Apply("sum", (Apply("add", (LayerStatistic(odd), NetworkStatistic("x\ny"))),))
    header = ["line one\nprint('escaped')"]
    source = export.to_python_module(tree, statistic_docs_={}, header=header)
    module = import_module(source, tmp_path / "odd.py", "gm_exported_odd")
    assert module.proxy_score({odd: [1.0, 2.0]}, {"x\ny": 0.5}) == pytest.approx(4.0)
    assert capsys.readouterr().out == ""
    assert "# line one print('escaped')" in source


# --------------------------------------------------------------------------- gm export


def fake_run(tmp_path):
    """A run directory written by hand: best_proxy.json, hall_of_fame.csv, report.json."""
    from greenmachine.rundir.directory import write_hall_of_fame

    run = tmp_path / "run"
    run.mkdir()
    best = sample_tree()
    second = Apply("mean", (Apply("square_root", (LayerStatistic("snip"),)),))
    third = Apply("last", (LayerStatistic("gradient_l2_norm"),))
    (run / "best_proxy.json").write_text(json.dumps({
        "tree": best.to_dict(), "formula": str(best), "size": best.size, "search_tau": 0.61,
        "validation_tau": 0.58, "space": "tss", "datasets": ["cifar10"], "probe": {"batch_size": 8, "seed": 0},
        "statistics": {"layer": ["snip", "gradient_l2_norm"], "network": ["parameter_count"]},
    }), encoding="utf-8")
    write_hall_of_fame(run / "hall_of_fame.csv", [
        {"size": third.size, "tau_search": 0.40, "tau_validation": 0.31, "formula": str(third), "simplified": "",
         "tree_json": json.dumps(third.to_dict())},
        {"size": second.size, "tau_search": 0.55, "tau_validation": 0.52, "formula": str(second), "simplified": "",
         "tree_json": json.dumps(second.to_dict())},
        {"size": best.size, "tau_search": 0.61, "tau_validation": 0.58, "formula": str(best), "simplified": "",
         "tree_json": json.dumps(best.to_dict())},
    ])
    (run / "report.json").write_text(json.dumps({
        "best_proxy": {"formula": str(best)}, "test": {"cifar10": {"n": 100, "evolved": {"kendall_tau": 0.5432}}},
    }), encoding="utf-8")
    (run / "profile.toml").write_text("[export]\nsimplify_timeout = 10.0\n", encoding="utf-8")
    return run, best, second


runner = CliRunner()


@pytest.mark.parametrize("fmt", ["text", "latex", "python", "json"])
def test_gm_export_best_proxy(tmp_path, fmt):
    from greenmachine.tui.cli import app

    run, best, _ = fake_run(tmp_path)
    result = runner.invoke(app, ["export", str(run), "--format", fmt])
    assert result.exit_code == 0, result.output
    output = result.output
    if fmt == "json":
        data = json.loads(output)
        assert tree_from_dict(data["tree"]) == best
        assert data["validation_tau"] == 0.58 and data["test_tau"] == {"cifar10": 0.5432}
        assert data["space"] == "tss"  # best_proxy.json's own fields are kept
    else:
        assert "validation τ 0.5800" in output and "test τ cifar10 0.5432" in output
    if fmt == "python":
        assert output.startswith("# best proxy: size")
    if fmt == "latex":
        assert output.startswith("% best proxy: size")
    # the same through a best_proxy.json path, to a file
    target = tmp_path / f"out.{fmt}"
    result = runner.invoke(app, ["export", str(run / "best_proxy.json"), "-f", fmt, "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").strip() == output.strip()


@pytest.mark.parametrize("fmt", ["text", "latex", "python", "json"])
def test_gm_export_top_two(tmp_path, fmt):
    from greenmachine.tui.cli import app

    run, best, second = fake_run(tmp_path)
    result = runner.invoke(app, ["export", str(run), "--format", fmt, "--top", "2"])
    assert result.exit_code == 0, result.output
    output = result.output
    if fmt == "json":
        data = json.loads(output)
        assert [tree_from_dict(item["tree"]) for item in data] == [best, second]
        assert [item["validation_tau"] for item in data] == [0.58, 0.52]
        assert data[0]["test_tau"] == {"cifar10": 0.5432} and data[1]["test_tau"] == {}
    else:
        assert "hall of fame #1 (best proxy)" in output and "hall of fame #2" in output
        assert "validation τ 0.5800" in output and "validation τ 0.5200" in output
        assert "hall of fame #3" not in output
    if fmt == "python":
        module = import_module(output, tmp_path / "top.py", f"gm_exported_top_{fmt}")
        assert module.proxy_score_2({"snip": [4.0, 9.0]}, {}) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "arguments,fragment",
    [
        (["export", "/nonexistent/run"], "not found"),
        (["export", "{run}", "--format", "yaml"], "unknown export format 'yaml'"),
        (["export", "{run}/report.json"], "holds no proxy tree"),
        (["export", "{run}/hall_of_fame.csv"], "is not valid JSON"),
        (["export", "{run}", "--top", "0"], "--top must be at least 1"),
        (["export", "{empty}", "--top", "2"], "hall_of_fame.csv not found"),
    ],
)
def test_gm_export_bad_input_is_one_line(tmp_path, arguments, fragment):
    from greenmachine.tui.cli import app

    run, _, _ = fake_run(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "best_proxy.json").write_text(json.dumps({"tree": sample_tree().to_dict()}), encoding="utf-8")
    arguments = [a.format(run=run, empty=empty) for a in arguments]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_export_run_for_the_tui(tmp_path):
    run, best, _ = fake_run(tmp_path)
    assert export.run_timeout(run) == 10.0
    text = export.export_run(run, "text")
    assert "best proxy" in text
    assert export.simplified_text(best, 10.0).startswith("sum_l(log(")
    assert export.simplified_texts([best, Apply("first", (LayerStatistic("snip"),))], 10.0)[1] == "first_l(snip[l])"


def _break_best_proxy(run):
    data = json.loads((run / "best_proxy.json").read_text(encoding="utf-8"))
    tree = Apply("add", (Apply("sum", (LayerStatistic("no_such_layer_statistic"),)), NetworkStatistic("parameter_count")))
    data["tree"] = tree.to_dict()
    (run / "best_proxy.json").write_text(json.dumps(data), encoding="utf-8")


def _break_hall_of_fame(run):
    from greenmachine.rundir.directory import write_hall_of_fame

    tree = Apply("logarithm", (NetworkStatistic("no_such_network_statistic"),))
    write_hall_of_fame(run / "hall_of_fame.csv", [
        {"size": tree.size, "tau_search": 0.5, "tau_validation": 0.5, "formula": str(tree), "simplified": "",
         "tree_json": json.dumps(tree.to_dict())},
    ])


@pytest.mark.parametrize(
    "damage,extra,fragment",
    [
        (_break_best_proxy, [], "best_proxy.json: proxy uses unknown per-layer statistic 'no_such_layer_statistic'"),
        (_break_hall_of_fame, ["--top", "1"],
         "hall_of_fame.csv:2: proxy uses unknown network statistic 'no_such_network_statistic'"),
        (lambda run: (run / "profile.toml").write_text("[export\n", encoding="utf-8"), [], "profile.toml: invalid TOML"),
        (lambda run: (run / "profile.toml").write_text("[export]\nsimplify_timeout = 'fast'\n", encoding="utf-8"), [],
         "profile.toml: export.simplify_timeout must be a number"),
        (lambda run: (run / "profile.toml").write_text("[export]\nsimplify_timeout = 0\n", encoding="utf-8"), [],
         "profile.toml: export.simplify_timeout must be >="),
        (lambda run: (run / "profile.toml").write_text("[exports]\n", encoding="utf-8"), [],
         "profile.toml: unknown key 'exports'"),
    ],
)
def test_gm_export_bad_run_directory_is_one_line(tmp_path, damage, extra, fragment):
    """Unknown statistics and a bad profile.toml are one error naming the file, exit 2."""
    from greenmachine.tui.cli import app

    run, _, _ = fake_run(tmp_path)
    damage(run)
    for fmt in ("text", "python"):
        result = runner.invoke(app, ["export", str(run), "--format", fmt, *extra])
        assert result.exit_code == 2, result.output
        assert fragment in result.output, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_run_timeout_without_profile_is_the_default(tmp_path):
    run, _, _ = fake_run(tmp_path)
    (run / "profile.toml").unlink()
    assert export.run_timeout(run) == export.run_timeout(run / "best_proxy.json") == export.DEFAULT_TIMEOUT
    with pytest.raises(GMError, match="profile.toml"):
        (run / "profile.toml").mkdir()
        export.run_timeout(run)
