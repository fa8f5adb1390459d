"""SWAP-Score and regularised SWAP-Score (Peng et al., ICLR 2024) as the authors' release computes them.

Registered in :mod:`greenmachine.baselines.reference.registry` at import; called through it.
Follows ``src/metrics/swap.py`` (``SampleWiseActivationPatterns``, ``SWAP``,
``cal_regular_factor``), ``src/utils/utilities.py`` (``count_parameters`` in thousands,
``network_weight_gaussian_init``) and ``correlation.py`` (``--repeats 32``,
``--input_samples 16``, the mean over repeats) of pym1024/SWAP at commit f6049f7. Read, not
copied; written anew here.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from greenmachine.probe.passes.activations import SMOOTH, ActivationCalls
from greenmachine.baselines.reference.common import Preserved, gaussian_reinitialise, generator
from greenmachine.baselines.reference.registry import register

#: Repeats averaged (``correlation.py --repeats``).
SWAP_REPEATS = 32
#: Default regulariser centre, in thousands of parameters: the mean parameter count of the
#: 15,625 NATS-Bench TSS networks (CIFAR-10 heads). The paper's values of mu and sigma are not
#: in the released code (``correlation.py`` runs unregularised), so GreenMachine centres the
#: regulariser on the space's size distribution; pass others to :func:`regularised_swap`.
TSS_MU_THOUSANDS = 398.554
#: Default regulariser width: 2 x the variance of those counts (thousands squared), so the
#: factor exp(-(P - mu)^2 / sigma) is a Gaussian with the counts' standard deviation (232.79 K).
TSS_SIGMA = 2 * 232.7915 ** 2

_PAPER = "Peng et al., SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR 2024"
_CODE = "https://github.com/pym1024/SWAP"


def parameter_thousands(model: nn.Module) -> float:
    """``count_parameters``: every named parameter not named ``auxiliary``, in thousands."""
    return sum(p.numel() for name, p in model.named_parameters() if "auxiliary" not in name) / 1e3


def regular_factor(model: nn.Module, mu: float, sigma: float) -> float:
    """``cal_regular_factor``: ``exp(-(P - mu)^2 / sigma)``, ``P`` in thousands of parameters."""
    return math.exp(-((parameter_thousands(model) - mu) ** 2) / sigma)


def pattern_count(model: nn.Module, images: torch.Tensor) -> int:
    """Distinct sample-wise activation patterns of one forward pass (``SWAP.forward``).

    The outputs of every ReLU-family call whose input is 4-D (the release hooks ``nn.ReLU``
    modules; here module or functional, see :mod:`greenmachine.probe.passes.activations`), signs
    taken, flattened per sample and concatenated (samples x units); the number of distinct
    unit columns.

    Raises
    ------
    ValueError
        A model with no ReLU-family activation of a 4-D tensor (no patterns to count).
    """
    outputs: list[torch.Tensor] = []

    def record(kind, name, tensor, output, codes):
        if kind != SMOOTH and tensor.dim() == 4:
            outputs.append(torch.sign(output.detach()).reshape(images.shape[0], -1))

    activations = ActivationCalls(record, rows=images.shape[0])
    with activations:
        model(images)
    if not outputs:
        raise ValueError(f"swap needs ReLU-family activations of 4-D feature maps; the model has none "
                         f"(its activations: {activations.describe_seen()})")
    return distinct_columns(torch.cat(outputs, dim=1))


#: Most samples whose sign columns are packed into one int64 key (3^39 < 2^63).
_PACKED_SAMPLES = 39


def distinct_columns(signs: torch.Tensor) -> int:
    """Number of distinct columns of a samples x units matrix of signs (-1, 0, 1).

    ``torch.unique(signs.T, dim=0)`` as the release counts them; for up to 39 samples each
    column is packed into one base-3 integer first (the same count, far faster on the CPU).
    """
    if signs.shape[0] > _PACKED_SAMPLES:
        return int(torch.unique(signs.T, dim=0).shape[0])
    digits = (signs + 1).to(torch.int64)
    powers = 3 ** torch.arange(signs.shape[0], dtype=torch.int64, device=signs.device)
    return int(torch.unique((digits * powers[:, None]).sum(dim=0)).numel())


def swap_repeats(model: nn.Module, images: torch.Tensor, seed: int, repeats: int = SWAP_REPEATS) -> list[int]:
    """Pattern counts of ``repeats`` Gaussian re-initialisations (train mode; model left unchanged).

    Weights drawn in module order from one generator seeded with ``seed``; BatchNorm running
    statistics carry over between repeats, as in the released loop.
    """
    draws = generator(seed)
    counts = []
    with Preserved(model), torch.no_grad():
        model.train()
        for _ in range(int(repeats)):
            gaussian_reinitialise(model, draws)
            counts.append(pattern_count(model, images))
    return counts


_SUMMARY = ("32 repeats on the real minibatch (16 images in the release), each after Zen-NAS's Gaussian "
            "re-initialisation (N(0, 1) weights, BN weight 1 bias 0), BN in train mode, no gradient: the "
            "outputs of every nn.ReLU with a 4-D input are flattened per sample and concatenated, their "
            "signs transposed to units x samples, and the distinct rows counted; the mean over repeats.")


@register(
    "swap",
    bank_baseline="swap",
    paper=_PAPER,
    code_url=_CODE,
    followed="src/metrics/swap.py + src/utils/utilities.py + correlation.py @ f6049f7",
    summary=_SUMMARY,
    bank_difference="The bank's swap counts the patterns of one pass at the probe's initialisation "
                    "(Kaiming fan-out weights, not Gaussian), over every ReLU (any input rank), with "
                    "BatchNorm normalising each of the main pass's 2 chunks. It is kept: a leaf of the "
                    "evolved formulas, frozen with the shipped proxies, and free given the main pass "
                    "(the release costs 32 forward passes).",
)
def swap(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    """SWAP-Score of the release: the mean pattern count over 32 Gaussian re-initialisations.

    Parameters
    ----------
    model : torch.nn.Module
        Initialised network (left unchanged).
    images, labels : torch.Tensor
        The real minibatch (labels unused).
    seed : int
        Seeds the Gaussian weights.

    Returns
    -------
    float
    """
    return float(sum(swap_repeats(model, images, seed)) / SWAP_REPEATS)


def regularised_swap(model: nn.Module, images: torch.Tensor, seed: int,
                     mu: float = TSS_MU_THOUSANDS, sigma: float = TSS_SIGMA) -> float:
    """Regularised SWAP-Score: :func:`swap` x ``exp(-(P - mu)^2 / sigma)``, ``P`` in thousands of parameters.

    Raises
    ------
    ValueError
        For ``sigma <= 0``.
    """
    if not sigma > 0:
        raise ValueError(f"regularised SWAP needs sigma > 0, got {sigma!r}")
    return float(sum(count * regular_factor(model, mu, sigma) for count in swap_repeats(model, images, seed))
                 / SWAP_REPEATS)


@register(
    "swap_regularised",
    bank_baseline="swap",
    paper=_PAPER,
    code_url=_CODE,
    followed="src/metrics/swap.py (regular=True: cal_regular_factor) + utilities.py + correlation.py @ f6049f7",
    summary=_SUMMARY + " Each repeat's count is multiplied by exp(-(P - mu)^2 / sigma), P the parameter "
                       f"count in thousands; here mu = {TSS_MU_THOUSANDS} K and sigma = {TSS_SIGMA:.0f} "
                       "(GreenMachine's NATS-Bench TSS choice: the paper's values are not in the release).",
    bank_difference="The bank has only the unregularised count (see swap); a regularised variant would "
                    "multiply it by a function of parameter_count, which an evolved formula can build "
                    "from bank leaves. No bank statistic is added (the bank is frozen).",
    derived_from="swap",
    derive=lambda model, value: value * regular_factor(model, TSS_MU_THOUSANDS, TSS_SIGMA),
)
def swap_regularised(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    """Regularised SWAP-Score with the NATS-Bench TSS defaults (:data:`TSS_MU_THOUSANDS`, :data:`TSS_SIGMA`).

    Parameters
    ----------
    model : torch.nn.Module
        Initialised network (left unchanged).
    images, labels : torch.Tensor
        The real minibatch (labels unused).
    seed : int
        Seeds the Gaussian weights.

    Returns
    -------
    float
    """
    return regularised_swap(model, images, seed)
