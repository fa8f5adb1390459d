"""The probe: a bank of named statistics of untrained networks, computed in few passes.

Called by the CLI (``gm probe``, ``gm baselines``), the evolution engine, the baselines
and the tests. See :mod:`greenmachine.probe.passes` for the passes, :mod:`greenmachine.probe.statistics`
for the statistics, :mod:`greenmachine.probe.cache` for the on-disk cache.

Public API
----------
``probe_network(space, arch, dataset, batch_size, seed, device="auto", grasp=False) -> NetworkStatistics``
``probe_many(space, arch_indices, dataset, batch_size, seed, device, cache, on_network,
should_stop, grasp=None) -> list[NetworkStatistics]``
``statistic_names()``, ``describe_statistics()``, ``bank_version()``, ``BANK_VERSION``,
``ProbeCache``.
"""

from __future__ import annotations

from greenmachine.probe.registry import (
    LAYER,
    NETWORK,
    bank_version,
    describe_statistics,
    register,
    registered,
    statistic_names,
)
from greenmachine.probe.engine import probe_many, probe_model, probe_network, resolve_device
from greenmachine.probe.cache import ProbeCache, default_cache_root

#: Version of the default statistic bank (part of every cache key); see :func:`bank_version`.
BANK_VERSION = bank_version()

__all__ = [
    "BANK_VERSION", "LAYER", "NETWORK", "ProbeCache", "bank_version", "default_cache_root",
    "describe_statistics", "probe_many", "probe_model", "probe_network", "register",
    "registered", "resolve_device", "statistic_names",
]
