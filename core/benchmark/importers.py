"""Build our data files from the official NATS-Bench and CIFAR archives.

Called by the CLI (``gm data import ...``) for users who own the official files:

* :func:`import_nats_tables` turns a NATS-Bench archive (``NATS-tss-v1_0-3ffb9-simple`` /
  ``NATS-sss-v1_0-50262-simple``, read through the optional ``nats_bench`` package) into
  ``nats_tss.csv.gz`` / ``nats_sss.csv.gz`` with the columns :mod:`greenmachine.benchmark.tables` reads.
* :func:`import_benchmark_json` checks a benchmark's published JSON (NAS-Bench-Macro,
  NASLib's 500 NAS-Bench-101 networks) with the space that reads it and writes it gzipped
  as that space's data file.
* :func:`import_cifar_archive` turns ``cifar-10-python.tar.gz`` /
  ``cifar-100-python.tar.gz`` into our ``.npz`` image format (read by :mod:`greenmachine.benchmark.images`).
  The archives hold pickles; they are read with a restricted unpickler that only rebuilds
  dicts, lists, bytes and plain numpy arrays, so a tampered archive cannot run code.

Both write atomically (temporary file, then rename) and validate the result with the same
readers the engine uses. Nothing here prints; long imports report through ``progress``.
"""

from __future__ import annotations

import csv
import gzip
import io
import pickle
import tarfile
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from greenmachine.benchmark.tables import read_table
from greenmachine.errors import DataFileError, GMError
from greenmachine.files import atomic_write_bytes
from greenmachine.spaces import SearchSpace, get_space

NATS_INSTALL_HINT = "install the 'nats' extra: pip install -e '.[nats]'"


# --------------------------------------------------------------------------- NATS-Bench


def _create_nats_api(archive_path: Path, space: SearchSpace) -> Any:
    try:
        from nats_bench import create  # type: ignore[import-not-found]
    except ImportError:
        raise GMError(f"the NATS-Bench importer needs the nats_bench package; {NATS_INSTALL_HINT}") from None
    if not archive_path.exists():
        raise GMError(f"NATS-Bench archive {archive_path} not found")
    fast_mode = archive_path.is_dir()  # '*-simple' folders need fast mode, '.pickle.pbz2' files not
    try:
        return create(str(archive_path), space.name, fast_mode=fast_mode, verbose=False)
    except Exception as exc:  # the package raises ValueError/AssertionError/OSError
        raise GMError(
            f"cannot open {space.title} archive {archive_path}: {type(exc).__name__}: {exc}"
        ) from None


def _write_validated(out_path: Path, data: bytes, validate: Callable[[], Any], what: str) -> Path:
    """Write ``data`` atomically, read it back with ``validate``; a file that fails is removed.

    Raises
    ------
    GMError
        The written ``what`` (``table``, ``image file``) failed ``validate``.
    """
    atomic_write_bytes(out_path, data)
    try:
        validate()
    except DataFileError as exc:
        out_path.unlink(missing_ok=True)
        raise GMError(f"the imported {what} failed validation and was removed: {exc}") from None
    return out_path


def _fmt(value: Any) -> str:
    v = float(value)
    return repr(v) if np.isfinite(v) else ""


def import_nats_tables(
    archive_path: Path | str | None,
    space: str | SearchSpace,
    out_dir: Path | str,
    api: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``nats_tss.csv.gz`` or ``nats_sss.csv.gz`` from an official NATS-Bench archive.

    Parameters
    ----------
    archive_path : Path or str or None
        ``NATS-tss-v1_0-3ffb9-simple`` / ``NATS-sss-v1_0-50262-simple`` folder (fast mode) or
        the ``.pickle.pbz2`` file. Ignored when ``api`` is given.
    space : str or SearchSpace
        A registered space with an official NATS-Bench archive (``nats_hp``,
        ``nats_metric_queries`` and ``nats_extra_queries`` set: TSS and SSS).
    out_dir : Path or str
        Folder to write the table into (created if needed).
    api : object, optional
        An already created NATS-Bench API, or any object with ``__len__``, ``arch(i)``,
        ``get_more_info(i, dataset, hp=..., is_random=False)`` and
        ``get_cost_info(i, dataset)`` (tests pass a fake one).
    progress : callable, optional
        Called as ``progress(done, total)`` every 100 architectures and at the end.

    Returns
    -------
    Path
        The table written.

    Notes
    -----
    Columns written: ``index``, the arch column (TSS ``arch_str`` / SSS ``channels``),
    the space's ground-truth columns queried as in its ``nats_metric_queries``
    (``is_random=False``: mean over the seeds present), ``params_MB_<dataset>`` (required
    by TSS, extras for SSS), ``flops_M_<dataset>`` and the optional accuracies of its
    ``nats_extra_queries`` (left empty when the archive lacks them).

    Raises
    ------
    GMError
        ``nats_bench`` not installed (with the install command), archive missing or
        unreadable, a required metric missing, or a wrong number of architectures.
    """
    search_space = get_space(space)
    hp = getattr(search_space, "nats_hp", None)
    if hp is None:
        raise GMError(f"search space {search_space.name!r} has no official NATS-Bench archive to import")
    injected = api is not None
    if api is None:
        if archive_path is None:
            raise GMError("import_nats_tables needs an archive path or an api object")
        api = _create_nats_api(Path(archive_path), search_space)
    total = len(api)
    if not injected and total != search_space.size:
        raise GMError(
            f"{search_space.title} archive has {total} architectures, expected {search_space.size}"
        )
    metric_q = search_space.nats_metric_queries
    extra_q = search_space.nats_extra_queries
    datasets = search_space.datasets
    params_cols = {ds: f"params_MB_{ds}" for ds in datasets}
    flops_cols = {ds: f"flops_M_{ds}" for ds in datasets}
    if not set(search_space.params_columns.values()) <= set(params_cols.values()):
        raise GMError(f"search space {search_space.name!r}: parameter columns differ from params_MB_<dataset>")
    header = ["index", search_space.arch_column, *metric_q, *params_cols.values(),
              *flops_cols.values(), *extra_q]
    query_datasets = sorted({ds for ds, _ in (*metric_q.values(), *extra_q.values())})

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / search_space.table_file
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for i in range(total):
        try:
            infos = {ds: api.get_more_info(i, ds, hp=hp, is_random=False) for ds in query_datasets}
            costs = {ds: api.get_cost_info(i, ds) for ds in datasets}
            arch = str(api.arch(i))
        except GMError:
            raise
        except Exception as exc:
            raise GMError(
                f"NATS-Bench query failed for architecture {i}: {type(exc).__name__}: {exc}"
            ) from None
        row: list[str] = [str(i), arch]
        for col, (ds, key) in metric_q.items():
            if key not in infos[ds]:
                raise GMError(
                    f"{search_space.title} architecture {i}: get_more_info(dataset={ds!r}, "
                    f"hp={hp!r}) has no {key!r} (needed for column {col!r})"
                )
            row.append(_fmt(infos[ds][key]))
        row += [_fmt(costs[ds].get("params", float("nan"))) for ds in datasets]
        row += [_fmt(costs[ds].get("flops", float("nan"))) for ds in datasets]
        row += [_fmt(infos[ds][key]) if key in infos[ds] else "" for ds, key in extra_q.values()]
        writer.writerow(row)
        if progress is not None and ((i + 1) % 100 == 0 or i + 1 == total):
            progress(i + 1, total)

    data = gzip.compress(buf.getvalue().encode("utf-8"), compresslevel=9, mtime=0)
    return _write_validated(out_path, data, lambda: read_table(out_path, space, expected_rows=total), "table")


# --------------------------------------------------------------------------- benchmark JSON files


def import_benchmark_json(source: Path | str, space: str | SearchSpace, out_dir: Path | str) -> Path:
    """Write the data file of a space whose ground truth is its benchmark's published JSON.

    For NAS-Bench-Macro (``nas-bench-macro_cifar10.json`` of ``xiusu/NAS-Bench-Macro``) and
    the 500 NAS-Bench-101 networks (``naslib/data/zc_nasbench101.json`` of NASLib): the file
    (plain or gzipped) is read and validated by the space itself
    (:meth:`~greenmachine.spaces.SearchSpace.table_rows`: every key, record, equivalence and row
    count), then written gzipped (level 9, no name or time in the header, so the same input
    gives the same bytes) as the space's ``table_file`` in ``out_dir``, and read back with
    :func:`greenmachine.benchmark.tables.read_table`.

    Parameters
    ----------
    source : Path or str
        The benchmark's JSON file, plain or ``.gz``.
    space : str or SearchSpace
        A registered space whose table is kept in its own format (``macro``, ``nb101``).
    out_dir : Path or str
        Folder to write into (created if needed).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    GMError
        A space whose table is a CSV (use ``import_nats_tables``), a missing or malformed
        file, a wrong number of networks.
    """
    search_space = get_space(space)
    source = Path(source)
    if not search_space.table_file.endswith(".json.gz"):
        raise GMError(f"the {search_space.title} table is not a benchmark JSON file; "
                      "use gm data import-nats for NATS-Bench archives")
    try:
        _, rows = search_space.table_rows(source)
        raw = source.read_bytes()
    except DataFileError as exc:
        raise GMError(f"{search_space.title} import: {exc}") from None
    except OSError as exc:
        raise GMError(f"cannot read {source}: {exc.strerror or exc}") from None
    if search_space.size is not None and len(rows) != search_space.size:
        raise GMError(f"{source} holds {len(rows)} {search_space.title} networks, expected {search_space.size}")
    text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / search_space.table_file
    return _write_validated(out_path, gzip.compress(text, compresslevel=9, mtime=0),
                            lambda: read_table(out_path, search_space), "table")


# --------------------------------------------------------------------------- CIFAR archives


def _numpy_reconstruct() -> Any:
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray._reconstruct


def _codecs_encode() -> Any:
    import codecs

    return codecs.encode


# (module, name) -> factory of the only objects a CIFAR pickle may reference.
_ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], Any]] = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    # Python 3 writes bytes under protocol 2 as _codecs.encode(str, 'latin1').
    ("_codecs", "encode"): _codecs_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only resolves the globals of :data:`_ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise GMError(f"refusing to unpickle {module}.{name}: not a plain CIFAR data object")
        return factory()


def restricted_unpickle(data: bytes, what: str = "pickle") -> Any:
    """Unpickle ``data`` allowing only dicts, lists, bytes, numbers and numpy arrays.

    Parameters
    ----------
    data : bytes
        The pickle.
    what : str
        Name used in error messages (e.g. the archive member).

    Raises
    ------
    GMError
        The pickle references any other class or function, or is malformed.
    """
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except GMError as exc:
        raise GMError(f"{what}: {exc}") from None
    except Exception as exc:
        raise GMError(f"{what} is not a valid pickle ({type(exc).__name__}: {exc})") from None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _get(d: Any, key: str, what: str) -> Any:
    if not isinstance(d, dict):
        raise GMError(f"{what} does not hold a dict")
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    raise GMError(f"{what} lacks the key {key!r}")


_CIFAR_LAYOUT = {
    # dataset -> (train members, test members, meta member, label key, names key)
    "cifar10": (
        [f"data_batch_{k}" for k in range(1, 6)],
        ["test_batch"],
        "batches.meta",
        "labels",
        "label_names",
    ),
    "cifar100": (["train"], ["test"], "meta", "fine_labels", "fine_label_names"),
}


def _read_tar_members(tar_path: Path, wanted: Iterable[str]) -> dict[str, bytes]:
    wanted = set(wanted)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            for member in tar:
                base = member.name.rstrip("/").rsplit("/", 1)[-1]
                if base in wanted and member.isfile() and base not in found:
                    fh = tar.extractfile(member)
                    if fh is not None:
                        found[base] = fh.read()
    except FileNotFoundError:
        raise GMError(f"CIFAR archive {tar_path} not found") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise GMError(f"cannot read CIFAR archive {tar_path}: {type(exc).__name__}: {exc}") from None
    missing = sorted(wanted - set(found))
    if missing:
        raise GMError(f"CIFAR archive {tar_path} lacks member(s) {', '.join(missing)}")
    return found


def import_cifar_archive(
    tar_path: Path | str, out_path: Path | str, dataset: str, split: str = "train"
) -> Path:
    """Convert an official CIFAR python archive into our ``.npz`` image format.

    Parameters
    ----------
    tar_path : Path or str
        ``cifar-10-python.tar.gz`` or ``cifar-100-python.tar.gz``.
    out_path : Path or str
        The ``.npz`` to write (keys ``images`` N x 32 x 32 x 3 uint8 RGB, ``labels`` int64,
        ``class_names``); its folder is created if needed.
    dataset : str
        ``"cifar10"`` or ``"cifar100"`` (fine labels).
    split : str
        ``"train"`` (CIFAR-10 ``data_batch_1..5`` / CIFAR-100 ``train``, 50 000 images) or
        ``"test"`` (``test_batch`` / ``test``, 10 000 images).

    Returns
    -------
    Path
        ``out_path``, validated with :func:`greenmachine.benchmark.images.read_image_file`.

    Raises
    ------
    GMError
        Unknown dataset/split, unreadable archive, missing member, a pickle that references
        anything but plain data (refused, never executed), or inconsistent contents.
    """
    from greenmachine.benchmark.images import read_image_file

    if dataset not in _CIFAR_LAYOUT:
        raise GMError(f"CIFAR importer: dataset must be cifar10 or cifar100, got {dataset!r}")
    if split not in ("train", "test"):
        raise GMError(f"CIFAR importer: split must be 'train' or 'test', got {split!r}")
    train_m, test_m, meta_m, label_key, names_key = _CIFAR_LAYOUT[dataset]
    batches = train_m if split == "train" else test_m
    tar_path = Path(tar_path)
    raw = _read_tar_members(tar_path, [*batches, meta_m])

    meta = restricted_unpickle(raw[meta_m], f"{tar_path.name}:{meta_m}")
    class_names = [_text(s) for s in _get(meta, names_key, f"{tar_path.name}:{meta_m}")]
    n_classes = 10 if dataset == "cifar10" else 100
    if len(class_names) != n_classes:
        raise GMError(f"{tar_path.name}:{meta_m} lists {len(class_names)} classes, expected {n_classes}")

    images, labels = [], []
    for name in batches:
        what = f"{tar_path.name}:{name}"
        batch = restricted_unpickle(raw[name], what)
        data = _get(batch, "data", what)
        lab = np.asarray(_get(batch, label_key, what))
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise GMError(f"{what}: 'data' must be an N x 3072 uint8 array")
        if lab.ndim != 1 or lab.shape[0] != data.shape[0] or lab.dtype.kind not in "iu":
            raise GMError(f"{what}: {label_key!r} must hold one integer label per image")
        # Each row: 1024 red, then 1024 green, then 1024 blue values, row-major 32 x 32.
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(lab.astype(np.int64))
    img = np.ascontiguousarray(np.concatenate(images))
    lab = np.concatenate(labels)
    if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
        raise GMError(f"{tar_path.name}: labels outside 0..{n_classes - 1}")

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, images=img, labels=lab, class_names=np.array(class_names, dtype=str))
    return _write_validated(out_path, buf.getvalue(), lambda: read_image_file(out_path, dataset), "image file")


__all__ = [
    "import_benchmark_json",
    "import_nats_tables",
    "import_cifar_archive",
    "restricted_unpickle",
]
