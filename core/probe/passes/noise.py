"""The noise pass: Zen-score and per-layer noise sensitivity on Gaussian inputs.

Called by :func:`greenmachine.probe.engine.probe_model` after the synflow pass. The network is
temporarily re-initialised as in Zen-NAS (N(0, 1) conv/linear weights, BN weight 1, bias 0,
through :func:`greenmachine.probe.initialisation.initialise`), BN in train mode, a Gaussian batch of
``min(batch, 16)`` images and its perturbation by 0.01 x Gaussian (the reference uses the
data batch size; 16 keeps the pass cheap).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from greenmachine.probe.initialisation import UNIT_GAUSSIAN, initialise
from greenmachine.probe.passes.pooling import GlobalPoolingInputs
from greenmachine.probe.passes.common import Preserved, ProbeRecord, non_finite_description, set_training, to_numpy

#: Zen-score perturbation size (Lin et al. 2021, ``mixup_gamma``).
ZEN_MIXUP_GAMMA = 1e-2
#: Images of the noise pass (Gaussian inputs): ``min(batch_size, NOISE_BATCH)``.
NOISE_BATCH = 16
#: Samples whose per-layer outputs are compared for noise sensitivity.
NOISE_SENSITIVITY_SAMPLES = 4
#: Added to the probe seed for the Zen-NAS weights (they differ from the probe's weights).
GAUSSIAN_SEED_OFFSET = 7919


def gaussian_initialise(model: nn.Module, seed: int) -> nn.Module:
    """Re-initialise ``model`` in place as in Zen-NAS, in training mode (fresh BN statistics)."""
    return initialise(model, int(seed) + GAUSSIAN_SEED_OFFSET, UNIT_GAUSSIAN).train()


def gaussian_copy(model: nn.Module, seed: int) -> nn.Module:
    """Return a deep copy of ``model`` re-initialised as in Zen-NAS (used by the naive benchmark)."""
    return gaussian_initialise(copy.deepcopy(model), seed)


def noise_pass(model: nn.Module, images: torch.Tensor, seed: int, record: ProbeRecord,
               batch: int = NOISE_BATCH, layers: list[tuple[str, nn.Module]] | None = None) -> None:
    """Zen-score (Lin et al. 2021) and per-layer noise sensitivity on Gaussian inputs.

    On a Zen-style N(0, 1)-initialised copy in train mode: ``x`` and ``n`` Gaussian,
    ``zen = log(mean_b sum |f(x) - f(x + 0.01 n)|) + sum_BN log sqrt(mean running_var)``
    with ``f`` the features before global average pooling (module or functional, see
    :mod:`greenmachine.probe.passes.pooling`; without one, the last weighted layer's input). Per weighted layer:
    ``noise_sensitivity = ||A(x + 0.01 n) - A(x)|| / ||A(x)||`` on the first samples.
    The model is restored afterwards.
    """
    from greenmachine.benchmark.images import noise_batch

    size = max(1, min(int(batch), images.shape[0]))
    like = images[:size]
    first = noise_batch(like, seed)
    mixed = first + ZEN_MIXUP_GAMMA * noise_batch(like, int(seed) + 1)
    with Preserved(model) as preserved:
        initialise(model, int(seed) + GAUSSIAN_SEED_OFFSET, UNIT_GAUSSIAN, modules=preserved.modules)
        set_training(preserved.modules, True)
        _zen_score(model, first, mixed, record, layers, preserved.modules)
    record.passes.add("noise")


def _zen_score(clone: nn.Module, first: torch.Tensor, mixed: torch.Tensor, record: ProbeRecord,
               layers: list[tuple[str, nn.Module]] | None, modules: list[nn.Module]) -> None:
    from greenmachine.spaces import weighted_layers

    layers = layers if layers is not None else weighted_layers(clone)
    tap = layers[-1][1]
    kept = NOISE_SENSITIVITY_SAMPLES
    stored: dict[int, torch.Tensor] = {}
    features: list[torch.Tensor] = []
    sensitivity = torch.zeros(len(layers), dtype=torch.float64, device=first.device)
    position_of = {id(module): index for index, (_, module) in enumerate(layers)}
    phase = {"value": 0}

    def layer_hook(module, inputs, output):
        index = position_of[id(module)]
        values = output.detach()[:kept].double()
        if phase["value"] == 0:
            stored[index] = values
        else:
            reference = stored.pop(index)
            norm = torch.linalg.vector_norm(reference)
            change = torch.linalg.vector_norm(values - reference)
            sensitivity[index] = change / norm if norm > 0 else change * 0.0

    last_layer_inputs: list[torch.Tensor] = []

    def tap_hook(module, inputs):
        last_layer_inputs.append(inputs[0].detach().double())

    handles = [module.register_forward_hook(layer_hook) for _, module in layers]
    handles.append(tap.register_forward_pre_hook(tap_hook))
    try:
        with torch.no_grad():
            for images in (first, mixed):
                # the features before global average pooling (module or functional), else the
                # last weighted layer's input
                with GlobalPoolingInputs(lambda tensor: tensor.detach().double()) as pooling:
                    clone(images)
                features.append(pooling.inputs[-1] if pooling.inputs else last_layer_inputs[-1])
                phase["value"] = 1
    finally:
        for handle in handles:
            handle.remove()
    problem = non_finite_description(torch.cat([features[0].reshape(-1), features[1].reshape(-1)]))
    if problem is not None:
        record.broken_passes["noise"] = (f"its features on the noise pass's Gaussian inputs (N(0, 1) weights) are not "
                                         f"finite ({problem})")
    difference = (features[0] - features[1]).abs()
    per_sample = difference.sum(dim=tuple(range(1, difference.dim())))
    score = float(torch.log(per_sample.mean()))
    for module in modules:
        if isinstance(module, nn.BatchNorm2d) and module.running_var is not None:
            score += float(torch.log(torch.sqrt(module.running_var.double().mean())))
    record.network["zen_score"] = score
    record.layer["noise_sensitivity"] = to_numpy(sensitivity)
