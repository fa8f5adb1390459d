"""The published zero-cost proxies, computed from the probe's statistics.

Called by ``gm baselines`` (table of Kendall tau / Spearman rho against the ground truth),
by reports (baselines beside the evolved proxy on the same networks), by
``scripts/check_baselines_agreement.py`` and the tests. Every baseline is a registered
network-level score derived from a :class:`greenmachine.stats.table.StatisticTable` built from
:func:`greenmachine.probe.probe_many`; none runs a network itself. Higher scores mean "predicted
better" for every baseline (the papers' sign conventions).

Definitions (see :mod:`greenmachine.probe.passes` and :mod:`greenmachine.probe.statistics` for how each
statistic is measured; all on one seeded real minibatch at initialisation):

========== ===================================================================== =========================================
name       score                                                                 reference
========== ===================================================================== =========================================
params     trainable parameters                                                  (cost baseline)
flops      multiply-accumulates per image                                        (cost baseline)
grad_norm  sum over layers of ||dL/dW||                                          Abdelfattah et al., ICLR 2021
snip       sum |W * dL/dW|                                                       Lee et al., ICLR 2019
grasp      -sum W * (H dL/dW), exact (opt-in probe pass: probe with grasp=True)    Wang et al., ICLR 2020
fisher     sum over channels 0.5 mean_n (sum_hw A * dL/dA)^2                     Turner et al., ICLR 2020
synflow    sum |W * dR/dW|, |W|, no BN, float64, all-ones input                  Tanaka et al., NeurIPS 2020
logsynflow sum |W * log(dR/dW + 1)| (same pass)                                  Cavagnero et al. (FreeREA), WACV 2023
jacob_cov  -sum(log(v + k) + 1/(v + k)), v eigenvalues of corr(dsum(f)/dx)       Mellor et al., arXiv 2006.04647 (v1)
naswot     log|sum_ReLU (C C^T + (1 - C)(1 - C)^T)|, C binary ReLU codes (*)      Mellor et al., ICML 2021
zen        log E|f(x) - f(x + 0.01 n)| + sum_BN log sqrt(mean running var)      Lin et al., ICCV 2021
meco       sum over layers of min eig of the channel correlation (1 sample)      Jiang et al., NeurIPS 2023
zico       sum over layers of log sum_w mean|g| / std(g) across batch chunks     Li et al., ICLR 2023
swap       distinct sample-wise sign patterns over all ReLU units (*)           Peng et al., ICLR 2024
========== ===================================================================== =========================================

(*) every ReLU-family call of the forward pass, module or functional (``nn.ReLU``, ``F.relu``,
``x.relu()``, ``F.relu6``, leaky ReLU, ...; see :mod:`greenmachine.probe.passes.activations`). A
network with none has no codes: both are undefined for it (its table value is a 0
placeholder; scoring it through :mod:`greenmachine.proxies` gives NaN and a warning).

Reference versions (authors' released code): the bank definitions above are frozen with the
bank version (part of every cache key and of the shipped proxies' leaves), and some differ
from the authors' released code. :mod:`greenmachine.baselines.reference` computes these as released,
each with its metadata (paper, code URL, file and commit followed, how the bank differs and
why the bank keeps its variant); ``gm baselines --reference`` shows them as rows
``"<name> (authors' code)"`` and ``scripts/reference_baselines_tau.py`` compares the two:

================ ==================== ===================================================================
reference        bank baseline        main difference from the bank variant
================ ==================== ===================================================================
fisher           fisher               x prod(weight.shape[1:]) per channel; Linear per unit; whole batch
meco             meco                 every module's output (BN, ReLU, containers), not only Conv/Linear
meco_gaussian    meco                 as meco on one N(0, 1) 64 x 64 image (the released measure)
zico             zico                 none in substance (agree to rounding for an even batch)
zico_accumulated zico                 first release: gradients not zeroed between the two batches
zen              zen                  mean of 32 repeats (bank: 1), BN running statistics not reset
swap             swap                 mean of 32 N(0, 1) re-initialisations, ReLUs of 4-D inputs only
swap_regularised swap                 x exp(-(params/1e3 - mu)^2 / sigma) (not in the bank)
================ ==================== ===================================================================

Known behaviour, kept as published: ``meco`` correlates *negatively* with accuracy on NATS-Bench
SSS (MeCo's paper reports Spearman rho -0.79 / -0.87 / -0.86 on SSS CIFAR-10 / CIFAR-100 /
ImageNet16-120, which motivated its MeCo_opt variant); reports show it with that sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from greenmachine.stats.table import NetworkStatistics, StatisticTable


@dataclass(frozen=True)
class Baseline:
    """One published proxy.

    Attributes
    ----------
    name : str
        Short name as used in the literature (``synflow``, ``naswot``, ...).
    statistic : str
        The probe network statistic it reads.
    reference : str
        The paper that defines it.
    description : str
        One line: what the score is.
    """

    name: str
    statistic: str
    reference: str
    description: str

    def score(self, table: StatisticTable) -> np.ndarray:
        """Return the ``(N,)`` float64 scores of the networks of ``table``."""
        return table.network_statistic(self.statistic).detach().cpu().numpy().astype(np.float64)


BASELINES: dict[str, Baseline] = {}


def _add(name: str, statistic: str, reference: str, description: str) -> None:
    if name in BASELINES:
        raise ValueError(f"baseline {name!r} is already registered")
    BASELINES[name] = Baseline(name, statistic, reference, description)


_add("params", "parameter_count", "NATS-Bench cost baseline (Dong et al., TPAMI 2021)",
     "trainable parameters")
_add("flops", "flop_count", "NATS-Bench cost baseline (Dong et al., TPAMI 2021)",
     "multiply-accumulates per image")
_add("grad_norm", "grad_norm_total", "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
     "sum over layers of the gradient norm")
_add("snip", "snip_total", "Lee et al., SNIP: Single-shot Network Pruning, ICLR 2019",
     "sum |W * dL/dW|")
_add("grasp", "grasp_total", "Wang et al., Picking Winning Tickets Before Training (GraSP), ICLR 2020",
     "-sum W * Hg (Hessian-gradient product)")
_add("fisher", "fisher_total", "Turner et al., BlockSwap (Fisher pruning), ICLR 2020",
     "sum of channel Fisher saliencies")
_add("synflow", "synflow_total", "Tanaka et al., Pruning neural networks without any data (SynFlow), NeurIPS 2020",
     "sum |W * dR/dW| on the linearised network")
_add("logsynflow", "logsynflow_total", "Cavagnero et al., FreeREA, WACV 2023",
     "sum |W * log(dR/dW + 1)|")
_add("jacob_cov", "jacob_cov", "Mellor et al., Neural Architecture Search without Training, arXiv 2006.04647v1",
     "Jacobian correlation eigenvalue score")
_add("naswot", "naswot", "Mellor et al., Neural Architecture Search without Training, ICML 2021",
     "log-determinant of the binary-code kernel")
_add("zen", "zen_score", "Lin et al., Zen-NAS, ICCV 2021", "log expected feature change under input perturbation + BN scales")
_add("meco", "meco", "Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward Pass, NeurIPS 2023",
     "sum of minimum eigenvalues of channel correlation matrices")
_add("zico", "zico", "Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, ICLR 2023",
     "sum of log inverse coefficients of variation of gradients")
_add("swap", "swap", "Peng et al., SWAP-Score: A Sample-Wise Activation Pattern Score, ICLR 2024",
     "number of distinct sample-wise activation patterns")


def baseline_names() -> list[str]:
    """Return the baseline names in registration order."""
    return list(BASELINES)


def describe_baselines() -> list[tuple[str, str, str]]:
    """Return ``(name, description, reference)`` of every baseline."""
    return [(b.name, b.description, b.reference) for b in BASELINES.values()]


def baseline_scores(table: StatisticTable | Sequence[NetworkStatistics],
                    names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Compute baseline scores for every network of a statistic table.

    Parameters
    ----------
    table : StatisticTable or sequence of NetworkStatistics
        Probe results (a sequence is stacked with :meth:`StatisticTable.from_networks`).
    names : sequence of str, optional
        Baselines to compute (default: every baseline whose statistic the table holds, so
        ``grasp`` only when the networks were probed with ``grasp=True``).

    Returns
    -------
    dict of str -> numpy.ndarray
        Name -> ``(N,)`` float64 scores (higher = predicted better).

    Raises
    ------
    KeyError
        Unknown baseline name, or a requested baseline whose statistic the table lacks.
    """
    if not isinstance(table, StatisticTable):
        table = StatisticTable.from_networks(list(table))
    available = set(table.network_statistic_names)
    if names is None:
        selected = [n for n, b in BASELINES.items() if b.statistic in available]
    else:
        selected = list(names)
    unknown = [n for n in selected if n not in BASELINES]
    if unknown:
        raise KeyError(f"unknown baseline(s) {', '.join(unknown)}; known: {', '.join(BASELINES)}")
    missing = [n for n in selected if BASELINES[n].statistic not in available]
    if missing:
        raise KeyError(f"the statistic table lacks what baseline(s) {', '.join(missing)} need "
                       "(grasp needs probing with grasp=True)")
    return {name: BASELINES[name].score(table) for name in selected}


def rank_correlations(scores: np.ndarray, accuracy: np.ndarray) -> tuple[float, float]:
    """Kendall tau-b and Spearman rho of ``scores`` against ``accuracy``.

    Returns ``(nan, nan)`` when undefined (fewer than 2 networks, constant or non-finite
    scores).
    """
    from scipy.stats import kendalltau, spearmanr

    scores = np.asarray(scores, dtype=np.float64)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    if scores.shape != accuracy.shape:
        raise ValueError(f"scores {scores.shape} and accuracy {accuracy.shape} differ in shape")
    if scores.size < 2 or not np.all(np.isfinite(scores)) or np.ptp(scores) == 0 or np.ptp(accuracy) == 0:
        return math.nan, math.nan
    tau = kendalltau(scores, accuracy, variant="b").statistic
    rho = spearmanr(scores, accuracy).statistic
    return float(tau), float(rho)


def baseline_correlations(scores: Mapping[str, np.ndarray], accuracy: np.ndarray) -> dict[str, tuple[float, float]]:
    """Return ``{name: (kendall_tau_b, spearman_rho)}`` of every score against ``accuracy``."""
    return {name: rank_correlations(values, accuracy) for name, values in scores.items()}
