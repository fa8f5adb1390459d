"""Tests of greenmachine.benchmark.importers (fake NATS-Bench API, tiny fake CIFAR archives) and greenmachine.benchmark.check."""

from __future__ import annotations

import csv
import gzip
import io
import os
import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from greenmachine.benchmark import importers
from greenmachine.benchmark.tables import read_table
from greenmachine.benchmark.check import check_data
from greenmachine.spaces import get_space

TSS_TABLE, SSS_TABLE = get_space("tss").table_file, get_space("sss").table_file
from greenmachine.errors import GMError
from greenmachine.benchmark.images import read_image_file
from greenmachine.benchmark.importers import import_cifar_archive, import_nats_tables, restricted_unpickle

# --------------------------------------------------------------------------- fake NATS API

TSS_ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
]


class FakeNATS:
    """Mimics the NATS-Bench API methods the importer uses, on a few architectures."""

    def __init__(self, space: str, archs: list[str]) -> None:
        self.space = space
        self.archs = archs
        self.calls: list[tuple] = []

    def __len__(self) -> int:
        return len(self.archs)

    def arch(self, i: int) -> str:
        return self.archs[i]

    def get_more_info(self, i, dataset, iepoch=None, hp="12", is_random=True):
        self.calls.append((i, dataset, hp, is_random))
        base = {"cifar10-valid": 80.0, "cifar10": 90.0, "cifar100": 60.0, "ImageNet16-120": 30.0}[dataset]
        info = {"train-accuracy": 99.0, "valid-accuracy": base + i + 0.25}
        if dataset != "cifar10-valid":
            info["test-accuracy"] = base + i + 0.5
        if dataset == "cifar10":
            del info["valid-accuracy"]  # cifar10 (train+valid) has no validation split
        return info

    def get_cost_info(self, i, dataset, hp="12"):
        return {"flops": 10.0 + i, "params": 0.1 * (i + 1), "latency": 0.01}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt") as fh:
        return list(csv.DictReader(fh))


def test_import_tss_with_fake_api(tmp_path: Path) -> None:
    api = FakeNATS("tss", TSS_ARCHS)
    seen = []
    out = import_nats_tables(None, "tss", tmp_path, api=api, progress=lambda d, t: seen.append((d, t)))
    assert out == tmp_path / TSS_TABLE
    assert seen[-1] == (4, 4)
    assert all(c[2] == "200" and c[3] is False for c in api.calls)
    rows = _read_csv(out)
    assert [r["arch_str"] for r in rows] == TSS_ARCHS
    assert float(rows[2]["cifar10_test_acc"]) == 92.5
    assert float(rows[1]["cifar100_test_acc"]) == 61.5
    assert float(rows[3]["params_MB_ImageNet16-120"]) == pytest.approx(0.4)
    assert float(rows[0]["cifar10-valid_valid_acc"]) == 80.25
    bench = read_table(out, "tss", expected_rows=None)
    assert len(bench) == 4 and bench.index_of(TSS_ARCHS[3]) == 3
    assert bench.accuracy("ImageNet16-120")[3] == pytest.approx(33.5)


def test_import_sss_with_fake_api(tmp_path: Path) -> None:
    archs = ["8:8:8:8:8", "8:8:8:8:16", "64:64:64:64:64"]
    api = FakeNATS("sss", archs)
    out = import_nats_tables(None, "sss", tmp_path, api=api)
    assert out.name == SSS_TABLE
    assert all(c[2] == "90" for c in api.calls)
    rows = _read_csv(out)
    cols = get_space("sss").metric_columns
    # Validation-type ground truth: valid-accuracy of cifar10-valid / cifar100 / ImageNet16-120.
    assert float(rows[1][cols["cifar10"]]) == 81.25
    assert float(rows[2][cols["cifar100"]]) == 62.25
    assert float(rows[0][cols["ImageNet16-120"]]) == 30.25
    assert float(rows[0]["cifar10_test_acc_90ep"]) == 90.5
    bench = read_table(out, "sss", expected_rows=None)
    assert bench.arch(2) == "64:64:64:64:64"


def test_import_nats_missing_metric(tmp_path: Path) -> None:
    class Broken(FakeNATS):
        def get_more_info(self, i, dataset, **kw):
            return {"train-accuracy": 1.0}

    with pytest.raises(GMError, match="valid-accuracy"):
        import_nats_tables(None, "sss", tmp_path, api=Broken("sss", ["8:8:8:8:8"]))
    assert not (tmp_path / SSS_TABLE).exists()


def test_import_nats_without_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nats_bench", None)  # import fails
    with pytest.raises(GMError, match=r"pip install -e '\.\[nats\]'"):
        import_nats_tables(tmp_path / "NATS-tss-v1_0-3ffb9-simple", "tss", tmp_path)


# --------------------------------------------------------------------------- fake CIFAR tars


def _fake_batch(n: int, n_classes: int, label_key: bytes, seed: int) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    hwc = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    # Official layout: 1024 red values, then green, then blue, each row-major 32x32.
    data = np.ascontiguousarray(hwc.transpose(0, 3, 1, 2).reshape(n, 3072))
    labels = [int(v) for v in rng.integers(0, n_classes, size=n)]
    return {b"batch_label": b"fake", label_key: labels, b"data": data,
            b"filenames": [b"x.png"] * n}, hwc


def _make_tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def test_import_cifar10(tmp_path: Path) -> None:
    members, expected, labels = {}, [], []
    for k in range(1, 6):
        batch, hwc = _fake_batch(2, 10, b"labels", seed=k)
        members[f"cifar-10-batches-py/data_batch_{k}"] = pickle.dumps(batch, protocol=2)
        expected.append(hwc)
        labels += batch[b"labels"]
    test_batch, test_hwc = _fake_batch(3, 10, b"labels", seed=9)
    members["cifar-10-batches-py/test_batch"] = pickle.dumps(test_batch, protocol=2)
    names = [n.encode() for n in ("airplane automobile bird cat deer dog frog horse ship truck").split()]
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(
        {b"label_names": names, b"num_vis": 3072}, protocol=2)
    tar = tmp_path / "cifar-10-python.tar.gz"
    _make_tar(tar, members)

    out = import_cifar_archive(tar, tmp_path / "c10_train.npz", "cifar10", split="train")
    data = read_image_file(out, "cifar10")
    assert data.images.shape == (10, 32, 32, 3)
    assert np.array_equal(data.images, np.concatenate(expected))
    assert data.labels.tolist() == labels and data.labels.dtype == np.int64
    assert data.class_names[0] == "airplane" and len(data.class_names) == 10
    with np.load(out, allow_pickle=False) as z:
        assert set(z.files) >= {"images", "labels", "class_names"}

    out = import_cifar_archive(tar, tmp_path / "c10_test.npz", "cifar10", split="test")
    test = read_image_file(out, "cifar10")
    assert np.array_equal(test.images, test_hwc)
    # Pixel (0, 0) of image 0: red/green/blue come from offsets 0 / 1024 / 2048.
    assert tuple(test.images[0, 0, 0]) == tuple(test_batch[b"data"][0, [0, 1024, 2048]])


def test_import_cifar100(tmp_path: Path) -> None:
    train, hwc = _fake_batch(4, 100, b"fine_labels", seed=1)
    train[b"coarse_labels"] = [0] * 4
    test, _ = _fake_batch(2, 100, b"fine_labels", seed=2)
    meta = {b"fine_label_names": [f"c{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"s{i}".encode() for i in range(20)]}
    tar = tmp_path / "cifar-100-python.tar.gz"
    _make_tar(tar, {"cifar-100-python/train": pickle.dumps(train, protocol=2),
                    "cifar-100-python/test": pickle.dumps(test, protocol=2),
                    "cifar-100-python/meta": pickle.dumps(meta, protocol=2)})
    out = import_cifar_archive(tar, tmp_path / "sub" / "c100.npz", "cifar100")
    data = read_image_file(out, "cifar100")
    assert np.array_equal(data.images, hwc)
    assert data.labels.tolist() == train[b"fine_labels"]
    assert data.class_names[99] == "c99"


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_malicious_pickle_refused(tmp_path: Path) -> None:
    meta = pickle.dumps({b"fine_label_names": [b"x"] * 100}, protocol=2)
    evil = pickle.dumps({b"data": _Evil()}, protocol=2)
    tar = tmp_path / "cifar-100-python.tar.gz"
    _make_tar(tar, {"cifar-100-python/train": evil, "cifar-100-python/meta": meta})
    with pytest.raises(GMError, match="refusing to unpickle"):
        import_cifar_archive(tar, tmp_path / "out.npz", "cifar100")
    assert not (tmp_path / "out.npz").exists()
    with pytest.raises(GMError, match="refusing"):
        restricted_unpickle(pickle.dumps(_Evil()))
    with pytest.raises(GMError, match="refusing"):
        restricted_unpickle(pickle.dumps(Path("/etc"), protocol=2))


def test_cifar_archive_errors(tmp_path: Path) -> None:
    tar = tmp_path / "cifar-10-python.tar.gz"
    _make_tar(tar, {"cifar-10-batches-py/batches.meta": pickle.dumps({b"label_names": []})})
    with pytest.raises(GMError, match="data_batch_1"):
        import_cifar_archive(tar, tmp_path / "o.npz", "cifar10")
    with pytest.raises(GMError, match="not found"):
        import_cifar_archive(tmp_path / "nope.tar.gz", tmp_path / "o.npz", "cifar10")
    with pytest.raises(GMError, match="split"):
        import_cifar_archive(tar, tmp_path / "o.npz", "cifar10", split="valid")


# --------------------------------------------------------------------------- data check


def test_check_data_real_folder(real_data: Path) -> None:
    status = check_data(real_data)
    assert len(status) == 10  # 4 space tables (tss, sss, macro, nb101), proxies, 4 image files, hardware
    assert all(s.present and s.valid for s in status), [s.detail for s in status if not s.valid]
    details = {s.name: s.detail for s in status}
    assert details[TSS_TABLE] == "15625 rows"
    assert details["nasbench_macro_cifar10.json.gz"] == "3969 rows"
    assert details["nb101_zc_proxies_naslib_500.json.gz"] == "500 rows"
    assert details["cifar10_train_aug_freerea.npz"] == "960 images 32x32"


def test_check_data_empty_and_broken(tmp_path: Path) -> None:
    status = check_data(tmp_path)
    assert len(status) == 10
    assert not any(s.present or s.valid for s in status)
    assert all(str(tmp_path) in s.detail for s in status)
    (tmp_path / SSS_TABLE).write_bytes(b"garbage")
    bad = {s.name: s for s in check_data(tmp_path)}[SSS_TABLE]
    assert bad.present and not bad.valid and SSS_TABLE in bad.detail
