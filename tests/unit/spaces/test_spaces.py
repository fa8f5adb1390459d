"""Tests of greenmachine.spaces: arch-string parsing, NATS-Bench networks, parameter and FLOP counts.

Ground truth is read directly from the benchmark tables in ``GM_DATA_DIR`` (gzip + csv), not
through ``greenmachine.benchmark.tables``, so these tests stand on their own.
"""

from __future__ import annotations

import csv
import gzip
import os
import random
from functools import lru_cache
from pathlib import Path

import pytest
import torch

from greenmachine.errors import ArchStringError
from greenmachine.spaces import (
    DATASETS,
    SSSArch,
    TSSArch,
    build_network,
    count_flops,
    count_parameters,
    parse_arch,
    parse_sss_channels,
    parse_tss_arch,
    tss_parameter_count,
    weighted_layers,
)
from greenmachine.spaces.tss import OPERATION_NAMES

torch.set_num_threads(1)

DATASET_NAMES = ("cifar10", "cifar100", "ImageNet16-120")
SAMPLE_SIZE = 300
BUILT_PER_DATASET = 50


def _data_file(name: str) -> Path:
    # Tests that read the tables carry the real_data marker: conftest skips them unless
    # GM_DATA_DIR holds the full data files.
    return Path(os.environ["GM_DATA_DIR"]) / name


@lru_cache(maxsize=None)
def _read_table(name: str) -> tuple[dict[str, str], ...]:
    with gzip.open(_data_file(name), "rt", newline="") as handle:
        return tuple(csv.DictReader(handle))


def tss_rows() -> tuple[dict[str, str], ...]:
    return _read_table("nats_tss.csv.gz")


def sss_rows() -> tuple[dict[str, str], ...]:
    return _read_table("nats_sss.csv.gz")


def tss_sample() -> list[dict[str, str]]:
    return random.Random(20240601).sample(list(tss_rows()), SAMPLE_SIZE)


def as_table_millions(count: int) -> str:
    """Format a count the way the table prints it (millions, 6 decimals)."""
    return f"{count / 1e6:.6f}"


# --- parameter counts against the benchmark table -------------------------------------------


@pytest.mark.real_data
@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_tss_parameter_count_matches_table_on_sample(dataset):
    column = f"params_MB_{dataset}"
    classes = DATASETS[dataset].num_classes
    mismatches = [(row["index"], row[column]) for row in tss_sample()
                  if as_table_millions(tss_parameter_count(row["arch_str"], classes)) != row[column]]
    assert not mismatches, f"{len(mismatches)} of {SAMPLE_SIZE} differ, e.g. {mismatches[:5]}"


@pytest.mark.real_data
@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_tss_built_network_parameters_match_table_and_analytic_count(dataset):
    column = f"params_MB_{dataset}"
    classes = DATASETS[dataset].num_classes
    offset = DATASET_NAMES.index(dataset) * BUILT_PER_DATASET
    for row in tss_sample()[offset: offset + BUILT_PER_DATASET]:
        built = count_parameters(build_network("tss", row["arch_str"], dataset))
        assert built == tss_parameter_count(row["arch_str"], classes), row["arch_str"]
        assert as_table_millions(built) == row[column], (row["index"], dataset)


def test_tss_known_extremes():
    # NAS-Bench-201 paper: 0.073 M / 7.78 M FLOPs (no conv) to 1.531 M / 220.11 M (all 3x3).
    smallest = build_network("tss", TSSArch.from_op_code("000000"), "cifar10")
    largest = build_network("tss", TSSArch.from_op_code("333333"), "cifar10")
    assert count_parameters(smallest) == 73306
    assert count_parameters(largest) == 1531546
    assert count_flops(smallest, (1, 3, 32, 32)) == 7783050
    assert count_flops(largest, (1, 3, 32, 32)) == 220119690


@pytest.mark.slow
@pytest.mark.real_data
def test_all_tss_architectures_match_table_on_cifar10():
    mismatches = []
    for row in tss_rows():
        built = count_parameters(build_network("tss", row["arch_str"], "cifar10"))
        if as_table_millions(built) != row["params_MB_cifar10"]:
            mismatches.append(row["index"])
    assert not mismatches, f"{len(mismatches)} of 15625 differ, e.g. {mismatches[:5]}"


@pytest.mark.real_data
def test_all_tss_analytic_counts_match_table():
    rows = tss_rows()
    for dataset in DATASET_NAMES:
        column, classes = f"params_MB_{dataset}", DATASETS[dataset].num_classes
        mismatches = [row["index"] for row in rows
                      if as_table_millions(tss_parameter_count(row["arch_str"], classes)) != row[column]]
        assert not mismatches, (dataset, len(mismatches), mismatches[:5])


# --- SSS -----------------------------------------------------------------------------------


@pytest.mark.real_data
def test_sss_official_check_value_index_12():
    row = sss_rows()[12]
    assert row["channels"] == "8:8:8:16:40"
    arch = parse_sss_channels(row["channels"])
    assert arch.index == 12
    model = build_network("sss", arch, "cifar10")
    assert count_parameters(model) == 67378  # 0.067378 M
    assert count_flops(model, DATASETS["cifar10"].input_shape) == 7991706  # 7.991706 M


def test_count_flops_accepts_shape_without_batch_and_restores_mode():
    model = build_network("sss", "8:8:8:16:40", "cifar10")
    model.train()
    assert count_flops(model, (3, 32, 32)) == 7991706
    assert model.training


@pytest.mark.real_data
def test_all_sss_channel_strings_parse_and_round_trip():
    rows = sss_rows()
    assert len(rows) == 32768
    for row in rows:
        arch = parse_sss_channels(row["channels"])
        assert arch.to_string() == row["channels"]
        assert arch.index == int(row["index"])


# --- forward passes and layer order ---------------------------------------------------------


FORWARD_CASES = [
    ("tss", "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"),
    ("tss", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
    ("tss", "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"),
    ("sss", "8:16:24:32:64"),
    ("sss", "64:8:40:8:16"),
]


@pytest.mark.parametrize("dataset", DATASET_NAMES)
@pytest.mark.parametrize("space,arch", FORWARD_CASES)
def test_forward_output_shape(space, arch, dataset):
    torch.manual_seed(0)
    info = DATASETS[dataset]
    model = build_network(space, arch, dataset)
    inputs = torch.randn(2, 3, info.image_size, info.image_size)
    with torch.no_grad():
        logits = model(inputs)
    assert logits.shape == (2, info.num_classes)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("space,arch", [FORWARD_CASES[0], FORWARD_CASES[2], FORWARD_CASES[3]])
def test_weighted_layers_are_in_forward_order(space, arch):
    model = build_network(space, arch, "cifar10")
    layers = weighted_layers(model)
    called = []
    handles = [module.register_forward_hook(lambda module, _i, _o: called.append(module))
               for _name, module in layers]
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    for handle in handles:
        handle.remove()
    assert [id(module) for module in called] == [id(module) for _name, module in layers]
    assert layers[0][0] == "stem.0"
    assert layers[-1][0] == "classifier"
    assert all(isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)) for _n, module in layers)


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.real_data
def test_tss_round_trip_and_op_code_on_sample():
    for row in tss_sample():
        arch = parse_tss_arch(row["arch_str"])
        assert arch.to_string() == row["arch_str"]
        assert arch.op_code == row["op_code"]
        assert TSSArch.from_op_code(arch.op_code) == arch


def test_tss_arch_is_frozen_and_hashable():
    arch = parse_tss_arch(FORWARD_CASES[0][1])
    assert len(arch.operations) == 6 and set(arch.operations) <= set(OPERATION_NAMES)
    assert hash(arch) == hash(parse_tss_arch(FORWARD_CASES[0][1]))
    with pytest.raises(AttributeError):
        arch.operations = ()  # type: ignore[misc]


MALFORMED_TSS = [
    "",
    "nonsense",
    "|nor_conv_3x3~0|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|+",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|",
    "|nor_conv_3x3~0|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|conv_5x5~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|max_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~3|",
    "|nor_conv_3x3~00|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "nor_conv_3x3~0+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0||+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "| nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|NOR_CONV_3X3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|-|nor_conv_3x3~0|nor_conv_3x3~1|-|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
]


@pytest.mark.parametrize("text", MALFORMED_TSS)
def test_malformed_tss_strings_raise(text):
    with pytest.raises(ArchStringError) as caught:
        parse_tss_arch(text)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(text.strip()) in message
    assert isinstance(caught.value, ValueError)


MALFORMED_SSS = ["", "8:16:24:32", "8:16:24:32:64:8", "8:16:24:32:65", "0:16:24:32:64",
                 "72:16:24:32:64", "8:16:24:32:sixty", "8,16,24,32,64", "8:16::32:64",
                 "08:16:24:32:64", "8:16:24:32:-8", "8: 16:24:32:64"]


@pytest.mark.parametrize("text", MALFORMED_SSS)
def test_malformed_sss_strings_raise(text):
    with pytest.raises(ArchStringError) as caught:
        parse_sss_channels(text)
    assert "\n" not in str(caught.value)
    assert repr(text.strip()) in str(caught.value)


def test_non_string_inputs_raise():
    with pytest.raises(ArchStringError):
        parse_tss_arch(None)  # type: ignore[arg-type]
    with pytest.raises(ArchStringError):
        parse_sss_channels(12)  # type: ignore[arg-type]
    with pytest.raises(ArchStringError):
        TSSArch.from_op_code("123456")
    with pytest.raises(ArchStringError):
        TSSArch(("none",) * 5)
    with pytest.raises(ArchStringError):
        SSSArch((8, 8, 8, 8, 12))


def test_unknown_space_and_dataset():
    with pytest.raises(ArchStringError, match="unknown search space"):
        parse_arch("nb301", "8:8:8:8:8")
    with pytest.raises(ArchStringError, match="unknown search space"):
        build_network("darts", "8:8:8:8:8", "cifar10")
    with pytest.raises(ValueError, match="unknown dataset"):
        build_network("sss", "8:8:8:8:8", "imagenet")
    with pytest.raises(ArchStringError):
        build_network("tss", "8:8:8:8:8", "cifar10")
    with pytest.raises(ArchStringError):
        build_network("sss", parse_tss_arch(FORWARD_CASES[0][1]), "cifar10")


def test_datasets_table():
    assert {name: (info.num_classes, info.image_size) for name, info in DATASETS.items()} == {
        "cifar10": (10, 32), "cifar100": (100, 32), "ImageNet16-120": (120, 16)}
    assert all(info.name == name for name, info in DATASETS.items())
    with pytest.raises(AttributeError):
        DATASETS["cifar10"].num_classes = 5  # type: ignore[misc]
