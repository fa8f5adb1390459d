"""Tests of greenmachine.benchmark.images: seeded, normalised minibatches from the real image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from greenmachine.datadir import CIFAR10_TEST_IMAGES, IMAGE_FILES
from greenmachine.errors import DataFileError, GMError
from greenmachine.benchmark.images import (
    NORMALISATION,
    load_images,
    minibatch,
    noise_batch,
    normalise,
    read_image_file,
)


@pytest.fixture(scope="module")
def real_dir(real_data: Path) -> Path:
    return real_data


def test_normalisation_constants() -> None:
    mean, std = NORMALISATION["cifar10"]
    assert mean[0] == pytest.approx(125.3 / 255) and std[2] == pytest.approx(66.7 / 255)
    mean, std = NORMALISATION["ImageNet16-120"]
    assert mean[1] == pytest.approx(116.66 / 255) and std[0] == pytest.approx(63.22 / 255)


def test_cifar10_minibatch_shapes_and_determinism(real_dir: Path) -> None:
    x, y = minibatch("cifar10", 64, seed=0, data_dir=real_dir)
    assert x.shape == (64, 3, 32, 32) and x.dtype == torch.float32
    assert y.shape == (64,) and y.dtype == torch.int64
    x2, y2 = minibatch("cifar10", 64, seed=0, data_dir=real_dir)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    x3, _ = minibatch("cifar10", 64, seed=1, data_dir=real_dir)
    assert not torch.equal(x, x3)
    assert int(y.min()) >= 0 and int(y.max()) < 10


def test_imagenet16_minibatch(real_dir: Path) -> None:
    x, y = minibatch("ImageNet16-120", 16, seed=3, data_dir=real_dir)
    assert x.shape == (16, 3, 16, 16)
    assert int(y.min()) >= 0 and int(y.max()) < 120
    data = load_images("ImageNet16-120", real_dir)
    assert len(data) == 106  # only the ImageNet16-120 classes are kept
    big, _ = minibatch("ImageNet16-120", 200, seed=3, data_dir=real_dir)  # with replacement
    assert big.shape == (200, 3, 16, 16)


def test_cifar100_labels(real_dir: Path) -> None:
    _, y = minibatch("cifar100", 128, seed=0, data_dir=real_dir)
    assert int(y.max()) < 100


def test_normalised_mean_near_zero(real_dir: Path) -> None:
    # Clean CIFAR-10 test images: per-channel mean of the normalised batch is ~0, std ~1.
    test = load_images("cifar10", real_dir, file_name=CIFAR10_TEST_IMAGES)
    rng = np.random.default_rng(0)
    x = normalise(test.images[rng.choice(len(test), 2000, replace=False)], "cifar10")
    assert torch.all(x.mean(dim=(0, 2, 3)).abs() < 0.05)
    assert torch.all((x.std(dim=(0, 2, 3)) - 1).abs() < 0.1)
    # Training minibatches carry black crop padding, which pulls the mean down a little.
    xb, _ = minibatch("cifar10", 512, seed=0, data_dir=real_dir)
    assert torch.all(xb.mean(dim=(0, 2, 3)).abs() < 0.35)


def test_channel_order(tmp_path: Path) -> None:
    images = np.zeros((2, 32, 32, 3), np.uint8)
    images[:, :, :, 0] = 255  # pure red
    np.savez(tmp_path / "red.npz", images=images, labels=np.array([0, 1]))
    data = read_image_file(tmp_path / "red.npz", "cifar10")
    x = normalise(data.images, "cifar10")
    mean, std = NORMALISATION["cifar10"]
    assert x[0, 0, 5, 5].item() == pytest.approx((1 - mean[0]) / std[0], rel=1e-5)
    assert x[0, 1, 5, 5].item() == pytest.approx(-mean[1] / std[1], rel=1e-5)


def test_noise_batch() -> None:
    like = torch.zeros(4, 3, 8, 8)
    a, b = noise_batch(like, 7), noise_batch(like, 7)
    assert a.shape == like.shape and a.dtype == torch.float32 and torch.equal(a, b)
    assert not torch.equal(a, noise_batch(like, 8))


def test_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GM_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError) as info:
        load_images("cifar100")
    assert IMAGE_FILES["cifar100"] in str(info.value) and str(tmp_path) in str(info.value)
    with pytest.raises(GMError, match="valid datasets"):
        load_images("mnist")
    np.savez(tmp_path / IMAGE_FILES["cifar10"], images=np.zeros((3, 16, 16, 3), np.uint8),
             labels=np.zeros(3, np.int64))
    with pytest.raises(DataFileError, match="32 x 32"):
        load_images("cifar10")
    np.savez(tmp_path / IMAGE_FILES["ImageNet16-120"], images=np.zeros((3, 16, 16, 3), np.uint8),
             labels=np.zeros(3, np.int64))
    with pytest.raises(DataFileError, match="labels_120"):
        load_images("ImageNet16-120")
    (tmp_path / IMAGE_FILES["cifar100"]).write_bytes(b"not a zip")
    with pytest.raises(DataFileError, match="npz"):
        load_images("cifar100")
    with pytest.raises(GMError, match="batch size"):
        minibatch("cifar10", 0, seed=0)
