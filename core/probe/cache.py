"""On-disk cache of probe results: one ``.npz`` file per network.

Called by :func:`greenmachine.probe.probe_many` (look-up before probing, store after), by the CLI
(``gm probe`` shows :attr:`ProbeCache.problems`) and by the tests.

Key: everything that changes the numbers: space, arch index and arch string, dataset,
batch size, probe seed, bank version, device type (``cpu``/``cuda``) and the identity of the
images (:func:`greenmachine.benchmark.images.image_identity`, a content hash). Layout::

    <root>/<space>/<dataset>/batch<B>-seed<S>-bank<VERSION>-<device>-img<IMAGES>/<index>.npz

Each file loads with ``numpy.load(allow_pickle=False)`` and holds ``key`` (the key fields
as text, the arch string included, so a table whose rows moved cannot serve stale values), ``layer_names``, ``layer_statistic_names``, ``layer_values`` (statistics x
layers float64), ``network_statistic_names``, ``network_values``, ``undefined_names`` and
``undefined_reasons`` (the statistics the probe could not define for this network, and why;
entries written before these two fields read as having none) and ``checksum`` (SHA-256
of all the other arrays). Writes are atomic (temporary file in the same folder, ``fsync``,
``os.replace``), so concurrent processes see either no file or a whole one. A file that
cannot be read, fails its checksum or carries another key is reported once (appended to
:attr:`ProbeCache.problems` and passed to ``on_problem``) and treated as a miss, so the
network is probed again and the entry rewritten; a folder in an entry's place is reported
the same way but left there (the cache never deletes a folder), so that network is not
cached. The cache never prints.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import numpy as np

from greenmachine.files import atomic_writer
from greenmachine.stats.table import NetworkStatistics

FORMAT = "greenmachine-probe-cache-1"
_FIELDS = ("format", "key", "layer_names", "layer_statistic_names", "layer_values",
           "network_statistic_names", "network_values")
#: Fields written since the undefined statistics are cached (an entry without them reads as
#: having none, as before); when present they enter the checksum.
_UNDEFINED_FIELDS = ("undefined_names", "undefined_reasons")


def default_cache_root(cache_dir: str | os.PathLike | None = None, variable: str = "GM_CACHE_DIR",
                       folder: str = "probe") -> Path:
    """Return the cache folder: ``cache_dir`` if given (e.g. ``ProbeSettings.cache_dir``),
    else ``$GM_CACHE_DIR``, else ``$XDG_CACHE_HOME/greenmachine/probe`` or
    ``~/.cache/greenmachine/probe``.

    ``variable`` and ``folder`` name another cache's environment variable and folder (the
    reference baselines' cache, :mod:`greenmachine.baselines.reference.cache`).
    """
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get(variable)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "greenmachine" / folder


def prepare_cache_root(root: str | os.PathLike, setting: str = "probe.cache_dir or GM_CACHE_DIR") -> Path:
    """Create the cache folder now, so that a path that cannot hold a cache is one error before any probing.

    Called by :class:`greenmachine.probe.phase.ProbePhase`. A folder that exists but is read-only
    passes (a full cache serves every network without writing); a write that fails later
    is an ``OSError`` that the CLI reports as one line.

    Parameters
    ----------
    root : path
        The cache folder.
    setting : str
        What the user sets to choose another folder (named in the error).

    Raises
    ------
    CacheError
        ``root`` is a file (``/dev/null``) or cannot be created (a path under ``/proc``).
    """
    from greenmachine.errors import CacheError

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise CacheError(f"cache folder {root} is not a folder (set {setting} to a folder)")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CacheError(f"cannot create the cache folder {root}: {error.strerror or error} "
                         f"(set {setting} to a writable folder)") from None
    return root


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in _FIELDS + tuple(field for field in _UNDEFINED_FIELDS if field in arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class ProbeCache:
    """Per-network probe results on disk (see the module docstring).

    Parameters
    ----------
    root : Path, optional
        Cache folder; default :func:`default_cache_root`.
    on_problem : callable, optional
        Called once per corrupt entry with a one-line message.
    grasp : bool
        Whether entries hold the optional GraSP statistics (a separate bank version).

    Attributes
    ----------
    problems : list of str
        One message per corrupt entry met (each reported once).
    hits, misses, writes : int
        Counters since creation.
    """

    #: Word before the version in an entry's folder name, and the kind named in problem
    #: messages (a subclass caching other values, e.g. the reference baselines, sets its own).
    version_label = "bank"
    kind = "probe"

    def __init__(self, root: str | os.PathLike | None = None,
                 on_problem: Callable[[str], None] | None = None, grasp: bool = False) -> None:
        from greenmachine.probe.registry import bank_version

        self.root = Path(root) if root is not None else default_cache_root()
        self.on_problem = on_problem
        self.problems: list[str] = []
        self._reported: set[Path] = set()
        self.hits = 0
        self.misses = 0
        self.writes = 0
        self.grasp = bool(grasp)
        self.bank_version = bank_version(self.grasp)

    @classmethod
    def from_settings(cls, settings, on_problem: Callable[[str], None] | None = None,
                      grasp: bool = False) -> "ProbeCache":
        """Build the cache of a :class:`greenmachine.settings.profile.ProbeSettings` (its ``cache_dir`` or the default)."""
        return cls(default_cache_root(getattr(settings, "cache_dir", "") or None), on_problem, grasp)

    def _key(self, space: str, index: int, dataset: str, batch_size: int, seed: int,
             arch: str = "", device: str = "cpu", images: str = "") -> list[str]:
        return [space, str(int(index)), dataset, str(int(batch_size)), str(int(seed)), self.bank_version,
                str(arch), str(device), str(images)]

    def path(self, space: str, index: int, dataset: str, batch_size: int, seed: int,
             device: str = "cpu", images: str = "") -> Path:
        """Return the file of one entry (it may not exist).

        ``device`` is the device type the statistics were computed on and ``images`` the
        identity of the image file (:func:`greenmachine.benchmark.images.image_identity`).
        """
        folder = self.root / space / dataset / (
            f"batch{int(batch_size)}-seed{int(seed)}-{self.version_label}{self.bank_version}-{device}-img{images or 'none'}")
        return folder / f"{int(index)}.npz"

    def _report(self, path: Path, reason: str) -> None:
        if path in self._reported:
            return
        self._reported.add(path)
        reason = " ".join(reason.split())  # one line, whatever the reader said
        if len(reason) > 200:
            reason = reason[:197] + "..."
        message = f"{self.kind} cache entry {path} is corrupt ({reason}); recomputing it"
        self.problems.append(message)
        if self.on_problem is not None:
            self.on_problem(message)

    def load(self, space: str, index: int, dataset: str, batch_size: int, seed: int, *,
             arch: str = "", device: str = "cpu", images: str = "") -> NetworkStatistics | None:
        """Return the cached statistics, or None when absent or corrupt (corruption is reported).

        ``arch``, ``device`` and ``images`` complete the key (see the module docstring).
        """
        path = self.path(space, index, dataset, batch_size, seed, device, images)
        try:
            with np.load(path, allow_pickle=False) as stored:
                missing = [name for name in _FIELDS + ("checksum",) if name not in stored.files]
                if missing:
                    raise ValueError(f"missing {', '.join(missing)}")
                arrays = {name: stored[name] for name in _FIELDS}
                arrays.update({name: stored[name] for name in _UNDEFINED_FIELDS if name in stored.files})
                checksum = str(stored["checksum"])
        except FileNotFoundError:
            self.misses += 1
            return None
        except IsADirectoryError:
            # not a damaged file that probing again replaces: a folder, which the cache never deletes
            self._report(path, "a folder is in its place: it is left there, so this network is not cached")
            self.misses += 1
            return None
        except Exception as exc:  # noqa: BLE001 - any failure to read an entry means it is corrupt
            # random bytes reach numpy's and zipfile's readers in many ways (BadZipFile,
            # zlib.error, NotImplementedError, struct.error, MemoryError for a forged shape,
            # an .npy array instead of an archive, ...): all of them are a corrupt entry.
            self._report(path, f"{type(exc).__name__}: {exc}")
            self.misses += 1
            return None
        try:
            if checksum != _checksum(arrays):
                raise ValueError("checksum mismatch")
            if str(arrays["format"]) != FORMAT:
                raise ValueError(f"unknown format {arrays['format']!r}")
            if [str(k) for k in arrays["key"].tolist()] != self._key(space, index, dataset, batch_size, seed,
                                                                     arch, device, images):
                raise ValueError("key mismatch")
            names = tuple(str(n) for n in arrays["layer_names"].tolist())
            values = np.asarray(arrays["layer_values"], dtype=np.float64)
            layer_names = [str(n) for n in arrays["layer_statistic_names"].tolist()]
            if values.shape != (len(layer_names), len(names)):
                raise ValueError("layer value shape mismatch")
            network_names = [str(n) for n in arrays["network_statistic_names"].tolist()]
            network_values = np.asarray(arrays["network_values"], dtype=np.float64)
            if network_values.shape != (len(network_names),):
                raise ValueError("network value shape mismatch")
            undefined_names = [str(n) for n in arrays.get("undefined_names", np.array([], dtype=str)).tolist()]
            undefined_reasons = [str(r) for r in arrays.get("undefined_reasons", np.array([], dtype=str)).tolist()]
            if len(undefined_names) != len(undefined_reasons):
                raise ValueError("undefined statistics and reasons differ in number")
        except (ValueError, TypeError, IndexError) as exc:
            self._report(path, str(exc))
            self.misses += 1
            return None
        layer_statistics = {}
        for row, name in enumerate(layer_names):
            array = values[row].copy()
            array.setflags(write=False)
            layer_statistics[name] = array
        self.hits += 1
        return NetworkStatistics(names, layer_statistics,
                                 {name: float(v) for name, v in zip(network_names, network_values)},
                                 dict(zip(undefined_names, undefined_reasons)))

    def store(self, space: str, index: int, dataset: str, batch_size: int, seed: int,
              statistics: NetworkStatistics, *, arch: str = "", device: str = "cpu", images: str = "") -> Path:
        """Write one entry atomically and return its path (key arguments as :meth:`load`).

        A folder in the entry's place is left as it is and nothing is written (:meth:`load`
        reported it).
        """
        path = self.path(space, index, dataset, batch_size, seed, device, images)
        if path.is_dir():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        layer_names = sorted(statistics.layer_statistics)
        network_names = sorted(statistics.network_statistics)
        undefined = {str(name): str(reason) for name, reason in sorted(dict(statistics.undefined).items())}
        count = len(statistics.layer_names)
        layer_values = np.zeros((len(layer_names), count), dtype=np.float64)
        for row, name in enumerate(layer_names):
            layer_values[row] = statistics.layer_statistics[name]
        arrays = {
            "format": np.array(FORMAT),
            "key": np.array(self._key(space, index, dataset, batch_size, seed, arch, device, images), dtype=str),
            "layer_names": np.array(list(statistics.layer_names), dtype=str).reshape(count),
            "layer_statistic_names": np.array(layer_names, dtype=str).reshape(len(layer_names)),
            "layer_values": layer_values,
            "network_statistic_names": np.array(network_names, dtype=str).reshape(len(network_names)),
            "network_values": np.array([statistics.network_statistics[n] for n in network_names],
                                       dtype=np.float64).reshape(len(network_names)),
            "undefined_names": np.array(list(undefined), dtype=str).reshape(len(undefined)),
            "undefined_reasons": np.array([undefined[n] for n in undefined], dtype=str).reshape(len(undefined)),
        }
        arrays["checksum"] = np.array(_checksum(arrays))
        with atomic_writer(path) as handle:
            np.savez(handle, **arrays)
        self.writes += 1
        self._reported.discard(path)
        return path
