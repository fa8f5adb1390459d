"""Reference baselines: published zero-cost proxies computed as their authors' released code does.

Called by ``gm baselines --reference`` (through :mod:`greenmachine.evaluation.evaluate`),
``scripts/reference_baselines_tau.py`` and the tests. A separate concept from the bank
baselines of :mod:`greenmachine.baselines.published`, which are computed from the probe's frozen statistic bank
(their definitions are tied to the bank version in every cache key and to the shipped
proxies, and must not change): each reference baseline runs the network itself, as the
authors' code does, and is cached apart (:mod:`greenmachine.baselines.reference.cache`).

Modules: :mod:`.registry` (registration, metadata, version), one small module per baseline
(:mod:`.fisher`, :mod:`.meco`, :mod:`.zico`, :mod:`.zen`, :mod:`.swap`), :mod:`.common`
(shared helpers), :mod:`.cache` (on-disk values) and :mod:`.compute` (networks of a space).
"""

from greenmachine.baselines.reference.registry import (ReferenceBaseline, get_reference_baseline, reference_baselines,
                                               reference_version, register)

__all__ = ["ReferenceBaseline", "get_reference_baseline", "reference_baselines", "reference_version", "register"]
