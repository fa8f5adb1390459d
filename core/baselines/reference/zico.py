"""ZiCo (Li et al., ICLR 2023) as the authors' released code computes it.

Registered in :mod:`greenmachine.baselines.reference.registry` at import; called through it.
``zico`` follows ``ZeroShotProxy/compute_zico.py`` of SLDGroup/ZiCo at its newest commit
b0fec65 (``getgrad``, ``caculate_zico``, ``getzico``: gradients zeroed before every batch, a
change of commit d7076d5, 17 Feb 2023); ``zico_accumulated`` follows the first release of
that file (commit bbabe28) and the NAS-Bench port ``correlation/foresight/pruners/measures/zico.py``
of HamsterMimi/MeCo @ 0d830dd, which do not zero them, so the second batch's recorded
gradient is the sum of both. Read, not copied; written anew here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from greenmachine.baselines.reference.common import Preserved, weighted_modules
from greenmachine.baselines.reference.registry import register

_PAPER = "Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, ICLR 2023"
_CODE = "https://github.com/SLDGroup/ZiCo"
#: Batches the minibatch is split into (the NAS-Bench port's ``split_data = 2``).
BATCHES = 2


def inverse_variation_sum(gradients: list[list[torch.Tensor]]) -> float:
    """ZiCo's network score from per-batch weight gradients (``caculate_zico``).

    ``gradients[b][l]`` is layer ``l``'s flattened weight gradient recorded after batch
    ``b``. Per layer: ``s = sum over weights with std > 0 of mean_b |g| / std_b g``
    (population std), and the score adds ``log s`` for every layer with ``s != 0``.
    """
    total = 0.0
    for layer in range(len(gradients[0])):
        stacked = torch.stack([batch[layer] for batch in gradients]).double()
        deviation = stacked.std(dim=0, unbiased=False)
        kept = deviation != 0
        ratio_sum = float((stacked.abs().mean(dim=0)[kept] / deviation[kept]).sum())
        if ratio_sum != 0:
            total += math.log(ratio_sum)
    return total


def _score(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, accumulate: bool) -> float:
    layers = weighted_modules(model)
    count = images.shape[0]
    recorded: list[list[torch.Tensor]] = []
    with Preserved(model):
        model.train()
        model.zero_grad(set_to_none=True)
        for batch in range(BATCHES):
            start, end = batch * count // BATCHES, (batch + 1) * count // BATCHES
            if not accumulate:
                model.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(images[start:end]), labels[start:end])
            loss.backward()
            recorded.append([module.weight.grad.detach().reshape(-1).clone() if module.weight.grad is not None
                             else None for _, module in layers])
    # a layer without a gradient is left out (the NAS-Bench port skips it)
    present = [index for index in range(len(layers)) if all(batch[index] is not None for batch in recorded)]
    return inverse_variation_sum([[batch[index] for index in present] for batch in recorded])


_SUMMARY = ("Train mode; the minibatch is split into 2 halves (start = b*N//2), each a batch with mean "
            "cross-entropy and a backward pass; after each the weight gradient of every Conv2d/Linear is "
            "recorded. Per layer: sum over weights with non-zero std of mean|g| / std(g) across the 2 "
            "records (population std); the score is the sum over layers of the log of that sum (layers "
            "whose sum is 0 add nothing).")


@register(
    "zico",
    bank_baseline="zico",
    paper=_PAPER,
    code_url=_CODE,
    followed="ZeroShotProxy/compute_zico.py @ b0fec65 (zero_grad per batch since d7076d5)",
    summary=_SUMMARY + " Gradients are zeroed before each batch.",
    bank_difference="None in substance: the bank's zico uses the main pass's 2 chunks with losses "
                    "sum/N (each chunk's gradient is half the reference's; the ratio mean|g|/std is "
                    "scale-free), zeroes between chunks by differencing, and normalises BatchNorm per "
                    "chunk, so for an even batch the two agree to rounding (tested). For an odd batch "
                    "the bank's first chunk has the extra image (torch.tensor_split) where the release's "
                    "second half has it. Kept as the bank leaf of the evolved formulas.",
)
def zico(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    """ZiCo of the newest release: gradients of two half-batches, zeroed in between.

    Parameters
    ----------
    model : torch.nn.Module
        Initialised network (left unchanged).
    images, labels : torch.Tensor
        The real minibatch (at least 2 images).
    seed : int
        Unused.

    Returns
    -------
    float
    """
    return _score(model, images, labels, accumulate=False)


@register(
    "zico_accumulated",
    bank_baseline="zico",
    paper=_PAPER,
    code_url=_CODE,
    followed="ZeroShotProxy/compute_zico.py @ bbabe28 (first release) = MeCo's "
             "correlation/foresight/pruners/measures/zico.py @ 0d830dd",
    summary=_SUMMARY + " Gradients are not zeroed between the batches, so the second record is "
                       "g1 + g2 (the first release; the NAS-Bench port used by later papers' tables).",
    bank_difference="The bank (and the newest release) zero the gradients between batches: records "
                    "g1, g2 instead of g1, g1 + g2. The bank keeps the newest release's definition "
                    "(its values are leaves of the evolved formulas, frozen with the shipped proxies).",
)
def zico_accumulated(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    """ZiCo of the first release: gradients of two half-batches accumulated (not zeroed).

    Parameters
    ----------
    model : torch.nn.Module
        Initialised network (left unchanged).
    images, labels : torch.Tensor
        The real minibatch (at least 2 images).
    seed : int
        Unused.

    Returns
    -------
    float
    """
    return _score(model, images, labels, accumulate=True)
