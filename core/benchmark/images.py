"""Real image minibatches for the probe, normalised as NATS-Bench trained its networks.

Called by the probe (one seeded minibatch per dataset), the baselines, ``greenmachine.benchmark.check``
and the CIFAR importer's tests. Images live in our ``.npz`` form in the data directory
(``greenmachine.datadir.IMAGE_FILES``): ``images`` N x H x W x 3 uint8 RGB and int64 labels;
the ImageNet16 sample keeps only the ImageNet16-120 classes (``labels_120 >= 0``).

``torch`` is imported lazily so that reading and checking image files stays cheap for the
CLI (``gm data check``).
"""

from __future__ import annotations

import functools
import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from greenmachine import datadir as _datadir
from greenmachine.datadir import IMAGE_FILES
from greenmachine.errors import DataFileError, GMError
from greenmachine.spaces.base import DATASETS as _DATASET_INFO

if TYPE_CHECKING:  # pragma: no cover
    import torch

DATASETS = tuple(_DATASET_INFO)

#: Per-channel (R, G, B) mean and std on the [0, 1] scale, as in NATS-Bench / xautodl
#: ``get_datasets``.
NORMALISATION: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "cifar10": (
        (125.3 / 255, 123.0 / 255, 113.9 / 255),
        (63.0 / 255, 62.1 / 255, 66.7 / 255),
    ),
    "cifar100": (
        (129.3 / 255, 124.1 / 255, 112.4 / 255),
        (68.2 / 255, 65.4 / 255, 70.4 / 255),
    ),
    "ImageNet16-120": (
        (122.68 / 255, 116.66 / 255, 104.01 / 255),
        (63.22 / 255, 61.26 / 255, 65.09 / 255),
    ),
}

#: Image side length (pixels) of each dataset.
IMAGE_SIZES = {name: info.image_size for name, info in _DATASET_INFO.items()}

#: Number of classes (network head size) of each dataset.
NUM_CLASSES = {name: info.num_classes for name, info in _DATASET_INFO.items()}


def _check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise GMError(f"unknown dataset {dataset!r}; valid datasets: {', '.join(DATASETS)}")
    return dataset


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Images of one dataset, as stored (no normalisation).

    Attributes
    ----------
    dataset : str
        ``"cifar10"``, ``"cifar100"`` or ``"ImageNet16-120"``.
    images : numpy.ndarray
        N x H x W x 3 uint8 RGB, read-only.
    labels : numpy.ndarray
        N int64 class labels in ``0..NUM_CLASSES[dataset]-1``, read-only.
    source : pathlib.Path
        The ``.npz`` file read.
    class_names : tuple of str
        Class names when the file stores them, else empty.
    """

    dataset: str
    images: np.ndarray
    labels: np.ndarray
    source: Path
    class_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.images.shape[0])


def read_image_file(path: Path | str, dataset: str) -> ImageSet:
    """Read and validate one ``.npz`` image file (no caching).

    Parameters
    ----------
    path : Path or str
        The file (loaded with ``allow_pickle=False``).
    dataset : str
        Decides the expected image size, label key and label range.

    Returns
    -------
    ImageSet

    Raises
    ------
    DataFileError
        Missing or unreadable file, missing key, wrong shape or dtype, labels out of range.
    """
    _check_dataset(dataset)
    path = Path(path)
    where = f"data file {path.name!r} in {path.parent}"
    label_key = "labels_120" if dataset == "ImageNet16-120" else "labels"
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("images", label_key) if k not in z.files]
            if missing:
                raise DataFileError(f"{where} lacks key(s) {', '.join(missing)}")
            images = z["images"]
            labels = z[label_key]
            names = z["class_names"] if "class_names" in z.files else np.array([], dtype=str)
    except DataFileError:
        raise
    except FileNotFoundError:
        raise DataFileError(f"data file {path.name!r} not found in {path.parent}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise DataFileError(
            f"{where} is not a readable .npz file ({type(exc).__name__}: {exc})"
        ) from None

    size = IMAGE_SIZES[dataset]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise DataFileError(
            f"{where}: 'images' must be N x {size} x {size} x 3 uint8, got "
            f"{'x'.join(map(str, images.shape))} {images.dtype}"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0] or labels.dtype.kind not in "iu":
        raise DataFileError(
            f"{where}: {label_key!r} must be {images.shape[0]} integers, got shape "
            f"{labels.shape} {labels.dtype}"
        )
    labels = labels.astype(np.int64)
    if dataset == "ImageNet16-120":
        keep = labels >= 0
        images = images[keep]
        labels = labels[keep]
    if images.shape[0] == 0:
        raise DataFileError(f"{where} holds no images for {dataset}")
    n_cls = NUM_CLASSES[dataset]
    if labels.min() < 0 or labels.max() >= n_cls:
        raise DataFileError(f"{where}: labels must lie in 0..{n_cls - 1} for {dataset}")
    images = np.ascontiguousarray(images)
    images.setflags(write=False)
    labels.setflags(write=False)
    return ImageSet(
        dataset=dataset,
        images=images,
        labels=labels,
        source=path,
        class_names=tuple(str(s) for s in names.tolist()) if names.ndim == 1 else (),
    )


@functools.lru_cache(maxsize=8)
def _load_cached(dataset: str, path: Path, mtime_ns: int, size: int) -> ImageSet:
    return read_image_file(path, dataset)


def load_images(dataset: str, data_dir: Path | None = None, file_name: str | None = None) -> ImageSet:
    """Load the images of ``dataset`` from the data directory (cached in-process).

    Parameters
    ----------
    dataset : str
        ``"cifar10"``, ``"cifar100"`` or ``"ImageNet16-120"``.
    data_dir : Path, optional
        Folder to read from; by default :func:`greenmachine.datadir.data_file` finds the file
        (``GM_DATA_DIR``, else the per-user folder, else the embedded copy).
    file_name : str, optional
        Another ``.npz`` in that folder (e.g. ``greenmachine.datadir.CIFAR10_TEST_IMAGES`` or a file
        written by :func:`greenmachine.benchmark.importers.import_cifar_archive`); default
        ``greenmachine.datadir.IMAGE_FILES[dataset]``.

    Returns
    -------
    ImageSet
        For ImageNet16-120 only the images of the 120 classes, labelled ``labels_120``.

    Raises
    ------
    GMError
        Unknown dataset.
    DataFileError
        Missing or malformed file (one line naming the file and folder).
    """
    _check_dataset(dataset)
    name = file_name or IMAGE_FILES[dataset]
    path = _datadir.data_file(name, data_dir)
    try:
        st = path.stat()
    except OSError as exc:
        raise DataFileError(f"data file {name!r} at {path} is unreadable ({exc.strerror})") from None
    return _load_cached(dataset, path.resolve(), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _content_identity(image_set: ImageSet) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(image_set.images).tobytes())
    digest.update(np.ascontiguousarray(image_set.labels).tobytes())
    return digest.hexdigest()[:16]


def image_identity(dataset: str, data_dir: Path | None = None) -> str:
    """Return a short content hash of the images and labels minibatches of ``dataset`` come from.

    Part of every probe-cache key: the same images give the same key whichever folder
    (``GM_DATA_DIR``, the user folder or the embedded copy) they were read from; other
    images give another key. Computed once per loaded file.

    Raises
    ------
    GMError, DataFileError
        As :func:`load_images`.
    """
    return _content_identity(load_images(dataset, data_dir))


def normalise(images: np.ndarray, dataset: str) -> "torch.Tensor":
    """Turn N x H x W x 3 uint8 images into a normalised float32 N x 3 x H x W tensor.

    Uses :data:`NORMALISATION` of ``dataset``: ``(x / 255 - mean) / std`` per channel.

    Raises
    ------
    GMError
        Unknown dataset, or ``images`` not N x H x W x 3 uint8.
    """
    import torch

    _check_dataset(dataset)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise GMError(f"normalise expects N x H x W x 3 uint8 images, got {images.shape} {images.dtype}")
    mean, std = NORMALISATION[dataset]
    x = torch.from_numpy(images.astype(np.float32)).div_(255.0)  # astype copies: writable
    x = x.permute(0, 3, 1, 2).contiguous()
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - m) / s


def minibatch(
    dataset: str, batch_size: int, seed: int, data_dir: Path | None = None
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Return a seeded random minibatch of real, normalised images.

    Parameters
    ----------
    dataset : str
        ``"cifar10"``, ``"cifar100"`` or ``"ImageNet16-120"``.
    batch_size : int
        Number of images (>= 1). Drawn without replacement when it does not exceed the
        number of stored images, with replacement otherwise (the ImageNet16-120 sample
        holds only 106 images).
    seed : int
        Seed of ``numpy.random.default_rng``; the same (dataset, batch_size, seed, file)
        always gives identical tensors.
    data_dir : Path, optional
        Folder to read from (default: found by :func:`greenmachine.datadir.data_file`).

    Returns
    -------
    images : torch.Tensor
        float32, ``batch_size`` x 3 x H x W, on the CPU.
    labels : torch.Tensor
        int64, ``batch_size``.

    Raises
    ------
    GMError
        Unknown dataset or ``batch_size < 1``.
    DataFileError
        Missing or malformed image file.
    """
    import torch

    if int(batch_size) != batch_size or batch_size < 1:
        raise GMError(f"batch size must be a positive integer, got {batch_size!r}")
    batch_size = int(batch_size)
    data = load_images(dataset, data_dir)
    n = len(data)
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, size=batch_size, replace=batch_size > n)
    x = normalise(data.images[idx], dataset)
    y = torch.from_numpy(data.labels[idx].copy())
    return x, y


def noise_batch(like: "torch.Tensor", seed: int) -> "torch.Tensor":
    """Return standard Gaussian noise with the shape (and device) of ``like``, seeded.

    The noise is drawn on the CPU with ``torch.Generator().manual_seed(seed)`` so that it
    is identical on every device; its dtype is that of ``like`` if floating, else float32.
    """
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    dtype = like.dtype if like.is_floating_point() else torch.float32
    noise = torch.randn(tuple(like.shape), generator=gen, dtype=torch.float32)
    return noise.to(device=like.device, dtype=dtype)


__all__ = [
    "DATASETS",
    "NORMALISATION",
    "IMAGE_SIZES",
    "NUM_CLASSES",
    "ImageSet",
    "read_image_file",
    "load_images",
    "image_identity",
    "normalise",
    "minibatch",
    "noise_batch",
]
