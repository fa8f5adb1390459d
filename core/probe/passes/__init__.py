"""The probe's passes: forward/backward runs whose hooks collect raw per-layer reductions.

Called by :mod:`core.probe.engine` (in the order structure, main, synflow, noise, grasp)
for one network at initialisation. Each pass fills a :class:`ProbeRecord` with raw
reductions (sums, sums of squares, kernels, counts); the registered statistics in
:mod:`core.probe.statistics` turn those into the named statistics. Passes never print.
One module per pass; what they share is in :mod:`core.probe.passes.common`.

Passes
------
``structure`` (:mod:`~core.probe.passes.structure`)
    No data: channel counts, kernel sizes, parameter and FLOP counts per weighted layer.
``main`` (:mod:`~core.probe.passes.main`, codes in :mod:`~core.probe.passes.codes`)
    The real minibatch with cross-entropy, forward and backward in chunks: reductions of
    W, dL/dW, A, dL/dA, Fisher, SNIP, ZiCo, NASWOT, SWAP, MeCo, jacob_cov.
``synflow`` (:mod:`~core.probe.passes.synflow`)
    The network in float64 with |W|, BatchNorm bypassed, one all-ones input.
``noise`` (:mod:`~core.probe.passes.noise`)
    Zen-NAS re-initialisation, Gaussian inputs and their perturbation.
``grasp`` (:mod:`~core.probe.passes.grasp`, opt-in)
    Exact Hessian-gradient product (double backward) on the whole minibatch.
"""

from __future__ import annotations

from core.probe.passes.codes import LAYER_KERNEL_RIDGE
from core.probe.passes.common import ProbeRecord
from core.probe.passes.grasp import grasp_pass
from core.probe.passes.main import JACOBIAN_EPSILON, MAIN_CHUNKS, jacobian_covariance_score, main_pass
from core.probe.passes.noise import NOISE_BATCH, NOISE_SENSITIVITY_SAMPLES, ZEN_MIXUP_GAMMA, noise_pass
from core.probe.passes.structure import structure_pass
from core.probe.passes.synflow import synflow_pass

__all__ = [
    "JACOBIAN_EPSILON", "LAYER_KERNEL_RIDGE", "MAIN_CHUNKS", "NOISE_BATCH", "NOISE_SENSITIVITY_SAMPLES",
    "ProbeRecord", "ZEN_MIXUP_GAMMA", "grasp_pass", "jacobian_covariance_score", "main_pass", "noise_pass",
    "structure_pass", "synflow_pass",
]
