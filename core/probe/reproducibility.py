"""How reproducible each probe statistic is across CPUs, and the tolerance tests allow.

Called by ``tests/unit/probe/test_probe_values_frozen.py`` (which compares fresh probes with the frozen
values within these tolerances), by ``scripts/probe_tolerances.py`` (which measures the
differences this table records) and by the README's reproducibility table.

A CPU's kernels (AVX-512, AVX2 or scalar paths in ATen and oneDNN) sum in different orders, so
a statistic is reproducible across machines only to the precision its computation allows.
Each entry gives the largest difference measured between this machine's default kernels and
three other kernel families (``ATEN_CPU_CAPABILITY=avx2`` with oneDNN capped at AVX2, the
scalar kernels, and oneDNN switched off), over the 19 networks and batches of the frozen-values
test, **relative to the statistic's scale in that network** (its largest absolute value over
the layers, or the value itself for a network statistic), and the tolerance derived from it:

* ``exact``: counts and shapes; no kernel moved them; compared exactly. The dataflow-graph
  statistics (depths, path counts, main-path widths) are exact too: integers counted in
  Python from the traced graph, no tensor kernel is involved (the log of a path count and a
  mean width are one float operation on those integers); measured with ``--fast``: 0.
* ``rounding``: forward-only or float64 reductions; moved by < 1e-4; tolerance 10x the
  measured difference, at least 1e-4.
* ``accumulated``: sums over backward-pass gradients (rounding grows through the layers);
  moved by up to ~4 %; tolerance 3x the measured difference.
* ``sign count``: counts of activation signs (a unit near zero flips); tolerance 3x.
* ``ill-conditioned``: a mean of values of both signs (cancellation) or a ratio with a small
  standard deviation in the denominator; a single layer moved by up to 24 % of the scale.
  Tolerance 2x the measured difference. Formulas built on these are the least portable;
  the designed proxies' tau is re-measured across kernels by ``scripts/proxy_reproducibility.py``.

Measured on an AMD EPYC with AVX-512 (torch 2.13.0, one thread) by
``python scripts/probe_tolerances.py`` (two torch threads gave bit-identical values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXACT = "exact"
ROUNDING = "rounding"
ACCUMULATED = "accumulated"
SIGN_COUNT = "sign count"
ILL_CONDITIONED = "ill-conditioned"


@dataclass(frozen=True)
class Tolerance:
    """The cross-kernel reproducibility of one statistic.

    Attributes
    ----------
    relative : float
        Largest allowed difference relative to the statistic's scale in the network.
    measured : float
        Largest difference measured across kernel families, on the same scale.
    conditioning : str
        One of ``exact``, ``rounding``, ``accumulated``, ``sign count``, ``ill-conditioned``.
    """

    relative: float
    measured: float
    conditioning: str


#: Statistic name -> tolerance. Every registered statistic has an entry (a test checks it).
TOLERANCES: dict[str, Tolerance] = {
    "activation_absolute_mean": Tolerance(0.0001, 6.8e-06, ROUNDING),
    "activation_gradient_absolute_maximum": Tolerance(0.05, 1.0e-02, ACCUMULATED),
    "activation_gradient_absolute_mean": Tolerance(0.01, 1.9e-03, ACCUMULATED),
    "activation_gradient_l2_norm": Tolerance(0.01, 2.0e-03, ACCUMULATED),
    "activation_gradient_mean": Tolerance(0.5, 1.7e-01, ILL_CONDITIONED),
    "activation_gradient_standard_deviation": Tolerance(0.01, 2.0e-03, ACCUMULATED),
    "activation_l2_norm": Tolerance(0.0001, 9.8e-07, ROUNDING),
    "activation_mean": Tolerance(0.0002, 1.8e-05, ROUNDING),
    "activation_pattern_count": Tolerance(0.0005, 1.5e-04, SIGN_COUNT),
    "activation_positive_fraction": Tolerance(0.0005, 1.2e-04, SIGN_COUNT),
    "activation_size": Tolerance(0.0, 0.0e+00, EXACT),
    "activation_standard_deviation": Tolerance(0.0001, 5.2e-06, ROUNDING),
    "channel_correlation_min_eigenvalue": Tolerance(0.0001, 7.3e-06, ROUNDING),
    "cross_entropy_loss": Tolerance(0.0001, 5.5e-06, ROUNDING),
    "fisher": Tolerance(0.05, 1.4e-02, ACCUMULATED),
    "fisher_total": Tolerance(0.01, 1.8e-03, ACCUMULATED),
    "flop_count": Tolerance(0.0, 0.0e+00, EXACT),
    "grad_norm_total": Tolerance(0.02, 6.2e-03, ACCUMULATED),
    "gradient_absolute_maximum": Tolerance(0.2, 4.3e-02, ACCUMULATED),
    "gradient_absolute_mean": Tolerance(0.05, 8.6e-03, ACCUMULATED),
    "gradient_l2_norm": Tolerance(0.1, 1.8e-02, ACCUMULATED),
    "gradient_mean": Tolerance(0.5, 1.4e-01, ILL_CONDITIONED),
    "gradient_signal_to_noise": Tolerance(0.5, 2.4e-01, ILL_CONDITIONED),
    "gradient_standard_deviation": Tolerance(0.1, 2.2e-02, ACCUMULATED),
    "gradient_to_weight_ratio": Tolerance(0.1, 1.8e-02, ACCUMULATED),
    "grasp": Tolerance(0.2, 4.2e-02, ACCUMULATED),
    "grasp_total": Tolerance(0.2, 4.4e-02, ACCUMULATED),
    "input_channel_count": Tolerance(0.0, 0.0e+00, EXACT),
    "input_jacobian_l2_norm": Tolerance(0.01, 2.8e-03, ACCUMULATED),
    "input_reaches_output": Tolerance(0.0, 0.0e+00, EXACT),
    "jacob_cov": Tolerance(0.001, 1.9e-04, ACCUMULATED),
    "kernel_area": Tolerance(0.0, 0.0e+00, EXACT),
    "layer_flop_count": Tolerance(0.0, 0.0e+00, EXACT),
    "layer_parameter_count": Tolerance(0.0, 0.0e+00, EXACT),
    "logit_standard_deviation": Tolerance(0.0001, 5.2e-06, ROUNDING),
    "logsynflow": Tolerance(0.0001, 1.2e-08, ROUNDING),
    "logsynflow_total": Tolerance(0.0001, 1.2e-08, ROUNDING),
    "longest_path_mean_width": Tolerance(0.0, 0.0e+00, EXACT),
    "longest_path_minimum_width": Tolerance(0.0, 0.0e+00, EXACT),
    "longest_path_weighted_depth": Tolerance(0.0, 0.0e+00, EXACT),
    "meco": Tolerance(0.0001, 2.0e-06, ROUNDING),
    "naswot": Tolerance(0.0001, 2.9e-07, ROUNDING),
    "naswot_layer_logdet": Tolerance(0.0002, 1.4e-05, ROUNDING),
    "noise_sensitivity": Tolerance(0.001, 9.5e-05, ROUNDING),
    "non_finite_value_count": Tolerance(0.0, 0.0e+00, EXACT),
    "operation_path_count_log": Tolerance(0.0, 0.0e+00, EXACT),
    "output_channel_count": Tolerance(0.0, 0.0e+00, EXACT),
    "parameter_count": Tolerance(0.0, 0.0e+00, EXACT),
    "relative_depth": Tolerance(0.0, 0.0e+00, EXACT),
    "shortest_path_weighted_depth": Tolerance(0.0, 0.0e+00, EXACT),
    "snip": Tolerance(0.02, 6.1e-03, ACCUMULATED),
    "snip_total": Tolerance(0.02, 3.6e-03, ACCUMULATED),
    "swap": Tolerance(0.0005, 3.1e-05, ROUNDING),
    "synflow": Tolerance(0.0001, 2.7e-07, ROUNDING),
    "synflow_total": Tolerance(0.0001, 2.7e-07, ROUNDING),
    "weight_absolute_maximum": Tolerance(0.0001, 1.0e-07, ROUNDING),
    "weight_absolute_mean": Tolerance(0.0001, 1.8e-08, ROUNDING),
    "weight_l2_norm": Tolerance(0.0001, 8.5e-09, ROUNDING),
    "weight_mean": Tolerance(0.0001, 8.5e-07, ROUNDING),
    "weight_standard_deviation": Tolerance(0.0001, 1.6e-08, ROUNDING),
    "weight_times_gradient": Tolerance(0.2, 3.5e-02, ACCUMULATED),
    "weighted_layer_count": Tolerance(0.0, 0.0e+00, EXACT),
    "weighted_path_count_log": Tolerance(0.0, 0.0e+00, EXACT),
    "zen_score": Tolerance(0.0001, 5.8e-06, ROUNDING),
    "zico": Tolerance(0.1, 1.7e-02, ACCUMULATED),}


def within_tolerance(name: str, expected, got) -> bool:
    """Whether ``got`` equals ``expected`` within the statistic's tolerance.

    Parameters
    ----------
    name : str
        A registered statistic's name.
    expected, got : array-like
        The statistic's values (one per layer, or one value).

    Returns
    -------
    bool
        NaN must match NaN and infinities must match exactly; finite values may differ by
        ``relative`` times the largest absolute expected value.
    """
    tolerance = TOLERANCES[name]
    expected = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    got = np.atleast_1d(np.asarray(got, dtype=np.float64))
    if expected.shape != got.shape:
        return False
    finite = np.isfinite(expected)
    if not np.array_equal(np.isnan(expected), np.isnan(got)):
        return False
    if not np.array_equal(expected[np.isinf(expected)], got[np.isinf(expected)]):
        return False
    if not finite.any():
        return True
    if not np.isfinite(got[finite]).all():
        return False
    scale = float(np.abs(expected[finite]).max())
    return bool(np.abs(expected[finite] - got[finite]).max() <= tolerance.relative * scale)
