"""The features before global average pooling, however the model pools (module or functional).

Called by the noise pass (:mod:`greenmachine.probe.passes.noise`: the bank's Zen-score) and the
reference Zen-score (:mod:`greenmachine.baselines.reference.zen`), which both compare the features
a network has before its global average pooling. A :class:`torch.overrides.TorchFunctionMode`
active during the forward pass records the input of every global-average-pooling call:

* ``F.adaptive_avg_pool2d`` (so every ``nn.AdaptiveAvgPool2d``, whatever its output size, as
  the module rule these scores used before);
* ``F.avg_pool2d`` whose window covers the whole feature map (output 1 x 1);
* ``mean`` over both spatial dimensions of a 4-D tensor (``x.mean((2, 3))``, ``torch.mean``).

The last such call of a forward pass is its global pooling. Calls made inside a watched
function run with the mode switched off, so ``nn.AdaptiveAvgPool2d`` is seen once.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from greenmachine.probe.passes.common import WatchedCalls

_MEANS = (torch.mean, torch.Tensor.mean)
_WATCHED = frozenset((F.adaptive_avg_pool2d, F.avg_pool2d, *_MEANS))


def _spatial_dimensions(args: tuple, kwargs: dict) -> set[int] | None:
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    if dims is None:
        return None
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return {int(d) % 4 for d in dims}


class GlobalPoolingInputs(WatchedCalls):
    """Record the inputs of global average pooling calls while active.

    Parameters
    ----------
    keep : callable, optional
        Applied to each input when it is recorded (e.g. ``lambda x: x.detach().double()`` to
        keep a copy); default: the tensor itself.

    Attributes
    ----------
    inputs : list of torch.Tensor
        What ``keep`` made of the input of each global pooling call, in call order.
    """

    def __init__(self, keep: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        super().__init__()
        self.keep = keep
        self.inputs: list[torch.Tensor] = []

    def _record(self, tensor: torch.Tensor) -> None:
        self.inputs.append(tensor if self.keep is None else self.keep(tensor))

    watched = _WATCHED

    def watched_call(self, func, args: tuple, kwargs: dict):
        output = func(*args, **kwargs)
        tensor = args[0] if args else kwargs.get("input")
        if not isinstance(tensor, torch.Tensor) or tensor.dim() != 4:
            return output
        if func is F.adaptive_avg_pool2d:
            self._record(tensor)
        elif func is F.avg_pool2d and isinstance(output, torch.Tensor) and tuple(output.shape[-2:]) == (1, 1):
            self._record(tensor)
        elif func in _MEANS and _spatial_dimensions(args, kwargs) == {2, 3}:
            self._record(tensor)
        return output


__all__ = ["GlobalPoolingInputs"]
