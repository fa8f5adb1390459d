"""The probe's passes: forward/backward runs whose hooks collect raw per-layer reductions.

Called by :mod:`greenmachine.probe.engine` (in the order structure, main, synflow, noise, grasp)
for one network at initialisation. Each pass fills a :class:`ProbeRecord` with raw
reductions (sums, sums of squares, kernels, counts); the registered statistics in
:mod:`greenmachine.probe.statistics` turn those into the named statistics. Passes never print.
One module per pass; what they share is in :mod:`greenmachine.probe.passes.common`.

Passes
------
``structure`` (:mod:`~greenmachine.probe.passes.structure`, graph in :mod:`~greenmachine.probe.passes.graph`)
    No data: channel counts, kernel sizes, parameter and FLOP counts per weighted layer; the
    dataflow graph of its batch-1 forward (depths, path counts, main-path width).
``main`` (:mod:`~greenmachine.probe.passes.main`, codes in :mod:`~greenmachine.probe.passes.codes`)
    The real minibatch with cross-entropy, forward and backward in chunks: reductions of
    W, dL/dW, A, dL/dA, Fisher, SNIP, ZiCo, NASWOT, SWAP, MeCo, jacob_cov.
``synflow`` (:mod:`~greenmachine.probe.passes.synflow`)
    The network in float64 with |W|, BatchNorm bypassed, one all-ones input.
``noise`` (:mod:`~greenmachine.probe.passes.noise`)
    Zen-NAS re-initialisation, Gaussian inputs and their perturbation.
``grasp`` (:mod:`~greenmachine.probe.passes.grasp`, opt-in)
    Exact Hessian-gradient product (double backward) on the whole minibatch.
"""

from __future__ import annotations

from greenmachine.probe.passes.codes import LAYER_KERNEL_RIDGE
from greenmachine.probe.passes.common import ProbeRecord
from greenmachine.probe.passes.grasp import grasp_pass
from greenmachine.probe.passes.main import JACOBIAN_EPSILON, MAIN_CHUNKS, jacobian_covariance_score, main_pass
from greenmachine.probe.passes.noise import NOISE_BATCH, NOISE_SENSITIVITY_SAMPLES, ZEN_MIXUP_GAMMA, noise_pass
from greenmachine.probe.passes.structure import structure_pass
from greenmachine.probe.passes.synflow import synflow_pass

__all__ = [
    "JACOBIAN_EPSILON", "LAYER_KERNEL_RIDGE", "MAIN_CHUNKS", "NOISE_BATCH", "NOISE_SENSITIVITY_SAMPLES",
    "ProbeRecord", "ZEN_MIXUP_GAMMA", "grasp_pass", "jacobian_covariance_score", "main_pass", "noise_pass",
    "structure_pass", "synflow_pass",
]
