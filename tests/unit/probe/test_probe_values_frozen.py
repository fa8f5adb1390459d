"""The probe's statistics are frozen: exact float64 equality with values stored in a file.

``tests/unit/probe/probe_values_frozen.npz`` holds every statistic of the default bank (and, for a few
cases, of the bank with GraSP) for some TSS and SSS networks at batch 16 and 64, computed
on the CPU with one torch thread by the probe code of bank version ``bank_version`` (stored
in the file). Speed-ups of the passes must leave every value bit-identical, so probes in an
existing cache stay valid; this test checks it instead of assuming it.

Regenerate (only when a statistic's definition changes, together with a new bank version)::

    GM_DATA_DIR=... PYTHONPATH=. OMP_NUM_THREADS=1 python tests/unit/probe/test_probe_values_frozen.py

Values are those of this machine's CPU kernels; another CPU (other SIMD paths in the
BLAS/LAPACK or the convolution kernels) may differ in the last bits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from greenmachine.probe import bank_version
from greenmachine.probe.engine import build_initialised, probe_model, probe_network

FROZEN = Path(__file__).resolve().parent / "probe_values_frozen.npz"

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


def _flatten(case: str, statistics) -> dict[str, np.ndarray]:
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


def _differences(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> list[str]:
    """What differs: names by equality, values bit for bit (so -0.0 != 0.0), per statistic."""
    assert sorted(got) == sorted(expected)
    differing = []
    for key, value in expected.items():
        if value.dtype != np.float64:
            if not np.array_equal(value, got[key]):
                differing.append(key)
            continue
        if value.shape != got[key].shape:
            differing.append(key)
            continue
        names = expected[key.replace("_values", "_statistics")]
        same = value.view(np.uint64) == got[key].view(np.uint64)
        for position, name in enumerate(names):
            if not same[position].all():
                differing.append(f"{key.split('/')[0]}/{name}")
    return differing


@pytest.fixture(scope="module")
def frozen():
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with np.load(FROZEN) as stored:
        values = dict(stored.items())
    yield values
    torch.set_num_threads(torch_threads)


def test_frozen_values_belong_to_this_bank_version(frozen):
    assert str(frozen["bank_version"]) == bank_version()
    assert str(frozen["bank_version_grasp"]) == bank_version(grasp=True)


@pytest.mark.parametrize("case, space, arch, dataset, batch, grasp",
                         [pytest.param(*case, marks=() if case[0] in FAST else pytest.mark.slow) for case in CASES])
def test_probe_values_are_bit_identical(frozen, case, space, arch, dataset, batch, grasp):
    statistics = probe_network(space, arch, dataset, batch, 0, "cpu", grasp=grasp)
    got = _flatten(case, statistics)
    expected = {key: value for key, value in frozen.items() if key.startswith(case + "/")}
    assert expected, f"no frozen values for {case}"
    assert not _differences(got, expected), f"values differ from the frozen ones: {_differences(got, expected)}"


def test_forward_order_probe_gives_the_frozen_values(frozen):
    """probe_model without a layer list (layer order from a forward pass) gives the same values."""
    from greenmachine.benchmark.images import minibatch

    case, space, arch = "sss8839_b16", "sss", SSS["sss8839"]
    images, labels = minibatch("cifar10", 16, 0)
    model = build_initialised(space, arch, "cifar10", 0, "cpu")
    got = _flatten(case, probe_model(model, images, labels, 0))
    assert not _differences(got, {key: frozen[key] for key in got})


def _generate() -> None:
    torch.set_num_threads(1)
    values: dict[str, np.ndarray] = {"bank_version": np.asarray(bank_version()),
                                     "bank_version_grasp": np.asarray(bank_version(grasp=True))}
    for case, space, arch, dataset, batch, grasp in CASES:
        values |= _flatten(case, probe_network(space, arch, dataset, batch, 0, "cpu", grasp=grasp))
    np.savez_compressed(FROZEN, **values)


if __name__ == "__main__":
    _generate()
