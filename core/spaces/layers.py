"""The weighted layers of a network, in the order its forward pass runs them.

Called by the probe (:func:`greenmachine.probe.engine.probe_model`), whose per-layer statistics are
vectors in this order, and by the scripts that time the probe.

A *weighted layer* is an ``nn.Conv2d`` or ``nn.Linear`` module. For any network the order
is taken from a forward pass (:func:`forward_layers`): a layer is placed where it first
runs, so a model that registers its head before its body is still read body first. A
layer that never runs on the example input is left out; a layer that runs twice (weight
sharing) is listed once, at its first call. :func:`weighted_layers` is the cheap walk of
``named_modules`` for the built-in NATS-Bench networks, whose registration order equals
their execution order (tested in ``tests/unit/spaces/test_spaces.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from greenmachine.errors import GMError

WEIGHTED_TYPES = (nn.Conv2d, nn.Linear)
"""Module types the probe reads as layers."""


class LayerError(GMError):
    """A model the probe cannot read (no weighted layer, or a forward pass that fails)."""


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """List every ``Conv2d`` and ``Linear`` layer of a model in registration order.

    Parameters
    ----------
    model : torch.nn.Module
        A network whose registration order equals its execution order (the NATS-Bench
        networks built by :mod:`greenmachine.spaces`); for any other model use
        :func:`forward_layers`.

    Returns
    -------
    list of (str, torch.nn.Module)
        Qualified module name and module, e.g. ``("cells.0.edges.0.op.1", Conv2d(...))``.
    """
    return [(name, module) for name, module in model.named_modules()
            if isinstance(module, WEIGHTED_TYPES)]


def forward_layers(model: nn.Module, example: torch.Tensor) -> list[tuple[str, nn.Module]]:
    """List the ``Conv2d`` and ``Linear`` layers of ``model`` in the order a forward pass runs them.

    The pass runs on ``example`` (one or a few images) in evaluation mode without gradients,
    so BatchNorm running statistics and the weights are left as they were; the model's
    training flag is restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        Any network.
    example : torch.Tensor
        An input batch on the model's device.

    Returns
    -------
    list of (str, torch.nn.Module)
        Qualified name and module of each weighted layer that ran, at its first call.

    Raises
    ------
    LayerError
        If the model has no Conv2d/Linear layer, the forward pass fails, or no weighted
        layer runs; the message names the model class.
    """
    names = {module: name for name, module in model.named_modules() if isinstance(module, WEIGHTED_TYPES)}
    kind = type(model).__name__
    if not names:
        raise LayerError(f"model {kind} has no Conv2d or Linear layer for the probe to read")
    order: list[tuple[str, nn.Module]] = []
    seen: set[int] = set()

    def record(module: nn.Module, inputs, output) -> None:
        if id(module) not in seen:
            seen.add(id(module))
            order.append((names[module], module))

    handles = [module.register_forward_hook(record) for module in names]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(example)
    except Exception as exc:
        raise LayerError(f"model {kind} failed on an input of shape {tuple(example.shape)}: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if not order:
        raise LayerError(f"no Conv2d or Linear layer of model {kind} ran in its forward pass")
    return order


class LogitsOf(nn.Module):
    """A model whose forward returns ``(features, logits)``, seen as one that returns logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)[1]


def model_name(model: nn.Module) -> str:
    """The class name of ``model`` as the user wrote it (through a :class:`LogitsOf` wrapper)."""
    return type(model.model if isinstance(model, LogitsOf) else model).__name__


def _check_classes(kind: str, logits: torch.Tensor, classes: int | None) -> None:
    if classes is not None and logits.shape[1] != int(classes):
        raise LayerError(f"model {kind} gives {logits.shape[1]} logits per image, but the dataset has {int(classes)} "
                         f"classes: the model needs one logit per class")


def readable_model(model: nn.Module, example: torch.Tensor, classes: int | None = None) -> nn.Module:
    """Return ``model`` in the form the probe reads: a forward that returns logits.

    A model returning a ``(batch, classes)`` tensor is returned as is; one returning a
    ``(features, logits)`` pair is wrapped in :class:`LogitsOf` (its layers keep their
    modules; their names gain a ``model.`` prefix). With ``classes`` (the dataset's class
    count) the logits must have exactly that many columns.

    Raises
    ------
    LayerError
        Not an ``nn.Module``; no Conv2d/Linear layer; a forward pass that fails; an output
        that is neither a ``(batch, classes)`` tensor nor a ``(features, logits)`` pair; a
        class count other than ``classes``.
    """
    if not isinstance(model, nn.Module):
        raise LayerError(f"expected a torch.nn.Module, got {type(model).__name__}")
    kind = type(model).__name__
    if not any(isinstance(module, WEIGHTED_TYPES) for module in model.modules()):
        raise LayerError(f"model {kind} has no Conv2d or Linear layer for the probe to read")
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            output = model(example)
    except Exception as exc:
        raise LayerError(f"model {kind} failed on an input of shape {tuple(example.shape)}: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    finally:
        model.train(was_training)
    if isinstance(output, torch.Tensor) and output.dim() == 2:
        _check_classes(kind, output, classes)
        return model
    if (isinstance(output, (tuple, list)) and len(output) == 2
            and all(isinstance(part, torch.Tensor) for part in output) and output[1].dim() == 2):
        _check_classes(kind, output[1], classes)
        return LogitsOf(model)
    shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
    raise LayerError(f"model {kind} returns {shape}; the probe needs logits (batch, classes) or a "
                     f"(features, logits) pair")


__all__ = ["LayerError", "LogitsOf", "WEIGHTED_TYPES", "forward_layers", "model_name", "readable_model",
           "weighted_layers"]
