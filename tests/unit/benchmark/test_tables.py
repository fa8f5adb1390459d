"""Tests of greenmachine.benchmark.tables: real NATS-Bench tables (GM_DATA_DIR) and broken copies."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from greenmachine.benchmark import tables as benchmarks
from greenmachine.benchmark.tables import Benchmark, load_benchmark, read_table
from greenmachine.spaces import get_space

TSS_TABLE, SSS_TABLE = get_space("tss").table_file, get_space("sss").table_file
from greenmachine.errors import DataFileError, GMError


@pytest.fixture(scope="module")
def tss(real_data: Path) -> Benchmark:
    return load_benchmark("tss", real_data)


@pytest.fixture(scope="module")
def sss(real_data: Path) -> Benchmark:
    return load_benchmark("sss", real_data)


def test_tss_values(tss: Benchmark) -> None:
    assert len(tss) == 15625
    assert tss.space == "tss"
    assert tss.indices.dtype == np.int64
    assert np.array_equal(tss.indices, np.arange(15625))
    c10 = tss.accuracy("cifar10")
    assert c10.dtype == np.float64
    assert int(np.argmax(c10)) == 6111
    assert c10[6111] == pytest.approx(94.3733, abs=1e-3)
    assert int(np.argmax(tss.accuracy("cifar100"))) == 9930
    assert tss.accuracy("cifar100").max() == pytest.approx(73.5133, abs=1e-3)
    assert int(np.argmax(tss.accuracy("ImageNet16-120"))) == 857
    assert tss.metric_columns["cifar10"] == "cifar10_test_acc"
    assert set(tss.params_millions) == set(get_space("tss").datasets)
    assert tss.params("cifar10")[0] == pytest.approx(0.129306)
    assert "200 epochs" in tss.caveat
    arch = tss.arch(6111)
    assert arch.startswith("|nor_conv_3x3~0|+")
    assert tss.index_of(arch) == 6111


def test_sss_values(sss: Benchmark) -> None:
    assert len(sss) == 32768
    assert sss.arch(0) == "8:8:8:8:8"
    assert sss.arch(32767) == "64:64:64:64:64"
    assert sss.index_of("64:64:64:64:64") == 32767
    assert sss.metric_columns["cifar10"] == "cifar10-valid_valid_acc_90ep"
    assert sss.metric_columns["cifar100"] == "cifar100_acc_90ep"
    assert sss.accuracy("cifar10")[0] == pytest.approx(76.888)
    assert sss.accuracy("cifar10").max() == pytest.approx(90.712)
    assert dict(sss.params_millions) == {}
    assert "validation" in sss.caveat and "90 epochs" in sss.caveat


def test_errors_and_cache(tss: Benchmark, real_data: Path) -> None:
    with pytest.raises(GMError, match="cifar10, cifar100, ImageNet16-120"):
        tss.accuracy("mnist")
    with pytest.raises(GMError):
        tss.arch(15625)
    with pytest.raises(GMError):
        tss.index_of("not-an-arch")
    with pytest.raises(GMError, match="valid spaces"):
        load_benchmark("xyz")
    assert load_benchmark("tss", real_data) is tss  # cached
    assert not tss.accuracy("cifar10").flags.writeable


def test_missing_file_names_file_and_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GM_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError) as info:
        load_benchmark("tss")
    msg = str(info.value)
    assert TSS_TABLE in msg and str(tmp_path) in msg and "\n" not in msg


def test_truncated_gzip(tmp_path: Path, real_data: Path) -> None:
    raw = (real_data / SSS_TABLE).read_bytes()
    (tmp_path / SSS_TABLE).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFileError) as info:
        load_benchmark("sss", tmp_path)
    assert SSS_TABLE in str(info.value) and "truncated" in str(info.value)


def _write_table(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(gzip.compress(buf.getvalue().encode()))


def _tiny_sss_rows(n: int = 3) -> tuple[list[str], list[list[str]]]:
    header = ["index", "channels", *get_space("sss").metric_columns.values()]
    rows = [[str(i), f"8:8:8:8:{8 * (i + 1)}", "80.0", "50.0", "30.0"] for i in range(n)]
    return header, rows


def test_missing_column(tmp_path: Path) -> None:
    header, rows = _tiny_sss_rows()
    del header[3]
    rows = [r[:3] + r[4:] for r in rows]
    _write_table(tmp_path / SSS_TABLE, header, rows)
    with pytest.raises(DataFileError, match="cifar100_acc_90ep"):
        read_table(tmp_path / SSS_TABLE, "sss", expected_rows=None)


def test_row_count_index_and_range(tmp_path: Path) -> None:
    header, rows = _tiny_sss_rows()
    path = tmp_path / SSS_TABLE
    _write_table(path, header, rows)
    with pytest.raises(DataFileError, match="3 rows, expected 32768"):
        load_benchmark("sss", tmp_path)
    bench = read_table(path, "sss", expected_rows=None)
    assert len(bench) == 3 and bench.arch(2) == "8:8:8:8:24"
    _write_table(path, header, [rows[1], rows[0], rows[2]])
    with pytest.raises(DataFileError, match="index"):
        read_table(path, "sss", expected_rows=None)
    rows[1][3] = "101.5"
    _write_table(path, header, rows)
    with pytest.raises(DataFileError, match=r"\[0, 100\]"):
        read_table(path, "sss", expected_rows=None)
    rows[1][3] = "nan"
    _write_table(path, header, rows)
    with pytest.raises(DataFileError):
        read_table(path, "sss", expected_rows=None)
