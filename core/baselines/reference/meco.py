"""MeCo (Jiang et al., NeurIPS 2023) as the authors' released code computes it.

Registered in :mod:`greenmachine.baselines.reference.registry` at import; called through it.
``meco`` follows ``correlation/NAS_Bench_201.py`` (``get_score``, measure ``meco``: the script
behind the paper's NAS-Bench-201 correlations, one real training image, ``--batch_size 1``);
``meco_gaussian`` follows ``correlation/foresight/pruners/measures/meco.py`` (one N(0, 1)
image of 64 x 64), both of HamsterMimi/MeCo at commit 0d830dd (read, not copied; written
anew here).
"""

from __future__ import annotations

import torch
from torch import nn

from greenmachine.baselines.reference.common import Preserved, generator
from greenmachine.baselines.reference.registry import register

_PAPER = ("Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue "
          "of Correlation, NeurIPS 2023")
_CODE = "https://github.com/HamsterMimi/MeCo"
_BANK = ("The bank's meco sums the term over the Conv2d/Linear outputs only (in float64), on the first "
         "image of the probe's minibatch. It is kept: its per-layer values are leaves of the evolved "
         "formulas and frozen with the shipped proxies (bank version 3-edd7fad6eb), and it costs nothing "
         "beyond the shared main pass.")
#: Side of the Gaussian image of the released measure (``torch.randn(1, 3, 64, 64)``).
GAUSSIAN_IMAGE_SIDE = 64


def minimum_eigenvalue_term(output) -> float | None:
    """MeCo's term of one module output: min eigenvalue of the correlation of ``output[0]``'s rows.

    ``output[0]`` is the first sample (or the first element of a tuple output, as the
    released hook takes it), reshaped to rows = its first dimension. NaN/inf correlations
    become 0. Returns None for a non-tensor output. The correlation matrix is symmetric, so
    its eigenvalues are real: computed with ``eigvalsh`` in float64 (the release takes the
    real part of ``torch.linalg.eig`` in float32; values agree to rounding). A single row
    gives the 1 x 1 matrix [1] (where the release's ``eig`` of a 0-d tensor stops with an error).
    """
    first = output[0] if isinstance(output, (tuple, list)) else output
    if not isinstance(first, torch.Tensor) or first.dim() == 0:
        return None
    if not isinstance(output, (tuple, list)):
        first = first[0]
    if first.dim() == 0:
        return None
    rows = first.detach().double().reshape(first.shape[0], -1)
    if rows.shape[1] < 2:
        # one value per row: every correlation is NaN, set to 0, and the zero matrix's minimum
        # eigenvalue is 0 (a single row and column included)
        return 0.0
    correlation = torch.corrcoef(rows).reshape(rows.shape[0], rows.shape[0])
    correlation = torch.nan_to_num(correlation, nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(correlation)[0])


def _score(model: nn.Module, image: torch.Tensor) -> float:
    terms: list[float] = []

    def hook(module, inputs, output):
        term = minimum_eigenvalue_term(output)
        if term is not None:
            terms.append(term)

    with Preserved(model), torch.no_grad():
        model.train()
        handles = [module.register_forward_hook(hook) for module in model.modules()]
        try:
            model(image)
        finally:
            for handle in handles:
                handle.remove()
    finite = torch.tensor(terms, dtype=torch.float64)
    return float(finite[torch.isfinite(finite)].sum())


@register(
    "meco",
    bank_baseline="meco",
    paper=_PAPER,
    code_url=_CODE,
    followed="correlation/NAS_Bench_201.py (get_score, measure 'meco') @ 0d830dd",
    summary="One forward pass (train mode) of one real training image; a hook on every module "
            "(model.named_modules(): the network itself, containers, BN, ReLU, convolutions, ...) takes "
            "output[0], reshapes it to C x (H*W), computes the C x C correlation matrix (NaN/inf set to 0) "
            "and its minimum eigenvalue; the score is the sum over hooks of the finite values.",
    bank_difference=_BANK,
)
def meco(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    """MeCo of the paper's NAS-Bench-201 script: every module's output on the first real image.

    Parameters
    ----------
    model : torch.nn.Module
        Initialised network (left unchanged).
    images, labels : torch.Tensor
        The real minibatch (its first image is used; labels unused).
    seed : int
        Unused.

    Returns
    -------
    float
    """
    return _score(model, images[:1])


@register(
    "meco_gaussian",
    bank_baseline="meco",
    paper=_PAPER,
    code_url=_CODE,
    followed="correlation/foresight/pruners/measures/meco.py (get_score) @ 0d830dd",
    summary="As meco, on one N(0, 1) image of 3 x 64 x 64 (whatever the data's size) instead of a "
            "real image: the released zero-cost measure used by its Zero-Cost-PT experiments.",
    bank_difference=_BANK + " The bank uses a real image, as the paper's correlation script does.",
)
def meco_gaussian(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    """MeCo of the released measure: every module's output on one seeded N(0, 1) 64 x 64 image.

    Parameters
    ----------
    model : torch.nn.Module
        Initialised network (left unchanged); must accept 64 x 64 inputs.
    images, labels : torch.Tensor
        The real minibatch (only its channels, device and dtype are used).
    seed : int
        Seeds the Gaussian image.

    Returns
    -------
    float
    """
    shape = (1, images.shape[1], GAUSSIAN_IMAGE_SIDE, GAUSSIAN_IMAGE_SIDE)
    image = torch.randn(shape, generator=generator(seed)).to(images.device, images.dtype)
    return _score(model, image)
