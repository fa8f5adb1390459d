"""Carry probe-cache entries of bank version 3 over to bank version 4 by computing only what is new.

Bank 4 added seven network statistics of the structure pass (the graph statistics of
:mod:`greenmachine.probe.passes.graph`) and changed no other definition: the frozen-values
test holds every older statistic bit for bit. So a bank-3 entry becomes a bank-4 entry by
running the structure pass alone (a batch-1 forward pass, tens of milliseconds) and adding its
statistics, instead of probing the network again (0.5-3.5 s a network on one core).

Every upgraded entry is checked on the way: the structure statistics the old entry already had
must come out bit-identical, and the merged entry must hold exactly the bank-4 statistics.
``--check K`` then probes K upgraded networks from scratch with the whole bank and compares
every statistic bit for bit with the upgraded entry; any difference is an error (exit 1).

Usage::

    python scripts/upgrade_probe_cache.py --cache $GM_CACHE_DIR --check 20

Entries already present under bank 4 are left as they are. Old entries are never deleted.
Called by hand (a maintenance script); nothing in the package imports it.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from greenmachine.benchmark.images import image_identity  # noqa: E402
from greenmachine.probe.cache import ProbeCache  # noqa: E402
from greenmachine.probe.engine import probe_network  # noqa: E402
from greenmachine.probe.registry import bank_version, registered  # noqa: E402
from greenmachine.stats.table import NetworkStatistics  # noqa: E402

#: The statistic that counts the others' non-finite values.
COUNTER = "non_finite_value_count"


def old_folders(root: Path) -> list[Path]:
    """Entry folders of bank version 3 (without GraSP) under ``root``."""
    return sorted(path for path in root.glob("*/*/batch*-seed*-bank3-*-*-img*") if path.is_dir())


def read_key(path: Path) -> list[str]:
    with np.load(path, allow_pickle=False) as stored:
        return [str(k) for k in stored["key"].tolist()]


def structure_statistics(space: str, arch: str, dataset: str, batch_size: int, seed: int) -> NetworkStatistics:
    """The structure pass alone, on the network and minibatch an entry was probed with."""
    return probe_network(space, arch, dataset, batch_size, seed, device="cpu", only=set())


def merge(old: NetworkStatistics, new: NetworkStatistics, path: Path) -> NetworkStatistics | None:
    """Old entry plus the structure pass's statistics; refuses any disagreement.

    ``non_finite_value_count`` counts the non-finite values of every statistic, so the
    structure pass alone gives only its own share: when that share is 0 the old entry's count
    stands (no new statistic added a non-finite value); otherwise None (probe in full).
    """
    if new.network_statistics[COUNTER] != 0.0:
        return None
    if tuple(old.layer_names) != tuple(new.layer_names):
        raise SystemExit(f"{path}: the layers differ from the cached entry's; refusing to upgrade")
    for name, values in new.layer_statistics.items():
        if name in old.layer_statistics and not np.array_equal(old.layer_statistics[name], values):
            raise SystemExit(f"{path}: structure statistic {name} differs from the cached value")
    for name, value in new.network_statistics.items():
        if name == COUNTER:
            continue
        if name in old.network_statistics and old.network_statistics[name] != value:
            raise SystemExit(f"{path}: structure statistic {name} differs from the cached value")
    merged = NetworkStatistics(tuple(old.layer_names), {**old.layer_statistics, **new.layer_statistics},
                               {**new.network_statistics, **old.network_statistics,
                                **{name: value for name, value in new.network_statistics.items()
                                   if name not in old.network_statistics}})
    expected = set(registered(grasp=False))
    have = set(merged.layer_statistics) | set(merged.network_statistics)
    if have != expected:
        raise SystemExit(f"{path}: upgraded entry has {sorted(have ^ expected)} where the bank differs")
    return merged


def same(first: NetworkStatistics, second: NetworkStatistics) -> list[str]:
    """Names of the statistics that are not bit-identical."""
    differ = [name for name in first.layer_statistics
              if not np.array_equal(first.layer_statistics[name], second.layer_statistics.get(name))]
    differ += [name for name in first.network_statistics
               if not (first.network_statistics[name] == second.network_statistics.get(name)
                       or (np.isnan(first.network_statistics[name])
                           and np.isnan(second.network_statistics.get(name, 0.0))))]
    return differ


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default=os.environ.get("GM_CACHE_DIR"), help="probe cache folder (default GM_CACHE_DIR)")
    parser.add_argument("--check", type=int, default=10, help="upgraded networks re-probed in full and compared (default 10)")
    parser.add_argument("--space", default=None, help="upgrade only this space's entries")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --check draw")
    arguments = parser.parse_args(argv)
    if not arguments.cache:
        print("upgrade_probe_cache: give --cache or set GM_CACHE_DIR", file=sys.stderr)
        return 2
    root = Path(arguments.cache)
    new_version = bank_version(False)
    if not new_version.startswith("4-"):
        print(f"upgrade_probe_cache: this script upgrades bank 3 to bank 4; the code's bank is {new_version}",
              file=sys.stderr)
        return 2
    target = ProbeCache(root)
    upgraded: list[tuple[list[str], NetworkStatistics]] = []
    started = time.perf_counter()
    kept = probed_in_full = 0
    for folder in old_folders(root):
        if arguments.space and folder.parts[-3] != arguments.space:
            continue
        entries = sorted(folder.glob("*.npz"), key=lambda p: int(p.stem))
        old_version = folder.name.split("-bank", 1)[1].split("-cpu-")[0].split("-cuda-")[0]
        source = ProbeCache(root)
        source.bank_version = old_version
        done = 0
        for path in entries:
            space, index, dataset, batch, seed, _, arch, device, images = read_key(path)
            if device != "cpu":
                continue
            if images != image_identity(dataset):
                print(f"  skip {path}: made from other images than this machine's {dataset} file", file=sys.stderr)
                continue
            key = dict(arch=arch, device=device, images=images)
            if target.path(space, int(index), dataset, int(batch), int(seed), device, images).exists():
                kept += 1
                continue
            old = source.load(space, int(index), dataset, int(batch), int(seed), **key)
            if old is None:
                print(f"  skip {path}: unreadable ({'; '.join(source.problems[-1:])})", file=sys.stderr)
                continue
            new = structure_statistics(space, arch, dataset, int(batch), int(seed))
            merged = merge(old, new, path)
            if merged is None:  # a non-finite structure value: the whole bank again
                merged = probe_network(space, arch, dataset, int(batch), int(seed), device="cpu")
                probed_in_full += 1
            target.store(space, int(index), dataset, int(batch), int(seed), merged, **key)
            upgraded.append(([space, index, dataset, batch, seed, arch], merged))
            done += 1
        print(f"{folder.relative_to(root)}: {done} upgraded to bank {new_version}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    print(f"upgraded {len(upgraded)} entries in {seconds:.0f} s ({kept} already at bank 4 left as they were, "
          f"{probed_in_full} probed in full because the structure pass gave a non-finite value)")
    chosen = random.Random(arguments.seed).sample(upgraded, min(arguments.check, len(upgraded)))
    failures = 0
    for (space, index, dataset, batch, seed, arch), merged in chosen:
        full = probe_network(space, arch, dataset, int(batch), int(seed), device="cpu")
        differ = same(full, merged)
        if differ:
            failures += 1
            print(f"  {space} {index} {dataset} batch {batch} seed {seed}: differs in {', '.join(differ)}")
    print(f"check: {len(chosen)} upgraded networks probed again in full, {failures} with any statistic not bit-identical")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
