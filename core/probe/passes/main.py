"""The main pass: the real minibatch with cross-entropy, forward and backward, in chunks.

Called by :func:`greenmachine.probe.engine.probe_model` after the structure pass; its return value
feeds the optional GraSP pass. The pass runs ``chunks`` (default 2) forward+backward chunks
whose mean-reduced losses add up to the full-batch loss, so the accumulated weight gradient
is the full-batch gradient and the total cost is about one full-batch pass. Hooks record,
per weighted layer, reductions of W, dL/dW, the layer output A and dL/dA, Fisher and SNIP
saliencies, the per-chunk gradients (ZiCo's signal-to-noise), the binary ReLU codes (NASWOT
kernel, SWAP pattern counts, see :mod:`greenmachine.probe.passes.codes`; every ReLU-family call of the
forward pass, module or functional, see :mod:`greenmachine.probe.passes.activations`), MeCo's channel-correlation
eigenvalue, and the input Jacobian of the summed logits (jacob_cov, a second backward on the
same graph that computes input gradients only).

BatchNorm (train mode) normalises each chunk with the chunk's own statistics, as ZiCo's
reference does with its separate minibatches; the NASWOT kernel and SWAP patterns still
span the whole batch (codes of all chunks are concatenated). MeCo uses the first image, as
the reference (``data_output[0]``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from greenmachine.probe.passes.activations import NO_RELU, SMOOTH, ActivationCalls
from greenmachine.probe.passes.codes import CodeBook, record_code_statistics
from greenmachine.probe.passes.common import ProbeRecord, non_finite_description, to_numpy
from greenmachine.spaces.layers import LayerError, model_name

#: Number of chunks of the main pass (ZiCo's gradient statistics are taken across them).
MAIN_CHUNKS = 2
#: Jacobian-covariance constant of Mellor et al. (v1).
JACOBIAN_EPSILON = 1e-5

#: Network statistics that read the binary codes of ReLU-family activations (undefined without one).
RELU_CODE_STATISTICS = ("naswot", "swap")

_WEIGHT_ROWS = ("weight_sum", "weight_squares", "weight_absolute", "weight_maximum", "weight_elements",
                "gradient_sum", "gradient_squares", "gradient_absolute", "gradient_maximum", "snip",
                "weight_gradient", "gradient_signal_to_noise")


def min_correlation_eigenvalue(features: torch.Tensor) -> torch.Tensor:
    """MeCo term: minimum eigenvalue of the channel correlation matrix of one sample.

    ``features`` is one sample's layer output (C x H x W or C); NaN/inf correlations (constant
    channels, a single position) are set to 0 as in the MeCo reference.
    """
    matrix = features.detach().reshape(features.shape[0], -1).to(torch.float64)
    if matrix.shape[0] < 2 or matrix.shape[1] < 2:
        return torch.zeros((), dtype=torch.float64, device=features.device)
    correlation = torch.corrcoef(matrix)
    correlation = torch.nan_to_num(correlation, nan=0.0, posinf=0.0, neginf=0.0)
    return torch.linalg.eigvalsh(correlation)[0]


def jacobian_covariance_score(jacobian) -> float:
    """Mellor et al. (v1) score of an N x D input Jacobian: ``-sum(log(v+k) + 1/(v+k))``.

    ``v`` are the eigenvalues of the N x N correlation matrix of the Jacobian rows,
    ``k = 1e-5``. Rows with zero variance (a network whose output ignores its input) give
    NaN correlations, which are set to 0, so such networks get a very low (bad) score
    instead of NaN.
    """
    rows = torch.as_tensor(jacobian).to(torch.float64)
    rows = rows.reshape(rows.shape[0], -1)
    centred = rows - rows.mean(dim=1, keepdim=True)
    norms = torch.linalg.vector_norm(centred, dim=1, keepdim=True)
    with torch.no_grad():
        normalised = torch.where(norms > 0, centred / torch.where(norms > 0, norms, 1.0), 0.0)
        correlation = normalised @ normalised.T
    values = torch.linalg.eigvalsh(correlation).cpu().numpy()
    shifted = values + JACOBIAN_EPSILON
    shifted = np.where(shifted > 0, shifted, JACOBIAN_EPSILON)
    return float(-np.sum(np.log(shifted) + 1.0 / shifted))


class _LayerHooks:
    """Forward, activation and gradient hooks of the main pass and the sums they accumulate."""

    def __init__(self, layers: list[tuple[str, nn.Module]], device: torch.device) -> None:
        count = len(layers)
        self.position_of = {id(module): index for index, (_, module) in enumerate(layers)}
        # rows: sum, sum of squares, sum of |.|, positive count, elements
        self.activation_totals = torch.zeros((5, count), dtype=torch.float64, device=device)
        self.activation_size = torch.zeros(count, dtype=torch.float64, device=device)
        # rows: sum, sum of squares, sum of |.|, Fisher sum of squared channel sums; and the max |.|
        self.gradient_totals = torch.zeros((4, count), dtype=torch.float64, device=device)
        self.gradient_maximum = torch.zeros(count, dtype=torch.float64, device=device)
        self.meco = torch.zeros(count, dtype=torch.float64, device=device)
        self.chunk = 0
        self.collect = False
        self.books: list[CodeBook] = []
        self.layer_sources: list[list[int]] = []

    def start_chunk(self, chunk: int) -> None:
        self.chunk = chunk
        self.books.append(CodeBook())
        self.layer_sources.append([-1] * len(self.position_of))

    def activation(self, kind, name, tensor, output, codes):
        if kind != SMOOTH:
            self.books[-1].relu(tensor, output, codes)

    def layer_input(self, module, inputs):
        source = self.books[-1].layer_input(inputs[0])
        self.layer_sources[-1][self.position_of[id(module)]] = source

    def layer_output(self, module, inputs, output):
        index = self.position_of[id(module)]
        values = output.detach()
        flat = values.reshape(-1)
        sign = torch.sign(flat)
        # sum |a| = sign . a; positives = (sum sign + nonzeros) / 2 with nonzeros = sign . sign
        # (integer counts are exact in float32 below 2^24 elements per chunk)
        self.activation_totals[:, index] += torch.stack([
            flat.sum(), torch.dot(flat, flat), torch.dot(sign, flat),
            0.5 * (sign.sum() + torch.dot(sign, sign)), flat.new_tensor(float(flat.numel()))]).double()
        if self.chunk == 0:
            self.activation_size[index] = values[0].numel()
            self.meco[index] = min_correlation_eigenvalue(values[0])
        if output.requires_grad:
            output.register_hook(lambda grad, index=index, values=values: self.output_gradient(index, values, grad))

    def output_gradient(self, index, values, grad):
        if not self.collect:
            return None
        grad = grad.detach()
        flat = grad.reshape(-1)
        # per-sample, per-channel sum over positions of A * dL/dA (Fisher), as a batched dot
        rows = values.shape[0] * (values.shape[1] if values.dim() > 2 else 1)
        channel = torch.bmm(values.reshape(rows, 1, -1), grad.reshape(rows, -1, 1)).reshape(-1)
        low, high = torch.aminmax(flat)
        self.gradient_totals[:, index] += torch.stack([
            flat.sum(), torch.dot(flat, flat), torch.dot(torch.sign(flat), flat),
            torch.dot(channel, channel)]).double()
        self.gradient_maximum[index] = torch.maximum(self.gradient_maximum[index],
                                                     torch.maximum(-low, high).double())
        return None

    def register(self, model: nn.Module, layers: list[tuple[str, nn.Module]]) -> list:
        handles = []
        for _, module in layers:
            handles.append(module.register_forward_pre_hook(self.layer_input))
            handles.append(module.register_forward_hook(self.layer_output))
        return handles

    def record(self, record: ProbeRecord) -> None:
        for row, key in enumerate(("sum", "squares", "absolute", "positive", "elements")):
            record.layer["activation_" + key] = to_numpy(self.activation_totals[row])
        record.layer["activation_size"] = to_numpy(self.activation_size)
        for row, key in enumerate(("sum", "squares", "absolute", "fisher")):
            record.layer["activation_gradient_" + key] = to_numpy(self.gradient_totals[row])
        record.layer["activation_gradient_maximum"] = to_numpy(self.gradient_maximum)
        record.layer["channel_correlation_min_eigenvalue"] = to_numpy(self.meco)


def _signal_to_noise(parts: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """ZiCo's per-layer term ``log sum(mean |g| / std g)`` over the chunks' gradients ``parts``.

    Entries with zero deviation are left out; a zero sum gives 0, a single chunk gives 0.
    """
    if len(parts) == 2:
        # two chunks: std = |g0 - g1| / 2 and mean |g| = (|g0| + |g1|) / 2 (cheaper than std)
        first, second = parts[0].double(), parts[1].double()
        deviation = (first - second).abs()
        mean_absolute = first.abs() + second.abs()
    elif len(parts) > 2:
        stacked = torch.stack([part.double() for part in parts])
        deviation = stacked.std(dim=0, unbiased=False)
        mean_absolute = stacked.abs().mean(dim=0)
    else:
        return torch.zeros((), dtype=torch.float64, device=device)
    # the ratio is taken where the deviation is non-zero (elsewhere it is computed, then dropped)
    total = torch.masked_select(mean_absolute / deviation, deviation > 0).sum()
    return torch.log(total) if total > 0 else total * 0.0


def _record_weight_statistics(weights: list[torch.Tensor], full: list[torch.Tensor],
                              chunk_gradients: list[list[torch.Tensor]], device: torch.device,
                              record: ProbeRecord) -> None:
    """Reductions of W and of the full-batch dL/dW, SNIP and ZiCo terms, per weighted layer."""
    rows: dict[str, list[torch.Tensor]] = {key: [] for key in _WEIGHT_ROWS}
    for index, (weight, grad) in enumerate(zip(weights, full)):
        w = weight.detach().double()
        g = grad.double()
        product = w * g
        rows["weight_sum"].append(w.sum())
        rows["weight_squares"].append(w.square().sum())
        rows["weight_absolute"].append(w.abs().sum())
        rows["weight_maximum"].append(w.abs().max())
        rows["weight_elements"].append(torch.tensor(float(w.numel()), dtype=torch.float64, device=device))
        rows["gradient_sum"].append(g.sum())
        rows["gradient_squares"].append(g.square().sum())
        rows["gradient_absolute"].append(g.abs().sum())
        rows["gradient_maximum"].append(g.abs().max())
        rows["snip"].append(product.abs().sum())
        rows["weight_gradient"].append(product.sum())
        rows["gradient_signal_to_noise"].append(_signal_to_noise([parts[index] for parts in chunk_gradients], device))
    for key, values in rows.items():
        record.layer[key] = to_numpy(torch.stack(values)) if values else np.zeros(0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _check_logits(model: nn.Module, logits, labels: torch.Tensor) -> None:
    """One clear error for an output the loss cannot read: not (batch, classes), or too few classes.

    Raises
    ------
    LayerError
        Logits that are not a ``(batch, classes)`` tensor, or fewer classes than the labels need.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != labels.shape[0]:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise LayerError(f"model {model_name(model)} returns {shape} for {labels.shape[0]} image(s) in the probe's "
                         "main pass; the probe needs logits (batch, classes)")
    if labels.numel() and int(labels.max()) >= logits.shape[1]:
        raise LayerError(f"model {model_name(model)} gives {logits.shape[1]} logits per image, but the minibatch has "
                         f"label {int(labels.max())}: the model needs one logit per class of the dataset")


def _no_relu_reason(activations: ActivationCalls) -> str:
    """Why a network has no binary ReLU codes (and what its forward pass did run instead)."""
    seen = activations.describe_seen()
    return NO_RELU + ("" if seen == "none" else f" (its activation calls: {seen})")


def main_pass(model: nn.Module, layers: list[tuple[str, nn.Module]], images: torch.Tensor,
              labels: torch.Tensor, record: ProbeRecord, chunks: int = MAIN_CHUNKS) -> list[torch.Tensor]:
    """Run the shared real-data pass and fill ``record`` (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        The network in training mode (BatchNorm uses batch statistics).
    layers : list of (str, torch.nn.Module)
        Weighted layers in forward order.
    images, labels : torch.Tensor
        The minibatch (on the model's device).
    record : ProbeRecord
        Filled in place.
    chunks : int
        Forward/backward chunks (>= 1; more than the batch size is clipped).

    Returns
    -------
    list
        ``[full, first, positions]`` for the grasp pass: the full-batch gradient and the
        first chunk's gradient of every weighted layer's weight (lists of tensors), and
        the batch positions of the first chunk.

    Raises
    ------
    greenmachine.spaces.layers.LayerError
        The model's forward pass fails, or its output is not ``(batch, classes)`` logits
        with a class for every label of the minibatch.

    Notes
    -----
    A network without a ReLU-family activation gets ``naswot`` and ``swap`` as undefined
    (``record.undefined``); logits that are not finite mark the whole pass as broken
    (``record.broken_passes``).
    """
    device = images.device
    count = images.shape[0]
    chunk_count = max(1, min(int(chunks), count))
    positions = torch.tensor_split(torch.arange(count, device=device), chunk_count)
    weights = [module.weight for _, module in layers]
    hooks = _LayerHooks(layers, device)
    handles = hooks.register(model, layers)

    model.zero_grad(set_to_none=True)
    chunk_gradients: list[list[torch.Tensor]] = []
    previous = [torch.zeros_like(w) for w in weights]
    jacobians, logits_all, loss_total = [], [], 0.0
    try:
        for chunk, index in enumerate(positions):
            hooks.start_chunk(chunk)
            inputs = images[index].detach().clone().requires_grad_(True)
            activations = ActivationCalls(hooks.activation, rows=len(index))
            try:
                with activations:
                    logits = model(inputs)
            except Exception as exc:  # the user's model: one line naming it
                raise LayerError(f"model {model_name(model)} failed in the probe's main pass on {len(index)} "
                                 f"image(s): {type(exc).__name__}: {_first_line(exc)}") from None
            _check_logits(model, logits, labels[index])
            if chunk == 0:
                seen = activations
            hooks.books[-1].release()
            hooks.collect = False
            (jacobian,) = torch.autograd.grad(logits.sum(), inputs, retain_graph=True)
            jacobians.append(jacobian.detach().flatten(1))
            loss = F.cross_entropy(logits, labels[index], reduction="sum") / count
            hooks.collect = True
            loss.backward()
            hooks.collect = False
            loss_total += float(loss.detach())
            logits_all.append(logits.detach())
            current = [w.grad.detach().clone() if w.grad is not None else torch.zeros_like(w) for w in weights]
            # (the first chunk's previous gradient is zero: g - 0 == g exactly)
            chunk_gradients.append(current if chunk == 0 else [c - p for c, p in zip(current, previous)])
            previous = current
    finally:
        for handle in handles:
            handle.remove()

    full = previous  # accumulated full-batch gradient of the mean loss
    if not any(hooks.books[0].relu_calls):
        for name in RELU_CODE_STATISTICS:
            record.undefined[name] = _no_relu_reason(seen)
    _record_weight_statistics(weights, full, chunk_gradients, device, record)
    hooks.record(record)
    record_code_statistics(hooks.books, hooks.layer_sources[0], count, device, record)
    del hooks

    jacobian = torch.cat(jacobians, dim=0)
    record.network["jacob_cov"] = jacobian_covariance_score(jacobian)
    record.network["input_jacobian_l2_norm"] = float(torch.linalg.vector_norm(jacobian.double()))
    logits = torch.cat(logits_all, dim=0)
    problem = non_finite_description(logits)
    if problem is not None:
        record.broken_passes["main"] = f"its logits on the minibatch are not finite ({problem})"
    record.network["cross_entropy_loss"] = loss_total
    record.network["logit_std"] = float(logits.double().std(unbiased=False))
    record.passes.add("main")
    return [full, chunk_gradients[0], positions[0]]
