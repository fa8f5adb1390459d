"""Binary activation codes of the main pass: the NASWOT kernel and SWAP pattern counts.

Called by :mod:`greenmachine.probe.passes.main`, whose hooks fill one :class:`CodeBook` per chunk
and which then calls :func:`record_code_statistics`; ``scripts/bench_probe.py`` times the
kernel and pattern helpers against naive references.
"""

from __future__ import annotations

import numpy as np
import torch

from greenmachine.probe.passes.common import ProbeRecord

#: Ridge added to the normalised per-layer NASWOT kernel so its log-determinant is finite.
LAYER_KERNEL_RIDGE = 1e-3
#: Keys below this are counted with a bincount instead of a sort (1 M bins at most).
_BINCOUNT_LIMIT = 1 << 20


class CodeBook:
    """Binary activation codes of one chunk, de-duplicated by tensor identity.

    A *source* is one tensor whose sign pattern (``> 0``) is recorded: the output of a
    ReLU-family call (module or functional, see :mod:`greenmachine.probe.passes.activations`), or the
    input of a weighted layer that is not such an output (image, pooled shortcut, ...).
    Several ReLUs reading the same tensor share one source (their codes are identical);
    ``relu_calls[s]`` counts them, so NASWOT's sum over ReLU calls is kept exactly.
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

    def relu(self, relu_input: torch.Tensor, relu_output: torch.Tensor, codes: torch.Tensor | None = None) -> None:
        """Record a ReLU-family call (its codes, shared with calls on the same input).

        ``codes`` (boolean, the input's shape) are given for the piecewise-linear relatives of
        ReLU (``input > 0``, see :mod:`greenmachine.probe.passes.activations`); without them the
        codes are the output's non-zero entries, as for ``relu``.
        """
        entry = self._by_relu_input.get(id(relu_input))
        if entry is not None and entry[0] is relu_input:
            source = entry[1]
        else:
            if codes is None:
                source = self._new(relu_output, nonnegative=True)
            else:
                self.codes.append(codes.reshape(codes.shape[0], -1))
                self.relu_calls.append(0)
                source = len(self.codes) - 1
            self._by_relu_input[id(relu_input)] = (relu_input, source)
        self.relu_calls[source] += 1
        self._by_tensor[id(relu_output)] = (relu_output, source)

    def layer_input(self, tensor: torch.Tensor) -> int:
        """Source of a weighted layer's input (a ReLU output already seen, or a new one)."""
        entry = self._by_tensor.get(id(tensor))
        if entry is not None and entry[0] is tensor:
            return entry[1]
        source = self._new(tensor)
        self._by_tensor[id(tensor)] = (tensor, source)
        return source

    def release(self) -> None:
        """Drop the references to the chunk's tensors (the codes are kept)."""
        self._by_relu_input.clear()
        self._by_tensor.clear()


def code_matrix(codes: torch.Tensor) -> torch.Tensor:
    """0/1 float32 copy of an N x n boolean code matrix (via uint8: much faster than .float())."""
    return codes.contiguous().view(torch.uint8).to(torch.float32)


def binary_kernel(values: torch.Tensor) -> torch.Tensor:
    """NASWOT kernel ``C C^T + (1-C)(1-C)^T`` of an N x n 0/1 float32 code matrix (float64)."""
    inner = values @ values.T
    ones = inner.diagonal().clone()
    n = float(values.shape[1])
    # (1-C)(1-C)^T = n - r 1^T - 1 r^T + C C^T; integer-valued and exact in float32 (< 2^24).
    kernel = 2.0 * inner - ones[:, None] - ones[None, :] + n
    return kernel.to(torch.float64)


def pattern_keys(values: torch.Tensor) -> torch.Tensor:
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


def unique_count(keys: torch.Tensor) -> int:
    """Number of distinct keys (rows of a 2-D key tensor)."""
    if keys.numel() == 0:
        return 0
    if keys.dim() == 1:
        low, high = (int(value) for value in torch.aminmax(keys))
        if low >= 0 and high < _BINCOUNT_LIMIT:
            # small keys (<= 20 samples): counting them is ~10x faster than sorting them
            return int(torch.count_nonzero(torch.bincount(keys)))
        return int(torch.unique(keys).numel())
    return int(torch.unique(keys, dim=0).shape[0])


def record_code_statistics(books: list[CodeBook], layer_sources: list[int], count: int,
                           device: torch.device, record: ProbeRecord) -> None:
    """Fill the NASWOT and SWAP values of ``record`` from the chunks' code books.

    Parameters
    ----------
    books : list of CodeBook
        One per chunk, with the same sources in the same order.
    layer_sources : list of int
        Source of each weighted layer's input (first chunk).
    count : int
        Images of the whole batch (rows of the concatenated codes).
    device : torch.device
        Where the kernels are computed.
    record : ProbeRecord
        Receives ``naswot_layer_logdet``, ``activation_pattern_count`` (per layer) and the
        network values ``naswot`` (kernel of the ReLU modules, as the references) and ``swap``.

    Raises
    ------
    RuntimeError
        If the chunks recorded different sources.
    """
    source_count = len(books[0].codes)
    if any(len(book.codes) != source_count for book in books):
        raise RuntimeError("the network's forward pass differs between chunks")
    kernel_total = torch.zeros((count, count), dtype=torch.float64, device=device)
    relu_keys = []
    source_logdet: dict[int, float] = {}
    source_patterns: dict[int, int] = {}
    used_by_layers = set(layer_sources)
    identity = torch.eye(count, dtype=torch.float64, device=device)
    for source in range(source_count):
        codes = torch.cat([book.codes[source] for book in books], dim=0)
        calls = books[0].relu_calls[source]
        needed = calls > 0 or source in used_by_layers
        if not needed:
            continue
        values = code_matrix(codes)
        kernel = binary_kernel(values)
        keys = pattern_keys(values) if codes.shape[1] else torch.zeros(0, dtype=torch.int64, device=device)
        if calls:
            kernel_total += calls * kernel
            relu_keys.append(keys)
        if source in used_by_layers:
            width = max(codes.shape[1], 1)
            source_logdet[source] = float(torch.linalg.slogdet(kernel / width + LAYER_KERNEL_RIDGE * identity)[1])
            source_patterns[source] = unique_count(keys)
    record.layer["naswot_layer_logdet"] = np.asarray([source_logdet.get(s, 0.0) for s in layer_sources])
    record.layer["activation_pattern_count"] = np.asarray([float(source_patterns.get(s, 0)) for s in layer_sources])
    if relu_keys:
        record.network["naswot"] = float(torch.linalg.slogdet(kernel_total)[1])
        record.network["swap"] = float(unique_count(torch.cat(relu_keys, dim=0)))
    else:
        record.network["naswot"] = 0.0
        record.network["swap"] = 0.0
