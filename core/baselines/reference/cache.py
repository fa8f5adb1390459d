"""On-disk cache of reference-baseline values: one ``.npz`` file per network.

Called by :func:`greenmachine.baselines.reference.compute.reference_scores`. The probe cache
(:class:`greenmachine.probe.cache.ProbeCache`) is the one home of the format, the key conventions,
the checksum and the atomic writes; this cache is that class with its own version (the
reference-baselines version, :func:`greenmachine.baselines.reference.reference_version`, instead of
the bank version) and its own root, so the two never share a file. Layout::

    <root>/<space>/<dataset>/batch<B>-seed<S>-reference<VERSION>-<device>-img<IMAGES>/<index>.npz

An entry holds the values of the baselines computed so far for that network (network
statistics named after the baselines) and the seconds each took (``<name>.seconds``); later
calls add the missing ones. The key holds the space, index and arch string, dataset, batch,
seed, reference version, device type and image identity, as the probe cache's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from greenmachine.probe.cache import ProbeCache, default_cache_root
from greenmachine.stats.table import NetworkStatistics

#: Suffix of the stored timing of a baseline's value.
SECONDS_SUFFIX = ".seconds"


def default_reference_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the reference cache folder: ``cache_dir`` if given, else ``$GM_REFERENCE_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/greenmachine/reference-baselines`` (or ``~/.cache/...``).

    Never the probe cache's folder: pointing ``GM_CACHE_DIR`` at a shared, read-mostly probe
    cache does not make reference values be written there.
    """
    return default_cache_root(cache_dir, "GM_REFERENCE_CACHE_DIR", "reference-baselines")


class ReferenceCache(ProbeCache):
    """Per-network reference-baseline values on disk (see the module docstring).

    Parameters
    ----------
    root : Path, optional
        Cache folder; default :func:`default_reference_root`.
    on_problem : callable, optional
        Called once per corrupt entry with a one-line message.
    """

    version_label = "reference"
    kind = "reference-baseline"

    def __init__(self, root: str | os.PathLike | None = None,
                 on_problem: Callable[[str], None] | None = None) -> None:
        from greenmachine.baselines.reference.registry import reference_version

        super().__init__(default_reference_root(root), on_problem)
        self.bank_version = reference_version()

    def load_values(self, space: str, index: int, dataset: str, batch_size: int, seed: int, *,
                    arch: str = "", device: str = "cpu", images: str = "") -> tuple[dict[str, float], dict[str, float]]:
        """Return ``(values, seconds)`` by baseline name (both empty for a missing or corrupt entry)."""
        entry = self.load(space, index, dataset, batch_size, seed, arch=arch, device=device, images=images)
        if entry is None:
            return {}, {}
        values = {name: value for name, value in entry.network_statistics.items() if not name.endswith(SECONDS_SUFFIX)}
        seconds = {name[: -len(SECONDS_SUFFIX)]: value for name, value in entry.network_statistics.items()
                   if name.endswith(SECONDS_SUFFIX)}
        return values, seconds

    def store_values(self, space: str, index: int, dataset: str, batch_size: int, seed: int,
                     values: dict[str, float], seconds: dict[str, float], *, arch: str = "", device: str = "cpu",
                     images: str = "") -> Path:
        """Write one network's values and timings atomically and return the path.

        The entry is read again just before writing and its other baselines are kept (the
        given values win), so two processes computing different baselines of one network
        lose nothing but in the moment between that read and the atomic replace.
        """
        stored_values, stored_seconds = self.load_values(space, index, dataset, batch_size, seed, arch=arch,
                                                         device=device, images=images)
        values, seconds = {**stored_values, **values}, {**stored_seconds, **seconds}
        numbers = {**{name: float(value) for name, value in values.items()},
                   **{name + SECONDS_SUFFIX: float(value) for name, value in seconds.items()}}
        return self.store(space, index, dataset, batch_size, seed, NetworkStatistics((), {}, numbers),
                          arch=arch, device=device, images=images)
