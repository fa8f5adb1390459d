"""The statistic bank: every named statistic the probe computes, one small function each.

Imported by :mod:`greenmachine.probe.registry` (which lists them), :mod:`greenmachine.probe.engine`
(which evaluates them on a :class:`greenmachine.probe.passes.ProbeRecord`) and, through the names,
by the proxy language and the baselines. Per-layer statistics return a float64 array with
one value per weighted layer (Conv2d and Linear in forward order); network statistics
return a float. Definitions follow the cited papers; "A" is a weighted layer's output
(before BatchNorm), "W" its weight, "L" the mean cross-entropy of the real minibatch.

To change a definition, bump :data:`greenmachine.probe.registry.MANUAL_VERSION`.
"""

from __future__ import annotations

import numpy as np

from greenmachine.probe.passes import ProbeRecord
from greenmachine.probe.registry import GRASP, LAYER, MAIN, NETWORK, NOISE, STRUCTURE, SYNFLOW, register


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    return total / np.maximum(count, 1.0)


def _standard_deviation(total: np.ndarray, squares: np.ndarray, count: np.ndarray) -> np.ndarray:
    mean = _mean(total, count)
    return np.sqrt(np.maximum(_mean(squares, count) - mean * mean, 0.0))


# ----------------------------------------------------------------------- structure (layer)

@register("input_channel_count", LAYER, STRUCTURE)
def input_channel_count(r: ProbeRecord):
    """Input channels (Conv2d) or input features (Linear) of the layer."""
    return r.layer["input_channels"]


@register("output_channel_count", LAYER, STRUCTURE)
def output_channel_count(r: ProbeRecord):
    """Output channels (Conv2d) or output features (Linear) of the layer."""
    return r.layer["output_channels"]


@register("kernel_area", LAYER, STRUCTURE)
def kernel_area(r: ProbeRecord):
    """Kernel height times width (1 for Linear)."""
    return r.layer["kernel_area"]


@register("layer_parameter_count", LAYER, STRUCTURE)
def layer_parameter_count(r: ProbeRecord):
    """Parameters of the layer (weight and bias)."""
    return r.layer["parameters"]


@register("layer_flop_count", LAYER, STRUCTURE)
def layer_flop_count(r: ProbeRecord):
    """Multiply-accumulates of the layer per image (NATS-Bench convention)."""
    return r.layer["flops"]


@register("relative_depth", LAYER, STRUCTURE)
def relative_depth(r: ProbeRecord):
    """Position of the layer in forward order divided by the number of weighted layers."""
    return r.layer["relative_depth"]


# ----------------------------------------------------------------------- weights (layer)

@register("weight_l2_norm", LAYER, MAIN)
def weight_l2_norm(r: ProbeRecord):
    """Euclidean norm of the layer's weight W."""
    return np.sqrt(r.layer["weight_squares"])


@register("weight_absolute_mean", LAYER, MAIN)
def weight_absolute_mean(r: ProbeRecord):
    """Mean of |W| over the weight's elements."""
    return _mean(r.layer["weight_absolute"], r.layer["weight_elements"])


@register("weight_mean", LAYER, MAIN)
def weight_mean(r: ProbeRecord):
    """Mean of W over the weight's elements."""
    return _mean(r.layer["weight_sum"], r.layer["weight_elements"])


@register("weight_standard_deviation", LAYER, MAIN)
def weight_standard_deviation(r: ProbeRecord):
    """Standard deviation of W over the weight's elements."""
    return _standard_deviation(r.layer["weight_sum"], r.layer["weight_squares"], r.layer["weight_elements"])


@register("weight_absolute_maximum", LAYER, MAIN)
def weight_absolute_maximum(r: ProbeRecord):
    """Largest |W| of the layer."""
    return r.layer["weight_maximum"]


# ----------------------------------------------------------------------- gradients (layer)

@register("gradient_l2_norm", LAYER, MAIN)
def gradient_l2_norm(r: ProbeRecord):
    """Euclidean norm of dL/dW (the layer's grad_norm term, Abdelfattah et al. 2021)."""
    return np.sqrt(r.layer["gradient_squares"])


@register("gradient_absolute_mean", LAYER, MAIN)
def gradient_absolute_mean(r: ProbeRecord):
    """Mean of |dL/dW| over the weight's elements."""
    return _mean(r.layer["gradient_absolute"], r.layer["weight_elements"])


@register("gradient_mean", LAYER, MAIN)
def gradient_mean(r: ProbeRecord):
    """Mean of dL/dW over the weight's elements."""
    return _mean(r.layer["gradient_sum"], r.layer["weight_elements"])


@register("gradient_standard_deviation", LAYER, MAIN)
def gradient_standard_deviation(r: ProbeRecord):
    """Standard deviation of dL/dW over the weight's elements."""
    return _standard_deviation(r.layer["gradient_sum"], r.layer["gradient_squares"], r.layer["weight_elements"])


@register("gradient_absolute_maximum", LAYER, MAIN)
def gradient_absolute_maximum(r: ProbeRecord):
    """Largest |dL/dW| of the layer."""
    return r.layer["gradient_maximum"]


@register("gradient_to_weight_ratio", LAYER, MAIN)
def gradient_to_weight_ratio(r: ProbeRecord):
    """||dL/dW|| / ||W|| (0 when W is zero)."""
    norm = np.sqrt(r.layer["weight_squares"])
    return np.where(norm > 0, np.sqrt(r.layer["gradient_squares"]) / np.where(norm > 0, norm, 1.0), 0.0)


# ----------------------------------------------------------------------- activations (layer)

@register("activation_l2_norm", LAYER, MAIN)
def activation_l2_norm(r: ProbeRecord):
    """Euclidean norm of the layer output A over the whole minibatch."""
    return np.sqrt(r.layer["activation_squares"])


@register("activation_absolute_mean", LAYER, MAIN)
def activation_absolute_mean(r: ProbeRecord):
    """Mean of |A| over samples and elements."""
    return _mean(r.layer["activation_absolute"], r.layer["activation_elements"])


@register("activation_mean", LAYER, MAIN)
def activation_mean(r: ProbeRecord):
    """Mean of A over samples and elements."""
    return _mean(r.layer["activation_sum"], r.layer["activation_elements"])


@register("activation_standard_deviation", LAYER, MAIN)
def activation_standard_deviation(r: ProbeRecord):
    """Standard deviation of A over samples and elements."""
    return _standard_deviation(r.layer["activation_sum"], r.layer["activation_squares"],
                               r.layer["activation_elements"])


@register("activation_positive_fraction", LAYER, MAIN)
def activation_positive_fraction(r: ProbeRecord):
    """Fraction of the elements of A that are positive."""
    return _mean(r.layer["activation_positive"], r.layer["activation_elements"])


@register("activation_size", LAYER, MAIN)
def activation_size(r: ProbeRecord):
    """Elements of A per sample (channels x height x width)."""
    return r.layer["activation_size"]


# ----------------------------------------------------------------------- activation gradients

@register("activation_gradient_l2_norm", LAYER, MAIN)
def activation_gradient_l2_norm(r: ProbeRecord):
    """Euclidean norm of dL/dA over the whole minibatch."""
    return np.sqrt(r.layer["activation_gradient_squares"])


@register("activation_gradient_absolute_mean", LAYER, MAIN)
def activation_gradient_absolute_mean(r: ProbeRecord):
    """Mean of |dL/dA| over samples and elements."""
    return _mean(r.layer["activation_gradient_absolute"], r.layer["activation_elements"])


@register("activation_gradient_mean", LAYER, MAIN)
def activation_gradient_mean(r: ProbeRecord):
    """Mean of dL/dA over samples and elements."""
    return _mean(r.layer["activation_gradient_sum"], r.layer["activation_elements"])


@register("activation_gradient_standard_deviation", LAYER, MAIN)
def activation_gradient_standard_deviation(r: ProbeRecord):
    """Standard deviation of dL/dA over samples and elements."""
    return _standard_deviation(r.layer["activation_gradient_sum"], r.layer["activation_gradient_squares"],
                               r.layer["activation_elements"])


@register("activation_gradient_absolute_maximum", LAYER, MAIN)
def activation_gradient_absolute_maximum(r: ProbeRecord):
    """Largest |dL/dA| of the layer."""
    return r.layer["activation_gradient_maximum"]


# ----------------------------------------------------------------------- saliencies (layer)

@register("snip", LAYER, MAIN)
def snip(r: ProbeRecord):
    """SNIP saliency sum |W * dL/dW| (Lee et al. 2019)."""
    return r.layer["snip"]


@register("weight_times_gradient", LAYER, MAIN)
def weight_times_gradient(r: ProbeRecord):
    """Signed sum of W * dL/dW (first-order change of L when the layer is removed)."""
    return r.layer["weight_gradient"]


@register("fisher", LAYER, MAIN)
def fisher(r: ProbeRecord):
    """Fisher saliency 0.5 mean_n sum_k (sum_hw A * dL/dA)^2 (Turner et al. 2020)."""
    return 0.5 * r.layer["activation_gradient_fisher"] / max(r.batch_size, 1)


@register("gradient_signal_to_noise", LAYER, MAIN)
def gradient_signal_to_noise(r: ProbeRecord):
    """ZiCo layer term log(sum mean|g| / std(g)) over main-pass chunks (Li et al. 2023)."""
    return r.layer["gradient_signal_to_noise"]


@register("synflow", LAYER, SYNFLOW)
def synflow(r: ProbeRecord):
    """SynFlow sum |W * dR/dW| with |W|, float64, no BN, all-ones input (Tanaka et al. 2020)."""
    return r.layer["synflow"]


@register("logsynflow", LAYER, SYNFLOW)
def logsynflow(r: ProbeRecord):
    """FreeREA's log-SynFlow sum |W * log(dR/dW + 1)| (Cavagnero et al. 2023)."""
    return r.layer["logsynflow"]


@register("grasp", LAYER, GRASP)
def grasp(r: ProbeRecord):
    """GraSP saliency -sum(W * Hg), exact Hessian-gradient product (Wang et al. 2020; opt-in pass)."""
    return r.layer["grasp"]


# ----------------------------------------------------------------------- structure of activity

@register("naswot_layer_logdet", LAYER, MAIN)
def naswot_layer_logdet(r: ProbeRecord):
    """log det(K/n + 0.001 I) of the NASWOT binary-code kernel of the layer's input."""
    return r.layer["naswot_layer_logdet"]


@register("channel_correlation_min_eigenvalue", LAYER, MAIN)
def channel_correlation_min_eigenvalue(r: ProbeRecord):
    """MeCo term: min eigenvalue of A's channel correlation on the first sample (Jiang et al. 2023)."""
    return r.layer["channel_correlation_min_eigenvalue"]


@register("activation_pattern_count", LAYER, MAIN)
def activation_pattern_count(r: ProbeRecord):
    """SWAP term: distinct sample-wise sign patterns among the layer's input units (Peng et al. 2024)."""
    return r.layer["activation_pattern_count"]


@register("noise_sensitivity", LAYER, NOISE)
def noise_sensitivity(r: ProbeRecord):
    """||A(x + 0.01 n) - A(x)|| / ||A(x)|| for Gaussian x, n on the Zen-initialised copy."""
    return r.layer["noise_sensitivity"]


# ----------------------------------------------------------------------- network statistics

@register("parameter_count", NETWORK, STRUCTURE)
def parameter_count(r: ProbeRecord):
    """Trainable parameters of the network, BatchNorm included (NATS-Bench 'params' x 1e6)."""
    return r.network["parameters"]


@register("flop_count", NETWORK, STRUCTURE)
def flop_count(r: ProbeRecord):
    """Multiply-accumulates per image of the convolutions and the classifier (NATS-Bench 'flops' x 1e6)."""
    return r.network["flops"]


@register("weighted_layer_count", NETWORK, STRUCTURE)
def weighted_layer_count(r: ProbeRecord):
    """Number of weighted layers (Conv2d and Linear)."""
    return r.network["weighted_layers"]


# ----------------------------------------------------------------------- dataflow graph (network)
# Read from the graph of the structure pass's forward (see greenmachine.probe.passes.graph); a
# "path" leads from the input to the logits, a multiplication by 0 (the `none` operation) cuts it.

@register("input_reaches_output", NETWORK, STRUCTURE)
def input_reaches_output(r: ProbeRecord):
    """1 when the logits depend on the input through the traced dataflow graph, else 0 (every path cut)."""
    return r.network["dataflow_input_reaches_output"]


@register("longest_path_weighted_depth", NETWORK, STRUCTURE)
def longest_path_weighted_depth(r: ProbeRecord):
    """Weighted layers (Conv2d, Linear) on the input-output path with the most of them (0: no path)."""
    return r.network["dataflow_longest_depth"]


@register("shortest_path_weighted_depth", NETWORK, STRUCTURE)
def shortest_path_weighted_depth(r: ProbeRecord):
    """Weighted layers on the input-output path with the fewest of them (0: no path)."""
    return r.network["dataflow_shortest_depth"]


@register("weighted_path_count_log", NETWORK, STRUCTURE)
def weighted_path_count_log(r: ProbeRecord):
    """log(1 + distinct sequences of weighted layers along the input-output paths)."""
    return r.network["dataflow_weighted_path_count_log"]


@register("operation_path_count_log", NETWORK, STRUCTURE)
def operation_path_count_log(r: ProbeRecord):
    """log(1 + input-output paths through the traced operations), a module without submodules one operation."""
    return r.network["dataflow_operation_path_count_log"]


@register("longest_path_mean_width", NETWORK, STRUCTURE)
def longest_path_mean_width(r: ProbeRecord):
    """Mean input channels of the weighted layers after the first on the longest path (0: fewer than two)."""
    return r.network["dataflow_mean_width"]


@register("longest_path_minimum_width", NETWORK, STRUCTURE)
def longest_path_minimum_width(r: ProbeRecord):
    """Fewest input channels of a weighted layer after the first on the longest path (0: fewer than two)."""
    return r.network["dataflow_minimum_width"]


@register("naswot", NETWORK, MAIN)
def naswot(r: ProbeRecord):
    """NASWOT log|K|, K summed over ReLU-family calls' binary codes (Mellor et al. 2021, as FreeREA).

    Every call, module or functional (see :mod:`greenmachine.probe.passes.activations`); undefined
    for a network without one.
    """
    return r.network["naswot"]


@register("swap", NETWORK, MAIN)
def swap(r: ProbeRecord):
    """SWAP: distinct sample-wise activation patterns over all ReLU-family units (Peng et al. 2024).

    Every call, module or functional; undefined for a network without one.
    """
    return r.network["swap"]


@register("jacob_cov", NETWORK, MAIN)
def jacob_cov(r: ProbeRecord):
    """Jacobian covariance score of the input gradients of the summed logits (Mellor et al. v1)."""
    return r.network["jacob_cov"]


@register("input_jacobian_l2_norm", NETWORK, MAIN)
def input_jacobian_l2_norm(r: ProbeRecord):
    """Euclidean norm of d(sum of logits)/d(input) over the minibatch."""
    return r.network["input_jacobian_l2_norm"]


@register("cross_entropy_loss", NETWORK, MAIN)
def cross_entropy_loss(r: ProbeRecord):
    """Mean cross-entropy of the minibatch at initialisation."""
    return r.network["cross_entropy_loss"]


@register("logit_standard_deviation", NETWORK, MAIN)
def logit_standard_deviation(r: ProbeRecord):
    """Standard deviation of the logits over the minibatch and classes."""
    return r.network["logit_std"]


@register("zen_score", NETWORK, NOISE)
def zen_score(r: ProbeRecord):
    """Zen-score log E|f(x) - f(x + 0.01 n)| + sum log BN scale (Lin et al. 2021)."""
    return r.network["zen_score"]


@register("meco", NETWORK, MAIN)
def meco(r: ProbeRecord):
    """MeCo: sum over weighted layers of channel_correlation_min_eigenvalue (Jiang et al. 2023)."""
    return float(np.sum(r.layer["channel_correlation_min_eigenvalue"]))


@register("zico", NETWORK, MAIN)
def zico(r: ProbeRecord):
    """ZiCo: sum over weighted layers of gradient_signal_to_noise (Li et al. 2023)."""
    return float(np.sum(r.layer["gradient_signal_to_noise"]))


@register("snip_total", NETWORK, MAIN)
def snip_total(r: ProbeRecord):
    """SNIP network score: sum of the per-layer snip saliencies."""
    return float(np.sum(r.layer["snip"]))


@register("grad_norm_total", NETWORK, MAIN)
def grad_norm_total(r: ProbeRecord):
    """grad_norm network score: sum of per-layer ||dL/dW|| (Abdelfattah et al. 2021)."""
    return float(np.sum(np.sqrt(r.layer["gradient_squares"])))


@register("fisher_total", NETWORK, MAIN)
def fisher_total(r: ProbeRecord):
    """Fisher network score: sum of the per-layer fisher saliencies."""
    return float(np.sum(fisher(r)))


@register("synflow_total", NETWORK, SYNFLOW)
def synflow_total(r: ProbeRecord):
    """SynFlow network score: sum of the per-layer synflow saliencies."""
    return float(np.sum(r.layer["synflow"]))


@register("logsynflow_total", NETWORK, SYNFLOW)
def logsynflow_total(r: ProbeRecord):
    """FreeREA log-SynFlow network score: sum of the per-layer logsynflow terms."""
    return float(np.sum(r.layer["logsynflow"]))


@register("grasp_total", NETWORK, GRASP)
def grasp_total(r: ProbeRecord):
    """GraSP network score: sum of the per-layer grasp saliencies."""
    return float(np.sum(r.layer["grasp"]))


@register("non_finite_value_count", NETWORK, STRUCTURE)
def non_finite_value_count(r: ProbeRecord):
    """Number of NaN/inf values in this network's other statistics, stored as 0 instead."""
    return float(r.network.get("non_finite_values", 0.0))
