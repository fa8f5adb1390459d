"""Tests of the NAS-Bench-Macro (``macro``) and NAS-Bench-101 (``nb101``) spaces.

Arch strings, canonical forms, the tables read from the benchmarks' JSON files (embedded
copies unless ``GM_DATA_DIR`` says otherwise), built networks against the tables' parameter
counts on a few networks, layer order, the importer, the profiles. The check of every
network (3,969 + 500) is ``scripts/check_space_params.py``, run here as a slow test.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from greenmachine.benchmark.tables import load_benchmark, read_table
from greenmachine.errors import ArchStringError, DataFileError, GMError
from greenmachine.benchmark.importers import import_benchmark_json
from greenmachine.spaces import get_space, parse_arch, weighted_layers
from greenmachine.spaces.cost import count_parameters
from greenmachine.spaces.macro import MacroArch, macro_table_rows, parse_macro_arch
from greenmachine.spaces.nb101 import NB101Arch, nb101_table_rows, parse_nb101_arch, vertex_channels

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[3]
#: A few networks of each table: first, last and three in between.
POSITIONS = (0, 1, 777, 2500, -1)


@pytest.fixture(scope="module")
def macro():
    return load_benchmark("macro")


@pytest.fixture(scope="module")
def nb101():
    return load_benchmark("nb101")


# --------------------------------------------------------------------------- NAS-Bench-Macro


def test_macro_table_is_the_distinct_networks(macro) -> None:
    space = get_space("macro")
    header, rows = space.table_rows(space.table_path())
    assert len(macro) == 3969 and space.size == 3969
    assert all(parse_macro_arch(arch).is_canonical for arch in macro.arch_strings)
    assert list(macro.arch_strings) == sorted(macro.arch_strings)
    assert sum(int(row[header.index("equivalent_keys")]) for row in rows) == 6561
    runs = np.array([[float(row[header.index(f"test_acc_run{run}")]) for run in range(3)] for row in rows])
    np.testing.assert_allclose(macro.accuracy("cifar10"), runs.mean(axis=1), rtol=0, atol=1e-9)
    assert 45 < macro.accuracy("cifar10").min() < 46 and 93 < macro.accuracy("cifar10").max() < 94


def _check_built_network(space_name: str, benchmark, position: int) -> None:
    """The built network has the table's parameter count (in millions) and gives finite logits."""
    space = get_space(space_name)
    arch = benchmark.arch_strings[position]
    model = space.build(arch, "cifar10")
    expected = round(benchmark.params("cifar10")[position] * 1e6)
    assert count_parameters(model) == space.parameter_count(arch, "cifar10") == expected
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()


@pytest.mark.parametrize("position", POSITIONS)
def test_macro_built_networks_match_table(macro, position) -> None:
    _check_built_network("macro", macro, position)


def test_macro_canonical_form() -> None:
    # stage 1 = layers 1-2, stage 2 = 3-5, stage 3 = 6-8; the first layer of a stage stays
    assert parse_macro_arch("10" "010" "002").canonical().to_string() == "10" "010" "020"
    assert parse_macro_arch("01" "001" "100").canonical().to_string() == "01" "010" "100"
    assert parse_macro_arch("00" "000" "000").is_canonical
    assert not parse_macro_arch("12" "102" "201").is_canonical
    assert parse_macro_arch("12" "102" "201").canonical().to_string() == "12" "120" "210"


def test_macro_equivalent_keys_build_equal_networks() -> None:
    space = get_space("macro")
    torch.manual_seed(0)
    first = space.build("10" "102" "000", "cifar10")
    second = space.build("10" "120" "000", "cifar10")
    with torch.no_grad():  # same layers in the same order, only their positions in the stage differ
        for mine, theirs in zip(second.parameters(), first.parameters(), strict=True):
            mine.copy_(theirs)
    first.eval(), second.eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(first(images), second(images))


@pytest.mark.parametrize("text", ["", "1234", "123456789", "0000000a", "00000003", " 1200 1200", None, 12000000])
def test_macro_bad_strings_raise(text) -> None:
    with pytest.raises(ArchStringError):
        parse_arch("macro", text)


def test_macro_mutation_gives_another_canonical_network(macro) -> None:
    space = get_space("macro")
    rng = np.random.default_rng(0)
    for arch in macro.arch_strings[::397]:
        for _ in range(5):
            child = space.mutate(arch, rng)
            assert child != arch and macro.index_of(child) >= 0


def test_macro_layers_in_forward_order() -> None:
    model = get_space("macro").build("21" "120" "211", "cifar10")
    assert get_space("macro").layers_in_registration_order
    _assert_registration_order_is_forward_order(model)
    assert any(isinstance(module, torch.nn.ReLU) for module in model.modules())


def test_macro_json_with_differing_equivalent_records_is_refused() -> None:
    record = {"test_acc": [90.0, 91.0, 92.0], "mean_acc": 91.0, "std": 0.8, "params": 1000, "flops": 2000}
    other = dict(record, test_acc=[90.0, 91.0, 93.0], mean_acc=274.0 / 3.0)
    with pytest.raises(DataFileError, match="same network"):  # stage 2 "001" is "010"
        macro_table_rows({"10" "010" "000": record, "10" "001" "000": other}, "test file")
    with pytest.raises(DataFileError, match="not the mean"):
        macro_table_rows({"10010000": dict(record, mean_acc=95.0)}, "test file")
    with pytest.raises(DataFileError, match="not a finite number"):
        macro_table_rows({"10010000": dict(record, std="x")}, "test file")
    header, rows = macro_table_rows({"10" "001" "000": record, "10" "010" "000": record}, "test file")
    assert [row[1] for row in rows] == ["10" "010" "000"] and rows[0][header.index("equivalent_keys")] == "2"


# --------------------------------------------------------------------------- NAS-Bench-101


def test_nb101_table(nb101) -> None:
    assert len(nb101) == 500
    accuracy = nb101.accuracy("cifar10")
    assert 73 < accuracy.min() < 74 and 94 < accuracy.max() < 95
    assert len(set(nb101.arch_strings)) == 500


@pytest.mark.parametrize("position", (0, 1, 250, -1))
def test_nb101_built_networks_match_table(nb101, position) -> None:
    _check_built_network("nb101", nb101, position)


def test_nb101_naslib_key_round_trip() -> None:
    matrix = np.zeros((7, 7), dtype=int)
    for source, target in ((0, 1), (1, 2), (2, 6), (0, 3), (3, 6), (4, 5)):  # vertices 4, 5 dangle
        matrix[source, target] = 1
    key = "(" + ", ".join(map(str, [*matrix.ravel(), 0, 4, 3, 2, 4, 4, 1])) + ")"
    arch = NB101Arch.from_naslib_key(key)
    assert arch.operations == ("3", "1", "m", "3", "3")
    assert parse_nb101_arch(arch.to_string()) == arch
    pruned, labels = arch.pruned()
    assert labels == ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"]
    assert pruned == [[0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(128, 128, pruned) == [128, 64, 64, 64, 128]


@pytest.mark.parametrize("key", ["", "(1, 2)", "(" + ", ".join(["0"] * 56) + ")", "[" + ", ".join(["0"] * 56) + "]",
                                 "(" + ", ".join(["1"] + ["0"] * 48 + ["0", "4", "4", "4", "4", "4", "1"]) + ")"])
def test_nb101_bad_naslib_keys_raise(key) -> None:
    with pytest.raises(ArchStringError, match="NASLib"):
        NB101Arch.from_naslib_key(key)


def test_nb101_vertex_channels_uneven_split() -> None:
    # three vertices feed the output: 128 = 43 + 43 + 42; vertex 1 feeds 2 and 3
    matrix = [[0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(64, 128, matrix) == [64, 64, 64, 64, 128]
    matrix = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(64, 128, matrix) == [64, 43, 43, 42, 128]


@pytest.mark.parametrize("text", [
    "", "111101000110001110110", "111101000110001110110:mm33", "111101000110001110112:mm333",
    "111101000110001110110:mm33x", "000000000000000000000:33333",  # no path from input to output
    "111111111111111111111:33333",  # 21 edges once pruned
    None,
])
def test_nb101_bad_strings_raise(text) -> None:
    with pytest.raises(ArchStringError):
        parse_arch("nb101", text)


def test_nb101_input_straight_to_output() -> None:
    arch = "000001" + "0" * 15 + ":33333"
    model = get_space("nb101").build(arch, "cifar10")
    assert count_parameters(model) == get_space("nb101").parameter_count(arch, "cifar10")
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_nb101_layers_in_forward_order(nb101) -> None:
    for arch in nb101.arch_strings[:3]:
        _assert_registration_order_is_forward_order(get_space("nb101").build(arch, "cifar10"))


def test_nb101_bad_json_is_one_line() -> None:
    with pytest.raises(DataFileError, match="proxy file"):
        nb101_table_rows({"nasbench101": []}, "test file")
    key = "(" + ", ".join(["0"] * 49 + ["0", "4", "4", "4", "4", "4", "1"]) + ")"
    with pytest.raises(DataFileError, match="no path"):
        nb101_table_rows({"nasbench101": {"cifar10": {key: {}}}}, "test file")


# --------------------------------------------------------------------------- both


def _assert_registration_order_is_forward_order(model: torch.nn.Module) -> None:
    layers = weighted_layers(model)
    called = []
    handles = [module.register_forward_hook(lambda module, _i, _o: called.append(id(module))) for _, module in layers]
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    for handle in handles:
        handle.remove()
    assert called == [id(module) for _, module in layers]


def test_every_activation_is_a_relu_module_that_runs() -> None:
    """NASWOT and SWAP read nn.ReLU modules: stem 1, head 1, 2 per MBConv block; 1 per conv of NB101."""
    counts = []
    for space, arch, expected in (("macro", "21" "120" "201", 1 + 1 + 2 * 6),
                                  ("nb101", "111101000110001110110:mm333", None)):
        model = get_space(space).build(arch, "cifar10")
        calls = []
        handles = [module.register_forward_hook(lambda module, _i, _o: calls.append(module))
                   for module in model.modules() if isinstance(module, torch.nn.ReLU)]
        with torch.no_grad():
            model(torch.randn(1, 3, 32, 32))
        for handle in handles:
            handle.remove()
        convolutions = sum(isinstance(module, torch.nn.Conv2d) for module in model.modules())
        counts.append((len(calls), expected if expected is not None else convolutions))
        assert not any(module.inplace for module in model.modules() if isinstance(module, torch.nn.ReLU))
    assert counts[0][0] == counts[0][1] and counts[1][0] == counts[1][1]


@pytest.mark.slow
@pytest.mark.parametrize("space,position", [("macro", 100), ("nb101", 3)])
def test_bank_and_reference_baselines_run(space, position, tmp_path: Path) -> None:
    """Every bank baseline (GraSP pass included) and every reference baseline is finite on these networks."""
    from greenmachine.baselines.published import baseline_scores
    from greenmachine.probe import probe_many
    from greenmachine.baselines.reference.compute import reference_scores

    statistics = probe_many(space, [position], "cifar10", 16, 0, "cpu", grasp=True)
    scores = baseline_scores(statistics)
    assert len(scores) == 14 and all(np.isfinite(values).all() for values in scores.values()), scores
    reference = reference_scores(space, [position], "cifar10", 16, 0, None, "cpu", None)
    assert reference.failures == [] and all(np.isfinite(values).all() for values in reference.values.values())


@pytest.mark.parametrize("space", ["macro", "nb101"])
def test_import_writes_the_data_file(space, tmp_path: Path) -> None:
    search_space = get_space(space)
    source = tmp_path / "published.json"
    source.write_bytes(gzip.decompress(search_space.table_path().read_bytes()))
    written = import_benchmark_json(source, space, tmp_path / "out")
    assert written.name == search_space.table_file
    assert len(read_table(written, space)) == search_space.size
    again = import_benchmark_json(written, space, tmp_path / "again")  # a gzipped input, same bytes out
    assert again.read_bytes() == written.read_bytes()


def test_gm_data_import_benchmark(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from greenmachine.tui.cli import app

    source = tmp_path / "zc_nasbench101.json"
    source.write_bytes(gzip.decompress(get_space("nb101").table_path().read_bytes()))
    result = CliRunner().invoke(app, ["data", "import-benchmark", str(source), "--space", "nb101",
                                      "--out", str(tmp_path / "data")])
    assert result.exit_code == 0 and (tmp_path / "data" / get_space("nb101").table_file).is_file(), result.output
    result = CliRunner().invoke(app, ["data", "import-benchmark", str(source), "--space", "macro",
                                      "--out", str(tmp_path / "data")])
    assert result.exit_code == 2 and "NAS-Bench-Macro" in result.output and "Traceback" not in result.output


def test_import_refuses_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"00000000": {"test_acc": [1, 2]}}))
    with pytest.raises(GMError, match="test_acc"):
        import_benchmark_json(bad, "macro", tmp_path)
    with pytest.raises(GMError, match="import-nats"):
        import_benchmark_json(bad, "tss", tmp_path)
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"00000000": {"test_acc": [1, 2, 3], "mean_acc": 2, "std": 1, "params": 1,
                                              "flops": 1}}))
    with pytest.raises(GMError, match="expected 3969"):
        import_benchmark_json(short, "macro", tmp_path)
    assert not (tmp_path / get_space("macro").table_file).exists()


@pytest.mark.parametrize("name,space", [("macro-cifar10", "macro"), ("nb101-cifar10", "nb101")])
def test_profiles_load_and_sample(name, space) -> None:
    from greenmachine.evaluation.evaluate import profile_samples
    from greenmachine.settings.profile import load_profile

    profile = load_profile(name)
    assert profile.space_name == space
    benchmark, samples = profile_samples(profile)
    labelled = np.union1d(samples.search, samples.validation)
    assert len(labelled) == 100 and len(np.intersect1d(labelled, samples.test)) == 0


@pytest.mark.slow
def test_every_network_matches_its_table() -> None:
    """All 3,969 + 500 networks: parameters (and FLOPs, in each benchmark's convention) as the tables."""
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "check_space_params.py")],
                            capture_output=True, text=True, timeout=1800, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    for count in (3969, 500):
        assert (f"{count} networks built, parameter mismatches 0, analytic-count mismatches 0, FLOP mismatches 0"
                in result.stdout)
