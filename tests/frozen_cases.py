"""The networks and settings of the frozen-values test, shared with ``scripts/probe_tolerances.py``.

Called by ``tests/unit/probe/test_probe_values_frozen.py`` (which compares a fresh probe of each case with
``probe_values_frozen.npz`` within per-statistic tolerances) and by the tolerance script (which
probes the same cases under other CPU kernels to measure how far each statistic moves).
"""

from __future__ import annotations

import numpy as np

from greenmachine.probe.engine import probe_network

TSS = {
    "tss13285": "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "tss4808": "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|avg_pool_3x3~2|",
    "tss640": "|avg_pool_3x3~0|+|none~0|avg_pool_3x3~1|+|avg_pool_3x3~0|none~1|none~2|",
    "tss_none": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
}
SSS = {"sss27867": "56:56:32:32:32", "sss8839": "24:16:24:8:64"}

#: (case name, space, arch, dataset, batch, grasp); the seed is 0.
CASES = (
    [(f"{name}_b{batch}", "tss", arch, "cifar10", batch, False) for name, arch in TSS.items() for batch in (16, 64)]
    + [(f"{name}_b{batch}", "sss", arch, "cifar10", batch, False) for name, arch in SSS.items() for batch in (16, 64)]
    + [("tss4808_imagenet_b16", "tss", TSS["tss4808"], "ImageNet16-120", 16, False),
       ("sss8839_cifar100_b16", "sss", SSS["sss8839"], "cifar100", 16, False),
       ("tss13285_grasp_b16", "tss", TSS["tss13285"], "cifar10", 16, True),
       ("tss4808_grasp_b16", "tss", TSS["tss4808"], "cifar10", 16, True),
       ("sss27867_grasp_b16", "sss", SSS["sss27867"], "cifar10", 16, True)]
)
#: Cases of the default (fast) run; the others are marked slow.
FAST = {"tss4808_b16", "tss_none_b16", "sss8839_b16", "sss8839_b64", "tss4808_grasp_b16"}


def probe_case(space: str, arch: str, dataset: str, batch: int, grasp: bool):
    """Probe one case at probe seed 0 on the CPU (the caller sets the torch threads)."""
    return probe_network(space, arch, dataset, batch, 0, "cpu", grasp=grasp)


def flatten(case: str, statistics) -> dict[str, np.ndarray]:
    """The statistics of one case as five arrays (names, and values as float64 matrices)."""
    layer_names = sorted(statistics.layer_statistics)
    network_names = sorted(statistics.network_statistics)
    layer_values = [np.asarray(statistics.layer_statistics[name], dtype=np.float64) for name in layer_names]
    return {
        f"{case}/layer_names": np.asarray(statistics.layer_names),
        f"{case}/layer_statistics": np.asarray(layer_names),
        f"{case}/layer_values": np.stack(layer_values) if layer_values else np.zeros((0, 0)),
        f"{case}/network_statistics": np.asarray(network_names),
        f"{case}/network_values": np.asarray([statistics.network_statistics[name] for name in network_names],
                                             dtype=np.float64),
    }
