"""Fisher (Turner et al., BlockSwap) as the zero-cost-NAS release computes it.

Registered in :mod:`greenmachine.baselines.reference.registry` at import; called through it.
Follows ``foresight/pruners/measures/fisher.py`` and ``foresight/pruners/p_utils.py``
(``get_layer_metric_array``, ``reshape_elements``) and the summation of
``foresight/pruners/predictive.py`` (``find_measures``: sum of every element) of
SamsungLabs/zero-cost-nas at commit a43bfbc (read, not copied; written anew here).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from greenmachine.baselines.reference.common import Preserved, weighted_modules
from greenmachine.baselines.reference.registry import register


@register(
    "fisher",
    bank_baseline="fisher",
    paper="Turner et al., BlockSwap: Fisher-guided Block Substitution, ICLR 2020 "
          "(as zero-cost proxy: Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021)",
    code_url="https://github.com/SamsungLabs/zero-cost-nas",
    followed="foresight/pruners/measures/fisher.py + p_utils.py + predictive.py @ a43bfbc",
    summary="Train mode, one forward/backward of the whole minibatch with mean cross-entropy. For every "
            "Conv2d/Linear output A and its gradient G: per sample n and output channel k, "
            "g_nk = sum over positions of A*G (a Linear layer: g_nk = a_nk*g_nk per unit); channel "
            "saliency 0.5*mean_n g_nk^2, broadcast to every weight of that channel "
            "(x prod(weight.shape[1:]) = C_in*k_h*k_w, or in_features) and summed over all layers.",
    bank_difference="The bank's fisher_total sums the channel saliencies without the broadcast factor, "
                    "collapses a Linear layer to one term 0.5*mean_n (sum_k a_nk g_nk)^2, and runs the "
                    "batch in the main pass's 2 chunks (BatchNorm normalises each chunk). It is kept: "
                    "its per-layer values are leaves of the evolved formulas and frozen with the shipped "
                    "proxies (bank version 3-edd7fad6eb), and it costs nothing beyond the shared pass.",
)
def fisher(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    """Fisher score of the zero-cost-NAS release: broadcast channel saliencies summed over all weights.

    Parameters
    ----------
    model : torch.nn.Module
        Initialised network (left unchanged).
    images, labels : torch.Tensor
        The real minibatch, on the model's device.
    seed : int
        Unused (the score is deterministic given the model and batch).

    Returns
    -------
    float
    """
    layers = weighted_modules(model)
    saliency: dict[int, torch.Tensor] = {}

    def keep_gradient(module, output):
        # the hook holds a detached view, not ``output`` itself: a hook on a tensor that
        # refers back to that tensor is a cycle the collector cannot see, and it would keep
        # every network's graph and activations alive
        kept = output.detach()

        def on_gradient(grad):
            values, grad = kept.double(), grad.detach().double()
            per_channel = (values * grad).sum(dim=tuple(range(2, values.dim()))) if values.dim() > 2 else values * grad
            term = 0.5 * per_channel.square().mean(dim=0)
            saliency[id(module)] = saliency[id(module)] + term if id(module) in saliency else term
        output.register_hook(on_gradient)

    with Preserved(model):
        model.train()
        handles = [module.register_forward_hook(lambda m, i, o: keep_gradient(m, o)) for _, module in layers]
        try:
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
        finally:
            for handle in handles:
                handle.remove()
        total = 0.0
        for _, module in layers:
            if id(module) in saliency:
                total += float(saliency[id(module)].abs().sum()) * math.prod(module.weight.shape[1:])
    return total
