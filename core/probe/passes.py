"""The probe's passes: forward/backward runs whose hooks collect raw per-layer reductions.

Called by :mod:`core.probe.engine` (in the order structure, main, synflow, noise, grasp)
for one network at initialisation. Each pass fills a :class:`ProbeRecord` with raw
reductions (sums, sums of squares, kernels, counts); the registered statistics in
:mod:`core.probe.statistics` turn those into the named statistics. Passes never print.

Passes
------
``structure``
    No data: channel counts, kernel sizes, parameter and FLOP counts per weighted layer.
``main``
    The real minibatch with cross-entropy, run as ``chunks`` (default 2) forward+backward
    chunks whose mean-reduced losses add up to the full-batch loss, so the accumulated weight
    gradient is the full-batch gradient and the total cost is about one full-batch pass.
    Hooks record, per weighted layer, reductions of W, dL/dW, the layer output A and
    dL/dA, Fisher and SNIP saliencies, the per-chunk gradients (ZiCo's signal-to-noise),
    the binary ReLU codes (NASWOT kernel, SWAP pattern counts), MeCo's channel-correlation
    eigenvalue, and the input Jacobian of the summed logits (jacob_cov, a second backward
    on the same graph that computes input gradients only).
    Note: BatchNorm (train mode) normalises each chunk with the chunk's own statistics, as
    ZiCo's reference does with its separate minibatches; the NASWOT kernel and SWAP
    patterns still span the whole batch (codes of all chunks are concatenated). MeCo uses
    the first image, as the reference (``data_output[0]``).
``synflow``
    The network in float64 with |W|, BatchNorm bypassed (as ``bn=False`` in the zero-cost-nas
    reference and FreeREA), one all-ones input; R = sum of outputs.
``noise``
    The network temporarily re-initialised as in Zen-NAS (N(0, 1) conv/linear weights, BN
    weight 1, bias 0), BN in train mode, a Gaussian batch of ``min(batch, 16)`` images and
    its perturbation by 0.01 x Gaussian (the reference uses the data batch size; 16 keeps
    the pass cheap).
``grasp`` (opt-in)
    Exact Hessian-gradient product (double backward) on the whole minibatch, as the
    reference; it costs ~3.5 plain passes, more than the rest of the bank together, so
    the probe runs it only with ``grasp=True``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from core.spaces import count_flops, count_parameters

#: Number of chunks of the main pass (ZiCo's gradient statistics are taken across them).
MAIN_CHUNKS = 2
#: Ridge added to the normalised per-layer NASWOT kernel so its log-determinant is finite.
LAYER_KERNEL_RIDGE = 1e-3
#: Jacobian-covariance constant of Mellor et al. (v1).
JACOBIAN_EPSILON = 1e-5
#: Zen-score perturbation size (Lin et al. 2021, ``mixup_gamma``).
ZEN_MIXUP_GAMMA = 1e-2
#: Images of the noise pass (Gaussian inputs): ``min(batch_size, NOISE_BATCH)``.
NOISE_BATCH = 16
#: Samples whose per-layer outputs are compared for noise sensitivity.
NOISE_SENSITIVITY_SAMPLES = 4


@dataclass
class ProbeRecord:
    """Raw results of the passes for one network.

    Attributes
    ----------
    layer_names : list of str
        Weighted layers (Conv2d, Linear) in forward order.
    batch_size : int
        Images of the real minibatch.
    layer : dict of str -> numpy.ndarray
        Raw per-layer float64 reductions (one value per weighted layer).
    network : dict of str -> float
        Raw network-level values.
    passes : set of str
        Passes that ran.
    """

    layer_names: list[str]
    batch_size: int
    layer: dict[str, np.ndarray] = field(default_factory=dict)
    network: dict[str, float] = field(default_factory=dict)
    passes: set[str] = field(default_factory=set)


def _to_numpy(values: torch.Tensor) -> np.ndarray:
    return values.detach().to("cpu", torch.float64).numpy().copy()


# --------------------------------------------------------------------------------------
# structure


def structure_pass(model: nn.Module, layers: list[tuple[str, nn.Module]], input_shape: tuple[int, ...],
                   record: ProbeRecord) -> None:
    """Record shapes, parameter and FLOP counts (one batch-1 forward, no gradients).

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    layers : list of (str, torch.nn.Module)
        Its weighted layers in forward order.
    input_shape : tuple of int
        ``(1, 3, H, W)``.
    record : ProbeRecord
        Filled in place.
    """
    shapes: dict[int, tuple[int, ...]] = {}

    def pre_hook(module, inputs):
        shapes.setdefault(id(module), tuple(inputs[0].shape))

    handles = [module.register_forward_pre_hook(pre_hook) for _, module in layers]
    parameter = next(model.parameters())
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, device=parameter.device, dtype=parameter.dtype))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    inputs, outputs, kernels, params, flops = [], [], [], [], []
    for _, module in layers:
        if isinstance(module, nn.Conv2d):
            inputs.append(module.in_channels)
            outputs.append(module.out_channels)
            kernels.append(module.kernel_size[0] * module.kernel_size[1])
        else:
            inputs.append(module.in_features)
            outputs.append(module.out_features)
            kernels.append(1)
        params.append(sum(p.numel() for p in module.parameters(recurse=False)))
        flops.append(count_flops(module, (1,) + shapes[id(module)][1:]) if id(module) in shapes else 0)
    count = len(layers)
    record.layer["input_channels"] = np.asarray(inputs, dtype=np.float64)
    record.layer["output_channels"] = np.asarray(outputs, dtype=np.float64)
    record.layer["kernel_area"] = np.asarray(kernels, dtype=np.float64)
    record.layer["parameters"] = np.asarray(params, dtype=np.float64)
    record.layer["flops"] = np.asarray(flops, dtype=np.float64)
    record.layer["relative_depth"] = (np.arange(count, dtype=np.float64) + 1.0) / max(count, 1)
    record.network["parameters"] = float(count_parameters(model))
    record.network["flops"] = float(np.sum(flops))
    record.network["weighted_layers"] = float(count)
    record.passes.add("structure")


# --------------------------------------------------------------------------------------
# main


class _CodeBook:
    """Binary activation codes of one chunk, de-duplicated by tensor identity.

    A *source* is one tensor whose sign pattern (``> 0``) is recorded: a ReLU output, or
    the input of a weighted layer that is not a ReLU output (image, pooled shortcut, ...).
    Several ReLUs reading the same tensor share one source (their codes are identical);
    ``relu_calls[s]`` counts them, so NASWOT's sum over ReLU modules is kept exactly.
    """

    def __init__(self) -> None:
        self.codes: list[torch.Tensor] = []
        self.relu_calls: list[int] = []
        self._by_relu_input: dict[int, tuple[torch.Tensor, int]] = {}
        self._by_tensor: dict[int, tuple[torch.Tensor, int]] = {}

    def _new(self, tensor: torch.Tensor, nonnegative: bool = False) -> int:
        # a ReLU output is >= 0, so "> 0" is "!= 0", which .bool() computes ~5x faster
        values = tensor.detach()
        self.codes.append((values.bool() if nonnegative else values > 0).flatten(1))
        self.relu_calls.append(0)
        return len(self.codes) - 1

    def relu(self, relu_input: torch.Tensor, relu_output: torch.Tensor) -> None:
        entry = self._by_relu_input.get(id(relu_input))
        if entry is not None and entry[0] is relu_input:
            source = entry[1]
        else:
            source = self._new(relu_output, nonnegative=True)
            self._by_relu_input[id(relu_input)] = (relu_input, source)
        self.relu_calls[source] += 1
        self._by_tensor[id(relu_output)] = (relu_output, source)

    def layer_input(self, tensor: torch.Tensor) -> int:
        entry = self._by_tensor.get(id(tensor))
        if entry is not None and entry[0] is tensor:
            return entry[1]
        source = self._new(tensor)
        self._by_tensor[id(tensor)] = (tensor, source)
        return source

    def release(self) -> None:
        self._by_relu_input.clear()
        self._by_tensor.clear()


def _code_matrix(codes: torch.Tensor) -> torch.Tensor:
    """0/1 float32 copy of an N x n boolean code matrix (via uint8: much faster than .float())."""
    return codes.contiguous().view(torch.uint8).to(torch.float32)


def _binary_kernel(values: torch.Tensor) -> torch.Tensor:
    """NASWOT kernel ``C C^T + (1-C)(1-C)^T`` of an N x n 0/1 float32 code matrix (float64)."""
    inner = values @ values.T
    ones = inner.diagonal().clone()
    n = float(values.shape[1])
    # (1-C)(1-C)^T = n - r 1^T - 1 r^T + C C^T; integer-valued and exact in float32 (< 2^24).
    kernel = 2.0 * inner - ones[:, None] - ones[None, :] + n
    return kernel.to(torch.float64)


def _pattern_keys(values: torch.Tensor) -> torch.Tensor:
    """One integer key per neuron (column) encoding its sign pattern over the N samples.

    ``values`` is the N x n 0/1 float32 code matrix. Returns an ``(n,)`` int64 tensor when
    N <= 64, else ``(n, words)``; equal keys <=> equal patterns.
    """
    count = values.shape[0]
    words = []
    for start in range(0, count, 64):
        key = None
        for offset in range(start, min(start + 64, count), 16):
            block = values[offset:offset + 16]
            weights = torch.pow(2.0, torch.arange(block.shape[0], dtype=torch.float32, device=values.device))
            part = (weights @ block).to(torch.int64)  # exact: < 2^16
            part = part << (offset - start)  # wraps for the top bits: still injective
            key = part if key is None else key | part
        words.append(key)
    return words[0] if len(words) == 1 else torch.stack(words, dim=1)


def _unique_count(keys: torch.Tensor) -> int:
    if keys.numel() == 0:
        return 0
    if keys.dim() == 1:
        return int(torch.unique(keys).numel())
    return int(torch.unique(keys, dim=0).shape[0])


def _min_correlation_eigenvalue(features: torch.Tensor) -> torch.Tensor:
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
    """
    device = images.device
    count = images.shape[0]
    chunk_count = max(1, min(int(chunks), count))
    positions = torch.tensor_split(torch.arange(count, device=device), chunk_count)
    layer_count = len(layers)
    position_of = {id(module): index for index, (_, module) in enumerate(layers)}
    weights = [module.weight for _, module in layers]

    zeros = lambda: torch.zeros(layer_count, dtype=torch.float64, device=device)  # noqa: E731
    # rows: sum, sum of squares, sum of |.|, positive count, elements
    activation_totals = torch.zeros((5, layer_count), dtype=torch.float64, device=device)
    activation_size = zeros()
    # rows: sum, sum of squares, sum of |.|, Fisher sum of squared channel sums; and the max |.|
    gradient_totals = torch.zeros((4, layer_count), dtype=torch.float64, device=device)
    gradient_maximum = zeros()
    meco = zeros()
    state = {"chunk": 0, "collect": False, "books": [], "layer_sources": []}

    def relu_hook(module, inputs, output):
        state["books"][-1].relu(inputs[0], output)

    def pre_hook(module, inputs):
        source = state["books"][-1].layer_input(inputs[0])
        state["layer_sources"][-1][position_of[id(module)]] = source

    def forward_hook(module, inputs, output):
        index = position_of[id(module)]
        values = output.detach()
        flat = values.reshape(-1)
        sign = torch.sign(flat)
        # sum |a| = sign . a; positives = (sum sign + nonzeros) / 2 with nonzeros = sign . sign
        # (integer counts are exact in float32 below 2^24 elements per chunk)
        activation_totals[:, index] += torch.stack([
            flat.sum(), torch.dot(flat, flat), torch.dot(sign, flat),
            0.5 * (sign.sum() + torch.dot(sign, sign)), flat.new_tensor(float(flat.numel()))]).double()
        if state["chunk"] == 0:
            activation_size[index] = values[0].numel()
            meco[index] = _min_correlation_eigenvalue(values[0])
        if output.requires_grad:
            output.register_hook(lambda grad, index=index, values=values: gradient_hook(index, values, grad))

    def gradient_hook(index, values, grad):
        if not state["collect"]:
            return None
        grad = grad.detach()
        flat = grad.reshape(-1)
        # per-sample, per-channel sum over positions of A * dL/dA (Fisher), as a batched dot
        rows = values.shape[0] * (values.shape[1] if values.dim() > 2 else 1)
        channel = torch.bmm(values.reshape(rows, 1, -1), grad.reshape(rows, -1, 1)).reshape(-1)
        low, high = torch.aminmax(flat)
        gradient_totals[:, index] += torch.stack([
            flat.sum(), torch.dot(flat, flat), torch.dot(torch.sign(flat), flat),
            torch.dot(channel, channel)]).double()
        gradient_maximum[index] = torch.maximum(gradient_maximum[index],
                                                torch.maximum(-low, high).double())
        return None

    handles = []
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            handles.append(module.register_forward_hook(relu_hook))
    for _, module in layers:
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(forward_hook))

    model.zero_grad(set_to_none=True)
    chunk_gradients: list[list[torch.Tensor]] = []
    previous = [torch.zeros_like(w) for w in weights]
    jacobians, logits_all, loss_total = [], [], 0.0
    try:
        for chunk, index in enumerate(positions):
            state["chunk"] = chunk
            state["books"].append(_CodeBook())
            state["layer_sources"].append([-1] * layer_count)
            inputs = images[index].detach().clone().requires_grad_(True)
            logits = model(inputs)
            state["books"][-1].release()
            state["collect"] = False
            (jacobian,) = torch.autograd.grad(logits.sum(), inputs, retain_graph=True)
            jacobians.append(jacobian.detach().flatten(1))
            loss = F.cross_entropy(logits, labels[index], reduction="sum") / count
            state["collect"] = True
            loss.backward()
            state["collect"] = False
            loss_total += float(loss.detach())
            logits_all.append(logits.detach())
            current = [w.grad.detach().clone() if w.grad is not None else torch.zeros_like(w) for w in weights]
            chunk_gradients.append([c - p for c, p in zip(current, previous)])
            previous = current
    finally:
        for handle in handles:
            handle.remove()

    full = previous  # accumulated full-batch gradient of the mean loss
    # weights, gradients, saliencies
    rows = {key: [] for key in ("weight_sum", "weight_squares", "weight_absolute", "weight_maximum",
                                 "weight_elements", "gradient_sum", "gradient_squares",
                                 "gradient_absolute", "gradient_maximum", "snip", "weight_gradient",
                                 "gradient_signal_to_noise")}
    for weight, grad, index in zip(weights, full, range(layer_count)):
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
        if len(chunk_gradients) == 2:
            # two chunks: std = |g0 - g1| / 2 and mean |g| = (|g0| + |g1|) / 2 (cheaper than std)
            first, second = chunk_gradients[0][index].double(), chunk_gradients[1][index].double()
            deviation = (first - second).abs()
            mean_absolute = first.abs() + second.abs()
            nonzero = deviation > 0
            total = (mean_absolute[nonzero] / deviation[nonzero]).sum()
            rows["gradient_signal_to_noise"].append(torch.log(total) if total > 0 else total * 0.0)
            continue
        stacked = torch.stack([parts[index].double() for parts in chunk_gradients])
        if stacked.shape[0] > 1:
            deviation = stacked.std(dim=0, unbiased=False)
            mean_absolute = stacked.abs().mean(dim=0)
            nonzero = deviation > 0
            total = (mean_absolute[nonzero] / deviation[nonzero]).sum()
            rows["gradient_signal_to_noise"].append(torch.log(total) if total > 0 else total * 0.0)
        else:
            rows["gradient_signal_to_noise"].append(torch.zeros((), dtype=torch.float64, device=device))
    for key, values in rows.items():
        record.layer[key] = _to_numpy(torch.stack(values)) if values else np.zeros(0)
    for row, key in enumerate(("sum", "squares", "absolute", "positive", "elements")):
        record.layer["activation_" + key] = _to_numpy(activation_totals[row])
    record.layer["activation_size"] = _to_numpy(activation_size)
    for row, key in enumerate(("sum", "squares", "absolute", "fisher")):
        record.layer["activation_gradient_" + key] = _to_numpy(gradient_totals[row])
    record.layer["activation_gradient_maximum"] = _to_numpy(gradient_maximum)
    record.layer["channel_correlation_min_eigenvalue"] = _to_numpy(meco)

    # binary codes: NASWOT kernel (ReLU modules, as the references) and SWAP patterns
    books: list[_CodeBook] = state["books"]
    source_count = len(books[0].codes)
    if any(len(book.codes) != source_count for book in books):
        raise RuntimeError("the network's forward pass differs between chunks")
    kernel_total = torch.zeros((count, count), dtype=torch.float64, device=device)
    relu_keys = []
    source_logdet: dict[int, float] = {}
    source_patterns: dict[int, int] = {}
    used_by_layers = set(state["layer_sources"][0])
    identity = torch.eye(count, dtype=torch.float64, device=device)
    for source in range(source_count):
        codes = torch.cat([book.codes[source] for book in books], dim=0)
        calls = books[0].relu_calls[source]
        needed = calls > 0 or source in used_by_layers
        if not needed:
            continue
        values = _code_matrix(codes)
        kernel = _binary_kernel(values)
        keys = _pattern_keys(values) if codes.shape[1] else torch.zeros(0, dtype=torch.int64, device=device)
        if calls:
            kernel_total += calls * kernel
            relu_keys.append(keys)
        if source in used_by_layers:
            width = max(codes.shape[1], 1)
            source_logdet[source] = float(torch.linalg.slogdet(kernel / width + LAYER_KERNEL_RIDGE * identity)[1])
            source_patterns[source] = _unique_count(keys)
    layer_sources = state["layer_sources"][0]
    record.layer["naswot_layer_logdet"] = np.asarray([source_logdet.get(s, 0.0) for s in layer_sources])
    record.layer["activation_pattern_count"] = np.asarray([float(source_patterns.get(s, 0)) for s in layer_sources])
    if relu_keys:
        record.network["naswot"] = float(torch.linalg.slogdet(kernel_total)[1])
        record.network["swap"] = float(_unique_count(torch.cat(relu_keys, dim=0)))
    else:
        record.network["naswot"] = 0.0
        record.network["swap"] = 0.0
    del books, state

    jacobian = torch.cat(jacobians, dim=0)
    record.network["jacob_cov"] = jacobian_covariance_score(jacobian)
    record.network["input_jacobian_l2_norm"] = float(torch.linalg.vector_norm(jacobian.double()))
    logits = torch.cat(logits_all, dim=0)
    record.network["cross_entropy_loss"] = loss_total
    record.network["logit_std"] = float(logits.double().std(unbiased=False))
    record.passes.add("main")
    return [full, chunk_gradients[0], positions[0]]


# --------------------------------------------------------------------------------------
# synflow


def _without_batchnorm(model: nn.Module) -> nn.Module:
    """Return a deep copy of ``model`` whose BatchNorm layers are identities."""
    clone = copy.deepcopy(model)
    for module in list(clone.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, _BatchNorm):
                setattr(module, child_name, nn.Identity())
    return clone


def _identity(inputs: torch.Tensor) -> torch.Tensor:
    return inputs


class _Preserved:
    """Context manager restoring a model's dtype, parameters and buffers on exit.

    Cheaper than ``copy.deepcopy`` (only tensors are copied), so passes that transform the
    network (synflow's |W| in float64, the noise pass's Gaussian re-initialisation) work on
    the model itself and leave it exactly as it was.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.bypassed: list[nn.Module] = []

    def __enter__(self) -> "_Preserved":
        parameter = next(self.model.parameters())
        self.dtype = parameter.dtype
        self.training = self.model.training
        self.snapshot = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return self

    def bypass_batchnorm(self) -> None:
        """Make every BatchNorm layer an identity until exit."""
        for module in self.model.modules():
            if isinstance(module, _BatchNorm):
                module.forward = _identity
                self.bypassed.append(module)

    def __exit__(self, *exc) -> None:
        for module in self.bypassed:
            module.__dict__.pop("forward", None)
        self.model.to(self.dtype)
        self.model.load_state_dict(self.snapshot)
        self.model.zero_grad(set_to_none=True)
        self.model.train(self.training)


def synflow_pass(model: nn.Module, input_shape: tuple[int, ...], record: ProbeRecord) -> None:
    """SynFlow (Tanaka et al. 2020) per weighted layer, as in the zero-cost-nas / FreeREA code.

    The network in float64 with every parameter replaced by its absolute value and
    BatchNorm bypassed is fed one all-ones image; R = sum of the logits is back-propagated.
    Per layer: ``synflow = sum |W * dR/dW|`` and FreeREA's
    ``logsynflow = sum |W * log(dR/dW + 1)|``. The model is restored afterwards.
    """
    from core.spaces import weighted_layers

    with _Preserved(model) as preserved:
        preserved.bypass_batchnorm()
        model.double().train()
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.abs_()
        model.zero_grad(set_to_none=True)
        parameter = next(model.parameters())
        ones = torch.ones((1,) + tuple(input_shape[1:]), dtype=torch.float64, device=parameter.device)
        model(ones).sum().backward()
        synflow, logsynflow = [], []
        for _, module in weighted_layers(model):
            weight = module.weight.detach()
            grad = module.weight.grad
            if grad is None:
                grad = torch.zeros_like(weight)
            synflow.append((weight * grad).abs().sum())
            logsynflow.append((weight * torch.log(grad + 1.0)).abs().sum())
    record.layer["synflow"] = _to_numpy(torch.stack(synflow))
    record.layer["logsynflow"] = _to_numpy(torch.stack(logsynflow))
    record.passes.add("synflow")


# --------------------------------------------------------------------------------------
# noise


def _gaussian_copy(model: nn.Module, seed: int) -> nn.Module:
    """Return a deep copy of ``model`` re-initialised as in Zen-NAS (used by the naive benchmark)."""
    return _gaussian_initialise(copy.deepcopy(model), seed)


def _gaussian_initialise(clone: nn.Module, seed: int) -> nn.Module:
    """Re-initialise ``clone`` in place as in Zen-NAS: N(0, 1) weights, BN 1/0, fresh BN statistics."""
    generator = torch.Generator().manual_seed(int(seed) + 7919)
    with torch.no_grad():
        for module in clone.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator).to(module.weight.device))
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, _BatchNorm):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                    module.bias.zero_()
                module.reset_running_stats()
    return clone.train()


def noise_pass(model: nn.Module, images: torch.Tensor, seed: int, record: ProbeRecord,
               batch: int = NOISE_BATCH) -> None:
    """Zen-score (Lin et al. 2021) and per-layer noise sensitivity on Gaussian inputs.

    On a Zen-style N(0, 1)-initialised copy in train mode: ``x`` and ``n`` Gaussian,
    ``zen = log(mean_b sum |f(x) - f(x + 0.01 n)|) + sum_BN log sqrt(mean running_var)``
    with ``f`` the features before global average pooling. Per weighted layer:
    ``noise_sensitivity = ||A(x + 0.01 n) - A(x)|| / ||A(x)||`` on the first samples.
    """
    from core.images import noise_batch

    size = max(1, min(int(batch), images.shape[0]))
    like = images[:size]
    first = noise_batch(like, seed)
    mixed = first + ZEN_MIXUP_GAMMA * noise_batch(like, int(seed) + 1)
    with _Preserved(model):
        _zen_score(_gaussian_initialise(model, seed), first, mixed, record)
    record.passes.add("noise")


def _zen_score(clone: nn.Module, first: torch.Tensor, mixed: torch.Tensor, record: ProbeRecord) -> None:
    from core.spaces import weighted_layers

    layers = weighted_layers(clone)
    pools = [m for m in clone.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    tap = pools[-1] if pools else layers[-1][1]
    kept = NOISE_SENSITIVITY_SAMPLES
    stored: dict[int, torch.Tensor] = {}
    features: list[torch.Tensor] = []
    sensitivity = torch.zeros(len(layers), dtype=torch.float64, device=first.device)
    position_of = {id(module): index for index, (_, module) in enumerate(layers)}
    phase = {"value": 0}

    def layer_hook(module, inputs, output):
        index = position_of[id(module)]
        values = output.detach()[:kept].double()
        if phase["value"] == 0:
            stored[index] = values
        else:
            reference = stored.pop(index)
            norm = torch.linalg.vector_norm(reference)
            change = torch.linalg.vector_norm(values - reference)
            sensitivity[index] = change / norm if norm > 0 else change * 0.0

    def tap_hook(module, inputs):
        features.append(inputs[0].detach().double())

    handles = [module.register_forward_hook(layer_hook) for _, module in layers]
    handles.append(tap.register_forward_pre_hook(tap_hook))
    try:
        with torch.no_grad():
            clone(first)
            phase["value"] = 1
            clone(mixed)
    finally:
        for handle in handles:
            handle.remove()
    difference = (features[0] - features[1]).abs()
    per_sample = difference.sum(dim=tuple(range(1, difference.dim())))
    score = float(torch.log(per_sample.mean()))
    for module in clone.modules():
        if isinstance(module, nn.BatchNorm2d) and module.running_var is not None:
            score += float(torch.log(torch.sqrt(module.running_var.double().mean())))
    record.network["zen_score"] = score
    record.layer["noise_sensitivity"] = _to_numpy(sensitivity)


# --------------------------------------------------------------------------------------
# grasp


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
    record.layer["grasp"] = _to_numpy(torch.stack(values))
    record.passes.add("grasp")
