"""Every activation of a forward pass, however the model applies it (module or functional).

Called by the main pass (:mod:`greenmachine.probe.passes.main`: binary ReLU codes for NASWOT and
SWAP) and by the reference baselines (:mod:`greenmachine.baselines.reference.swap` and
:mod:`greenmachine.baselines.reference.zen`). A :class:`torch.overrides.TorchFunctionMode` is active
during the forward pass and sees every call of a watched torch function, whether the model
calls it itself (``F.relu(x)``, ``x.relu()``, ``torch.relu_(x)``, ``F.relu6(x)``) or through a
module (``nn.ReLU`` calls ``F.relu``, ``nn.ReLU6`` calls ``F.hardtanh``, ``nn.LeakyReLU`` calls
``F.leaky_relu``). Each activation is seen exactly once: calls made inside a watched function
(``F.relu`` calling ``torch.relu``) run with the mode switched off.

What counts as a ReLU-family activation (decided here, documented in the README): the
piecewise-linear gates with their kink at 0, whose "on" piece passes the input on —

* ``relu`` (``F.relu``, ``F.relu_``, ``torch.relu``, ``torch.relu_``, ``Tensor.relu``,
  ``Tensor.relu_``; ``nn.ReLU``): code = output != 0, as the NASWOT and SWAP references read
  ``nn.ReLU`` outputs (so networks of ``nn.ReLU`` modules keep their values bit for bit);
* ``relu6`` and ``hardtanh`` with ``min_val = 0`` (``nn.ReLU6``), ``leaky_relu`` (``nn.LeakyReLU``),
  ``prelu`` (``nn.PReLU``) and ``rrelu`` (``nn.RReLU``): code = input > 0, the unit is on the
  piece that passes its input (for a leaky unit the other piece is the small slope).

Smooth gates (GELU, SiLU/swish, Mish, ELU, SELU, CELU, hardswish, softplus, sigmoid, tanh,
hardtanh with another range) have no such binary state: they are *seen* (so a warning can
name them) but give no codes. A model with none of the ReLU family has no NASWOT kernel and
no SWAP patterns: those statistics are undefined for it (see :data:`NO_RELU`).

Only calls on a tensor whose first dimension is the batch are recorded (an activation of a
weight, a mask or a sequence-first tensor is not a unit of the network's samples). Calls
compiled away from Python (TorchScript, ``torch.compile``) are not seen.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from greenmachine.probe.passes.common import WatchedCalls

#: Kinds of watched calls.
RELU, PIECEWISE, SMOOTH = "relu", "piecewise", "smooth"

#: Reason recorded for the statistics that need a ReLU-family activation when there is none.
NO_RELU = "no ReLU-family activation (relu, relu6, leaky_relu, prelu, rrelu) acts on the units of its forward pass"

_RELU = {F.relu: "relu", torch.relu: "relu", torch.relu_: "relu_", torch.Tensor.relu: "relu",
         torch.Tensor.relu_: "relu_"}
_PIECEWISE = {F.relu6: "relu6", F.leaky_relu: "leaky_relu", F.leaky_relu_: "leaky_relu_", F.prelu: "prelu",
              torch.prelu: "prelu", F.rrelu: "rrelu", torch.rrelu: "rrelu", torch.rrelu_: "rrelu_"}
_HARDTANH = {F.hardtanh: "hardtanh", F.hardtanh_: "hardtanh_"}
_SMOOTH = {F.gelu: "gelu", F.silu: "silu", F.mish: "mish", F.elu: "elu", F.selu: "selu", F.celu: "celu",
           F.hardswish: "hardswish", F.softplus: "softplus", torch.sigmoid: "sigmoid",
           torch.Tensor.sigmoid: "sigmoid", torch.tanh: "tanh", torch.Tensor.tanh: "tanh"}


#: Every watched function: (kind, name); hardtanh's kind depends on its range (kind None).
_WATCHED = {**{func: (RELU, name) for func, name in _RELU.items()},
            **{func: (PIECEWISE, name) for func, name in _PIECEWISE.items()},
            **{func: (None, name) for func, name in _HARDTANH.items()},
            **{func: (SMOOTH, name) for func, name in _SMOOTH.items()}}


def _hardtanh_minimum(args: tuple, kwargs: dict) -> float:
    value = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
    return float(value)


def watched_kind(func: Callable, args: tuple, kwargs: dict) -> tuple[str, str] | None:
    """``(kind, name)`` of a torch function call the probe watches, else None."""
    try:
        watched = _WATCHED.get(func)
    except TypeError:  # an unhashable callable is none of ours
        return None
    if watched is None or watched[0] is not None:
        return watched
    # hardtanh(0, m) is relu6's family (nn.ReLU6 calls it so); another range is tanh-like
    return (PIECEWISE if _hardtanh_minimum(args, kwargs) == 0.0 else SMOOTH), watched[1]


#: ``callback(kind, name, input, output, codes)``: ``codes`` is the boolean ``input > 0``
#: (taken before the call, so in-place calls are read correctly) for piecewise kinds, None
#: for ``relu`` (its codes are read from the output) and smooth kinds.
Callback = Callable[[str, str, torch.Tensor, torch.Tensor, "torch.Tensor | None"], None]


class ActivationCalls(WatchedCalls):
    """Report every watched activation call of the forward passes run while it is active.

    Parameters
    ----------
    callback : Callback
        Called after each watched call on a batch-first tensor.
    rows : int or None
        The batch size of the forward pass; calls on a tensor whose first dimension differs
        (or a 0-dimensional one) are not reported. None: every call is reported.

    Attributes
    ----------
    seen : dict of str -> int
        Watched calls by function name (every one, reported or not).
    """

    def __init__(self, callback: Callback, rows: int | None = None) -> None:
        super().__init__()
        self.callback = callback
        self.rows = rows
        self.seen: dict[str, int] = {}

    watched = _WATCHED

    def watched_call(self, func, args: tuple, kwargs: dict):
        kind, name = watched_kind(func, args, kwargs)  # type: ignore[misc] - watched, so not None
        self.seen[name] = self.seen.get(name, 0) + 1
        tensor = args[0] if args else kwargs.get("input")
        usable = (isinstance(tensor, torch.Tensor) and tensor.dim() > 0
                  and (self.rows is None or tensor.shape[0] == self.rows))
        codes = tensor.detach() > 0 if usable and kind == PIECEWISE else None
        output = func(*args, **kwargs)
        if usable and isinstance(output, torch.Tensor):
            self.callback(kind, name, tensor, output, codes)
        return output

    def describe_seen(self) -> str:
        """The watched activations that ran, e.g. ``"gelu x12, sigmoid x3"`` (``"none"`` if none)."""
        return ", ".join(f"{name} x{count}" for name, count in sorted(self.seen.items())) or "none"


__all__ = ["ActivationCalls", "Callback", "NO_RELU", "PIECEWISE", "RELU", "SMOOTH", "watched_kind"]
