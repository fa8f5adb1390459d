"""The probe's statistics are frozen: fresh probes match stored values within each statistic's
cross-CPU tolerance.

``tests/unit/probe/probe_values_frozen.npz`` holds every statistic of the default bank (and, for a few
cases, of the bank with GraSP) for some TSS and SSS networks at batch 16 and 64 (the cases are
in ``tests/frozen_cases.py``), computed on the CPU with one torch thread by the probe code of
bank version ``bank_version`` (stored in the file). A speed-up of the passes must not change
what a statistic means, so probes in an existing cache stay valid; this test checks it.

The comparison is not bit-equality: another CPU (AVX2 instead of AVX-512, other oneDNN
kernels) sums in another order. Each statistic is compared within the tolerance of
:mod:`greenmachine.probe.reproducibility`, measured across kernel families by
``scripts/probe_tolerances.py``; counts and shapes are compared exactly.

Regenerate (only when a statistic's definition changes, together with a new bank version)::

    GM_DATA_DIR=... PYTHONPATH=. OMP_NUM_THREADS=1 python tests/unit/probe/test_probe_values_frozen.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from greenmachine.probe import bank_version, statistic_names
from greenmachine.probe.engine import build_initialised, probe_model
from greenmachine.probe.reproducibility import EXACT, TOLERANCES, within_tolerance
from frozen_cases import CASES, FAST, SSS, flatten, probe_case

FROZEN = Path(__file__).resolve().parent / "probe_values_frozen.npz"


def _differences(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> list[str]:
    """What differs: names and layer lists exactly, values within each statistic's tolerance."""
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
        for position, name in enumerate(names):
            if not within_tolerance(str(name), value[position], got[key][position]):
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


def test_every_statistic_has_a_measured_tolerance():
    assert sorted(TOLERANCES) == statistic_names(grasp=True)
    for name, tolerance in TOLERANCES.items():
        assert (tolerance.relative == 0) == (tolerance.conditioning == EXACT), name
        assert tolerance.relative >= tolerance.measured, name


@pytest.mark.parametrize("case, space, arch, dataset, batch, grasp",
                         [pytest.param(*case, marks=() if case[0] in FAST else pytest.mark.slow) for case in CASES])
def test_probe_values_match_the_frozen_ones(frozen, case, space, arch, dataset, batch, grasp):
    got = flatten(case, probe_case(space, arch, dataset, batch, grasp))
    expected = {key: value for key, value in frozen.items() if key.startswith(case + "/")}
    assert expected, f"no frozen values for {case}"
    assert not _differences(got, expected), f"values differ from the frozen ones: {_differences(got, expected)}"


def test_a_change_beyond_the_tolerance_is_caught(frozen):
    """The comparison is not vacuous: moving one statistic just past its tolerance fails it."""
    case = "tss4808_b16"
    expected = {key: value for key, value in frozen.items() if key.startswith(case + "/")}
    names = [str(name) for name in expected[f"{case}/layer_statistics"]]
    for name in ("zico" if "zico" in names else names[0], "activation_pattern_count", "layer_parameter_count"):
        key = f"{case}/layer_values" if name in names else f"{case}/network_values"
        position = (names if name in names else [str(n) for n in expected[f"{case}/network_statistics"]]).index(name)
        changed = {k: v.copy() for k, v in expected.items()}
        row = np.atleast_1d(changed[key][position])
        scale = np.abs(row[np.isfinite(row)]).max()
        step = max(TOLERANCES[name].relative * 2, 1e-9) * scale
        changed[key][position] = changed[key][position] + step
        assert _differences(changed, expected) == [f"{case}/{name}"]


def test_forward_order_probe_gives_the_frozen_values(frozen):
    """probe_model without a layer list (layer order from a forward pass) gives the same values."""
    from greenmachine.benchmark.images import minibatch

    case, space, arch = "sss8839_b16", "sss", SSS["sss8839"]
    images, labels = minibatch("cifar10", 16, 0)
    model = build_initialised(space, arch, "cifar10", 0, "cpu")
    got = flatten(case, probe_model(model, images, labels, 0))
    assert not _differences(got, {key: frozen[key] for key in got})


def _generate() -> None:
    torch.set_num_threads(1)
    values: dict[str, np.ndarray] = {"bank_version": np.asarray(bank_version()),
                                     "bank_version_grasp": np.asarray(bank_version(grasp=True))}
    for case in CASES:
        values |= flatten(case[0], probe_case(*case[1:]))
    np.savez_compressed(FROZEN, **values)


if __name__ == "__main__":
    _generate()
