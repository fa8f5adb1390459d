"""Zen-score (Lin et al., ICCV 2021) as the Zen-NAS release computes it.

Registered in :mod:`greenmachine.baselines.reference.registry` at import; called through it.
Follows ``ZeroShotProxy/compute_zen_score.py`` of idstcv/ZenNAS at commit d1d617e
(``network_weight_gaussian_init``, ``compute_nas_score``; its command-line defaults
``--repeat_times 32``, ``--mixup_gamma 1e-2``). Read, not copied; written anew here.
"""

from __future__ import annotations

import torch
from torch import nn

from greenmachine.probe.passes.pooling import GlobalPoolingInputs
from greenmachine.baselines.reference.common import Preserved, gaussian_reinitialise, generator
from greenmachine.baselines.reference.registry import register

#: Repeats averaged (``--repeat_times``).
ZEN_REPEATS = 32
#: Perturbation size (``--mixup_gamma``).
ZEN_MIXUP_GAMMA = 1e-2


def pre_pooling_features(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The features before global average pooling (``forward_pre_GAP`` of Zen-NAS networks).

    Uses the model's own ``forward_pre_GAP`` when it has one, else the input of the last
    global average pooling of a forward pass, by module or functional
    (``nn.AdaptiveAvgPool2d``, ``F.adaptive_avg_pool2d``, a whole-map ``F.avg_pool2d``,
    ``x.mean((2, 3))``; see :mod:`greenmachine.probe.passes.pooling`).

    Raises
    ------
    ValueError
        For a model with neither.
    """
    if hasattr(model, "forward_pre_GAP"):
        return model.forward_pre_GAP(inputs)
    with GlobalPoolingInputs() as pooling:
        model(inputs)
    if not pooling.inputs:
        raise ValueError("zen needs the features before global average pooling: the model has no "
                         "forward_pre_GAP method and its forward pass pools no 4-D feature map globally")
    return pooling.inputs[-1]


def zen_repeats(model: nn.Module, images: torch.Tensor, seed: int, repeats: int = ZEN_REPEATS,
                mixup_gamma: float = ZEN_MIXUP_GAMMA) -> list[float]:
    """The per-repeat Zen-scores (their mean is :func:`zen`); the model is left unchanged.

    Each repeat: Gaussian re-initialisation, ``x`` and ``e`` ~ N(0, 1) of the minibatch's
    shape, ``log mean_b sum |f(x) - f(x + gamma e)| + sum_BN2d log sqrt(mean running_var)``
    with ``f`` the pre-pooling features. BatchNorm in train mode; its running statistics
    start from the model's and carry over between repeats, as in the released loop. Draws
    per repeat, from one generator seeded with ``seed``: the weights (module order), ``x``, ``e``.
    """
    draws = generator(seed)
    shape = tuple(images.shape)
    scores = []
    with Preserved(model), torch.no_grad():
        model.train()
        for _ in range(int(repeats)):
            gaussian_reinitialise(model, draws)
            first = torch.randn(shape, generator=draws).to(images.device, images.dtype)
            second = torch.randn(shape, generator=draws).to(images.device, images.dtype)
            output = pre_pooling_features(model, first)
            mixed = pre_pooling_features(model, first + mixup_gamma * second)
            score = torch.log((output - mixed).abs().sum(dim=tuple(range(1, output.dim()))).mean())
            for module in model.modules():
                if isinstance(module, nn.BatchNorm2d):
                    score = score + torch.log(torch.sqrt(module.running_var.mean()))
            scores.append(float(score))
    return scores


@register(
    "zen",
    bank_baseline="zen",
    paper="Lin et al., Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition, ICCV 2021",
    code_url="https://github.com/idstcv/ZenNAS",
    followed="ZeroShotProxy/compute_zen_score.py @ d1d617e",
    summary="32 repeats, each: Conv2d/Linear weights ~ N(0, 1), biases 0, BN2d/GroupNorm weight 1 bias 0 "
            "(running statistics not reset), BN in train mode, Gaussian input x and perturbation e of the "
            "data's batch and resolution, score log(mean_b sum|f(x) - f(x + 0.01 e)|) + sum over BN2d of "
            "log sqrt(mean running_var), f the features before global average pooling; the mean over repeats.",
    bank_difference="The bank's zen_score takes 1 repeat on min(batch, 16) Gaussian images, with the "
                    "BatchNorm running statistics reset before it (same mixup 1e-2, N(0, 1) weights, train "
                    "mode). It is kept: it is a leaf of the evolved formulas, frozen with the shipped "
                    "proxies (bank version 3-edd7fad6eb), and costs 2 forward passes instead of 64.",
)
def zen(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    """Zen-score of the Zen-NAS release: the mean of 32 Gaussian repeats.

    Parameters
    ----------
    model : torch.nn.Module
        Initialised network (left unchanged).
    images, labels : torch.Tensor
        The real minibatch: only its shape, device and dtype are used.
    seed : int
        Seeds the weights and the Gaussian inputs.

    Returns
    -------
    float
    """
    return float(sum(zen_repeats(model, images, seed)) / ZEN_REPEATS)
