"""The optional GraSP pass: exact Hessian-gradient product on the whole minibatch.

Called by :func:`greenmachine.probe.engine.probe_model` last, only with ``grasp=True``: it costs
~3.5 plain passes, more than the rest of the bank together; ``scripts/check_grasp_stability.py``
runs it alone.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from greenmachine.probe.passes.common import ProbeRecord, to_numpy


def grasp_pass(model: nn.Module, layers: list[tuple[str, nn.Module]], images: torch.Tensor,
               labels: torch.Tensor, record: ProbeRecord) -> None:
    """GraSP (Wang et al. 2020) per layer: ``-sum(W * Hg)`` as in the zero-cost-nas reference.

    On the whole minibatch (BN in train mode): ``g = dL/dW`` of the mean cross-entropy, then
    the exact Hessian-gradient product ``Hg = d(g . dL/dW)/dW`` by a double backward, for
    the weights of every Conv2d and Linear layer. Costs about 3.5 plain forward+backward
    passes, hence opt-in. (Cheaper variants were tried and rejected: the Hessian of a few
    images gives scores unrelated to the full-batch ones, and a finite difference of
    gradients disagrees with autograd's Hessian at ReLU kinks.)
    """
    weights = [module.weight for _, module in layers]
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(images), labels)
    first = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    terms = [(f.detach() * f).sum() for f in first if f is not None and f.requires_grad]
    if not terms:
        record.layer["grasp"] = np.zeros(len(layers))
        record.passes.add("grasp")
        return
    product = torch.autograd.grad(torch.stack(terms).sum(), weights, allow_unused=True)
    values = []
    for weight, hessian_gradient in zip(weights, product):
        if hessian_gradient is None:
            values.append(torch.zeros((), dtype=torch.float64, device=weight.device))
        else:
            values.append(-(weight.detach().double() * hessian_gradient.double()).sum())
    record.layer["grasp"] = to_numpy(torch.stack(values))
    record.passes.add("grasp")
