"""What every pass shares: the raw-result record, tensor conversion, model preservation.

Called by the pass modules of :mod:`greenmachine.probe.passes`, by :mod:`greenmachine.probe.engine` (which
creates the :class:`ProbeRecord`) and by :mod:`greenmachine.probe.statistics` (which reads it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.overrides import TorchFunctionMode


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
    undefined : dict of str -> str
        Statistics a pass could not define for this network, and why (e.g. ``naswot`` of a
        network without ReLU-family activations).
    broken_passes : dict of str -> str
        Passes whose network output was not finite, and what was seen: every statistic of
        such a pass is undefined.
    """

    layer_names: list[str]
    batch_size: int
    layer: dict[str, np.ndarray] = field(default_factory=dict)
    network: dict[str, float] = field(default_factory=dict)
    passes: set[str] = field(default_factory=set)
    undefined: dict[str, str] = field(default_factory=dict)
    broken_passes: dict[str, str] = field(default_factory=dict)


def non_finite_description(values: torch.Tensor) -> str | None:
    """``"3 NaN, 1 inf of 160 values"`` when ``values`` are not all finite, else None."""
    values = values.detach()
    if bool(torch.isfinite(values).all()):
        return None
    nan = int(torch.isnan(values).sum())
    infinite = int(torch.isinf(values).sum())
    return f"{nan} NaN, {infinite} inf of {values.numel()} values"


def to_numpy(values: torch.Tensor) -> np.ndarray:
    """A float64 NumPy copy of ``values`` (detached, on the CPU)."""
    return values.detach().to("cpu", torch.float64).numpy().copy()


def _identity(inputs: torch.Tensor) -> torch.Tensor:
    return inputs


def set_training(modules: list[nn.Module], mode: bool) -> None:
    """Set the training flag of every module of ``modules`` (the list of a whole model).

    Equivalent to ``model.train(mode)`` on the model whose ``modules()`` they are, without
    its recursive walk: the flag is written directly, except for modules that override
    ``train`` (their own method is called).
    """
    for module in modules:
        if type(module).train is nn.Module.train:
            module.__dict__["training"] = mode
        else:
            module.train(mode)


class Preserved:
    """Context manager restoring a model's parameters, buffers and training flags on exit.

    Cheaper than ``copy.deepcopy`` or a ``state_dict`` round trip: on entry every parameter's
    and buffer's tensor is set aside and (with ``copy=True``) replaced by a copy the pass may
    modify in place; on exit the original tensors are put back, so the model is exactly as
    it was (same values, dtype and tensor objects) whatever the pass did to the copies:
    a dtype change (synflow's float64), in-place re-initialisation (the noise pass). Passes
    that only replace tensors (``model.double()``) use ``copy=False``. Gradients are None
    on exit, as after ``model.zero_grad(set_to_none=True)``.

    Attributes
    ----------
    modules : list of torch.nn.Module
        ``list(model.modules())``, for the pass to reuse.
    """

    def __init__(self, model: nn.Module, copy: bool = True) -> None:
        self.model = model
        self.copy = copy
        self.bypassed: list[nn.Module] = []

    def __enter__(self) -> "Preserved":
        self.modules = list(self.model.modules())
        self.training = [(module, module.training) for module in self.modules]
        self.parameters: list[tuple[nn.Parameter, torch.Tensor]] = []
        self.buffers: list[tuple[dict, str, torch.Tensor]] = []
        replacements: dict[int, torch.Tensor] = {}
        for module in self.modules:
            for parameter in module._parameters.values():
                if parameter is None or id(parameter) in replacements:
                    continue
                replacements[id(parameter)] = parameter
                parameter.grad = None
                self.parameters.append((parameter, parameter.data))
                if self.copy:
                    parameter.data = parameter.data.clone()
            for name, buffer in module._buffers.items():
                if buffer is None:
                    continue
                self.buffers.append((module._buffers, name, buffer))
                if self.copy:
                    if id(buffer) not in replacements:
                        replacements[id(buffer)] = buffer.clone()
                    module._buffers[name] = replacements[id(buffer)]
        return self

    def bypass_batchnorm(self) -> None:
        """Make every BatchNorm layer an identity until exit."""
        for module in self.modules:
            if isinstance(module, _BatchNorm):
                module.forward = _identity
                self.bypassed.append(module)

    def to_float64(self) -> None:
        """``model.double()``: every floating-point parameter and buffer as a float64 copy."""
        for parameter, original in self.parameters:
            if parameter.is_floating_point():
                parameter.data = original.double()
        for buffers, name, original in self.buffers:
            if original.is_floating_point():
                buffers[name] = original.double()

    def __exit__(self, *exc) -> None:
        for module in self.bypassed:
            module.__dict__.pop("forward", None)
        for parameter, original in self.parameters:
            parameter.grad = None
            parameter.data = original
        for buffers, name, original in self.buffers:
            buffers[name] = original
        for module, mode in self.training:
            if type(module).train is nn.Module.train:
                module.__dict__["training"] = mode
            elif module.training != mode:
                module.train(mode)


class WatchedCalls(TorchFunctionMode):
    """A torch-function mode that looks only at the calls in :attr:`watched` (the activation
    and global-pooling watchers of :mod:`.activations` and :mod:`.pooling`).

    Every other torch call of the forward pass takes the fast path: it runs untouched. A
    watched call goes to :meth:`watched_call`, which runs it and returns its output.
    """

    #: The functions this mode looks at (a set or a mapping keyed by function).
    watched: frozenset | dict = frozenset()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        try:
            watched = func in self.watched
        except TypeError:  # an unhashable callable is none of ours
            watched = False
        if not watched:  # the fast path: every other torch call of the forward pass
            return func(*args, **kwargs) if kwargs else func(*args)
        return self.watched_call(func, args, kwargs or {})

    def watched_call(self, func, args: tuple, kwargs: dict):  # pragma: no cover - subclasses define it
        """Run one watched call and return its output."""
        raise NotImplementedError

