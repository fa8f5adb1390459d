"""The dataflow graph of a forward pass, and the network statistics read from it.

Called by the structure pass (:func:`greenmachine.probe.passes.structure.structure_pass`) and by
the engine (:func:`greenmachine.probe.engine.probe_model`), which record the graph during the one
batch-1 forward the structure stage already runs (the forward that finds the layer order, or
the structure pass's own), so the graph statistics cost no forward pass of their own.

How the graph is traced: a :class:`torch.overrides.TorchFunctionMode` (the mechanism that
:mod:`greenmachine.probe.passes.activations` uses for activations) sees every torch call of the
forward pass, whether the model calls it itself (``x + y``, ``torch.cat``, ``F.relu``) or
through a module (``nn.Conv2d`` calls ``F.conv2d``). Each call whose output is a tensor
becomes a node; its parents are the nodes that produced its tensor arguments, once per
argument (``x + x`` is two paths). The model's input is node 0; a tensor that no traced call
produced from the input (a parameter, a buffer, ``torch.zeros``) is a constant and adds no
parent. Weighted layers (``nn.Conv2d``, ``nn.Linear``, as everywhere in the probe) are the
``F.conv2d`` / ``F.linear`` calls on a stock layer's weight, or the output of a layer module
with its own ``forward`` (a forward hook). Calls made inside a traced call (``F.relu``
calling ``torch.relu``) are not traced again, an ``nn.Identity`` adds no node (it returns its
input), and the call of a module without submodules defined outside ``torch`` is one node
(the inner calls of the built-in ``avg_pool_3x3``, nine shifted sums, are not nine paths).

What cuts a path: a result that does not depend on the *values* of its tensor argument has no
parent there —

* a multiplication by the number 0 (``x.mul(0.0)``, ``x * 0``: the NATS-Bench ``none``
  operation, :class:`greenmachine.spaces.operations.Zero`);
* a tensor made from another's shape only (``torch.zeros_like``, ``x.new_zeros``, ...) and
  an in-place overwrite (``x.zero_()``, ``x.fill_(v)``, ``x.copy_(y)`` keeps only ``y``);
* ``type_as``, ``expand_as``, ``view_as``, ``reshape_as`` read only the shape of their second
  argument.

A multiplication by a zero *tensor*, or ``x - x``, is not recognised (the graph keeps the
path). Why not ``torch.fx``: symbolic tracing runs no forward, but it fails on any
data-dependent control flow, on shape arithmetic (``batch, _, h, w = x.shape``) and on
device checks (``if x.device.type == 'cpu'``, as the built-in ``avg_pool_3x3`` does), so it
would need a fallback for the built-in spaces themselves; the forward the structure stage
runs anyway sees exactly what the model did, for any ``nn.Module``.

What is not seen: code compiled away from Python (TorchScript, ``torch.compile``). A model
with such a module, or whose output was not produced by a traced call, gets every graph
statistic as undefined (:data:`GRAPH_STATISTICS`, with :data:`UNTRACEABLE` as the reason).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

#: Tensor attribute holding the node that produced the tensor (a recording token plus the node).
TAG = "_greenmachine_dataflow_node"
_SPAN = 1 << 32
#: The node index (within a recording's span) marking a tensor as constant.
_CONSTANT = _SPAN - 1
_TOKENS = itertools.count(1)

#: Registered network statistics computed from the graph (all of the structure pass).
GRAPH_STATISTICS = ("input_reaches_output", "longest_path_weighted_depth", "shortest_path_weighted_depth",
                    "weighted_path_count_log", "operation_path_count_log", "longest_path_mean_width",
                    "longest_path_minimum_width")

#: Why the graph statistics are undefined for a model whose forward pass the probe cannot trace.
UNTRACEABLE = "its forward pass runs code the probe cannot trace (TorchScript or torch.compile)"

_ZERO_PRODUCT, _TEMPLATE_FIRST, _TEMPLATE_SECOND = "zero product", "template first", "template second"
_RULES = {
    **{func: _ZERO_PRODUCT for func in (torch.mul, torch.multiply, Tensor.mul, Tensor.mul_, Tensor.multiply,
                                        Tensor.multiply_, Tensor.__mul__, Tensor.__rmul__, Tensor.__imul__)},
    **{func: _TEMPLATE_FIRST for func in (torch.zeros_like, torch.ones_like, torch.empty_like, torch.full_like,
                                          torch.rand_like, torch.randn_like, torch.randint_like, Tensor.new_zeros,
                                          Tensor.new_ones, Tensor.new_empty, Tensor.new_full, Tensor.new_tensor,
                                          Tensor.zero_, Tensor.fill_, Tensor.copy_)},
    **{func: _TEMPLATE_SECOND for func in (Tensor.type_as, Tensor.expand_as, Tensor.view_as, Tensor.reshape_as)},
}


#: The calls of the stock Conv2d / Linear forward, whose second argument is the layer's weight.
_LAYER_FUNCTIONS = frozenset({torch.conv2d, torch.nn.functional.linear})
_STOCK_LAYER_FORWARDS = frozenset({nn.Conv2d.forward, nn.Linear.forward})


def _width(module: nn.Module) -> int:
    """Input channels (Conv2d) or input features (Linear) of a weighted layer."""
    return int(module.in_channels if isinstance(module, nn.Conv2d) else module.in_features)


def _is_zero_number(value) -> bool:
    return isinstance(value, (bool, int, float)) and value == 0


class DataflowRecorder(TorchFunctionMode):
    """Record the dataflow graph of the next forward pass of ``model`` (a context manager).

    Use around one call of the model (the structure stage's batch-1 forward). The first call
    of ``model`` while it is active is recorded: its first positional argument is node 0,
    its output (a tensor, or the logits of a ``(features, logits)`` pair) the output node.

    Parameters
    ----------
    model : torch.nn.Module
        The network.

    Attributes
    ----------
    parents : list of tuple of int
        Parents of each node, once per tensor argument (``x + x`` has the parent of ``x``
        twice: two paths); node 0, the input, has none. Nodes are in creation order, which
        is a topological order.
    layer_width : dict of int -> int
        Weighted-layer nodes and the layer's input channels (Conv2d) or features (Linear).
    output : int or None
        The output node; None when the output is a constant (it does not depend on the input).
    traced : bool
        False when the graph cannot be trusted (see :data:`UNTRACEABLE`).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.parents: list[tuple[int, ...]] = []
        self.layer_width: dict[int, int] = {}
        self.output: int | None = None
        self.started = False
        self.finished = False
        self.traced = True
        # weighted layers with the stock forward are recognised by their weight in the
        # F.conv2d / F.linear call (no hook); other modules that need one get hooks
        self._weights: dict[int, int] = {}
        self._hooked: list[nn.Module] = []
        for module in model.modules():
            kind = type(module)
            if isinstance(module, torch.jit.ScriptModule) or kind.__name__ == "OptimizedModule":
                self.traced = False
                continue
            if kind.forward in _STOCK_LAYER_FORWARDS:
                self._weights[id(module.weight)] = _width(module)
            elif isinstance(module, (nn.Conv2d, nn.Linear)) or (
                    not kind.__module__.startswith("torch.") and next(module.children(), None) is None):
                self._hooked.append(module)
        self._offset = next(_TOKENS) * _SPAN
        self._handles: list = []
        self._starts: list[int] = []

    # --------------------------------------------------------------- hooks and mode
    def __enter__(self) -> "DataflowRecorder":
        self._handles = [handle for module in self._hooked
                         for handle in (module.register_forward_pre_hook(self._module_input),
                                        module.register_forward_hook(self._module_output))]
        self._handles += [self.model.register_forward_pre_hook(self._model_input, prepend=True),
                          self.model.register_forward_hook(self._model_output)]
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _model_input(self, module, args) -> None:
        if self.started or not args or not isinstance(args[0], Tensor):
            return
        self.started = True
        self.parents.append(())
        self._tag(args[0], self._offset)

    def _model_output(self, module, args, output) -> None:
        if self.finished or not self.started:
            return
        self.finished = True
        if isinstance(output, (tuple, list)) and len(output) == 2:
            output = output[1]
        tag = getattr(output, TAG, None) if isinstance(output, Tensor) else None
        local = -1 if tag is None else tag - self._offset
        if local == _CONSTANT:
            self.output = None
        elif 0 <= local < len(self.parents):
            self.output = local
        else:  # not produced by a traced call of this forward pass
            self.traced = False

    def _module_input(self, module, args) -> None:
        self._starts.append(len(self.parents))

    def _module_output(self, module, args, output) -> None:
        """A call of a module without submodules is one node (the paths inside it are not counted)."""
        start = self._starts.pop() if self._starts else len(self.parents)
        if not self.started or self.finished or not isinstance(output, Tensor):
            return
        node = self._node_of(output)
        if node is None:
            return
        if node >= start and any(parent >= start for parent in self.parents[node]):
            sources: set[int] = set()
            pending, seen = [node], {node}
            while pending:
                for parent in self.parents[pending.pop()]:
                    if parent < start:
                        sources.add(parent)
                    elif parent not in seen:
                        seen.add(parent)
                        pending.append(parent)
            node = len(self.parents)
            self.parents.append(tuple(sorted(sources)))
            self._tag(output, self._offset + node)
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            self.layer_width[node] = _width(module)

    def _node_of(self, tensor: Tensor) -> int | None:
        tag = getattr(tensor, TAG, None)
        if tag is None:
            return None
        local = tag - self._offset
        return local if 0 <= local < _CONSTANT else None

    @staticmethod
    def _tag(tensor: Tensor, tag: int) -> None:
        if type(tensor) is not Tensor and isinstance(tensor, nn.Parameter):
            return  # a model's own tensor keeps no tag
        try:
            setattr(tensor, TAG, tag)
        except (AttributeError, TypeError):  # a tensor type without instance attributes
            pass

    def __torch_function__(self, func, types, args=(), kwargs=None):
        output = func(*args, **kwargs) if kwargs else func(*args)
        if not self.started or self.finished:
            return output
        if isinstance(output, Tensor):
            self._record(func, args, kwargs, (output,))
        elif isinstance(output, (tuple, list)) and not isinstance(output, torch.Size):
            tensors = [value for value in output if isinstance(value, Tensor)]
            if tensors:
                self._record(func, args, kwargs, tensors)
        return output

    def _record(self, func, args: tuple, kwargs: dict | None, outputs) -> None:
        try:
            rule = _RULES.get(func)
        except TypeError:  # an unhashable callable is none of the rules
            rule = None
        if rule is None:
            values = list(args) + list(kwargs.values()) if kwargs else args
        elif rule is _ZERO_PRODUCT:
            values = () if any(_is_zero_number(value) for value in args) else args
        else:
            values = args[1:] if rule is _TEMPLATE_FIRST else args[:1]
        parents: list[int] = []  # with repeats: x + x is two paths
        offset = self._offset
        for value in values:
            if isinstance(value, Tensor):
                tag = getattr(value, TAG, None)
                if tag is not None and 0 <= tag - offset < _CONSTANT:
                    parents.append(tag - offset)
            elif isinstance(value, (tuple, list)):
                for item in value:
                    if isinstance(item, Tensor):
                        tag = getattr(item, TAG, None)
                        if tag is not None and 0 <= tag - offset < _CONSTANT:
                            parents.append(tag - offset)
        if not parents:
            for tensor in outputs:
                self._tag(tensor, offset + _CONSTANT)
            return
        node = len(self.parents)
        self.parents.append(tuple(sorted(parents)))
        for tensor in outputs:
            self._tag(tensor, offset + node)
        if func in _LAYER_FUNCTIONS and len(args) > 1:
            width = self._weights.get(id(args[1]))
            if width is not None:
                self.layer_width[node] = width


@dataclass(frozen=True)
class GraphSummary:
    """Network-level figures of a recorded dataflow graph (see :func:`summarise`).

    Attributes
    ----------
    input_reaches_output : bool
        Whether any path leads from the input to the output.
    longest_depth, shortest_depth : int
        Weighted layers on the input-output path with the most, and the fewest, of them.
    weighted_paths : int
        Distinct sequences of weighted layers along input-output paths.
    operation_paths : int
        Input-output paths through the traced calls.
    mean_width, minimum_width : float
        Mean and smallest input width of the weighted layers after the first on the main
        path (the longest one; among those, the one with the largest width sum, then the
        largest minimum); 0 when the path has fewer than two weighted layers.
    """

    input_reaches_output: bool
    longest_depth: int
    shortest_depth: int
    weighted_paths: int
    operation_paths: int
    mean_width: float
    minimum_width: float


NO_PATH = GraphSummary(False, 0, 0, 0, 0, 0.0, 0.0)


def summarise(parents: list[tuple[int, ...]], layer_width: dict[int, int], output: int | None) -> GraphSummary:
    """Depths, path counts and main-path width of a dataflow graph from node 0 to ``output``.

    Parameters
    ----------
    parents : list of tuple of int
        Parents of each node, in a topological order; node 0 is the input.
    layer_width : dict of int -> int
        The weighted-layer nodes and their input widths.
    output : int or None
        The output node (None: the output is constant).

    Returns
    -------
    GraphSummary
        Exact integer counts (path counts are Python integers, however many); only nodes on
        some input-output path take part.
    """
    if output is None or not parents:
        return NO_PATH
    reached = [True] + [False] * output  # from the input
    for node in range(1, output + 1):
        reached[node] = any(reached[p] for p in parents[node])
    on_path = [False] * (output + 1)  # reached, and reaching the output
    on_path[output] = reached[output]
    for node in range(output, 0, -1):
        if on_path[node]:
            for parent in parents[node]:
                on_path[parent] = reached[parent]
    if not on_path[output]:
        return NO_PATH
    longest = {0: 0}
    shortest = {0: 0}
    operation_paths = {0: 1}
    weighted_paths = {0: 1}
    frontier: dict[int, frozenset] = {0: frozenset((0,))}
    main = {0: (0, 0, math.inf)}  # (weighted depth, width sum, width minimum) of the main path
    for node in range(1, output + 1):
        if not on_path[node]:
            continue
        sources = [p for p in parents[node] if on_path[p]]
        width = layer_width.get(node)
        weight = 0 if width is None else 1
        longest[node] = weight + max(longest[p] for p in sources)
        shortest[node] = weight + min(shortest[p] for p in sources)
        operation_paths[node] = sum(operation_paths[p] for p in sources)
        layers = frontier[sources[0]] if len(sources) == 1 else frozenset().union(*(frontier[p] for p in sources))
        best = max(main[p] for p in sources)
        if width is None:
            frontier[node] = layers
            main[node] = best
        else:
            frontier[node] = frozenset((node,))
            weighted_paths[node] = sum(weighted_paths[u] for u in layers)
            depth, total, smallest = best
            main[node] = (1, 0, math.inf) if depth == 0 else (depth + 1, total + width, min(smallest, width))
    depth, total, smallest = main[output]
    return GraphSummary(
        input_reaches_output=True, longest_depth=longest[output], shortest_depth=shortest[output],
        weighted_paths=sum(weighted_paths[u] for u in frontier[output]), operation_paths=operation_paths[output],
        mean_width=total / (depth - 1) if depth >= 2 else 0.0, minimum_width=float(smallest) if depth >= 2 else 0.0)


def record_graph(recorder: DataflowRecorder, record) -> None:
    """Store the graph's figures in ``record.network`` (and why they are undefined, if so).

    Parameters
    ----------
    recorder : DataflowRecorder
        A recorder that watched one forward pass of the model.
    record : greenmachine.probe.passes.ProbeRecord
        Filled in place: ``dataflow_*`` network values.
    """
    traced = recorder.traced and recorder.started and recorder.finished
    summary = summarise(recorder.parents, recorder.layer_width, recorder.output) if traced else NO_PATH
    record.network["dataflow_input_reaches_output"] = float(summary.input_reaches_output)
    record.network["dataflow_longest_depth"] = float(summary.longest_depth)
    record.network["dataflow_shortest_depth"] = float(summary.shortest_depth)
    record.network["dataflow_weighted_path_count_log"] = math.log(summary.weighted_paths + 1)
    record.network["dataflow_operation_path_count_log"] = math.log(summary.operation_paths + 1)
    record.network["dataflow_mean_width"] = float(summary.mean_width)
    record.network["dataflow_minimum_width"] = float(summary.minimum_width)
    if not traced:
        for name in GRAPH_STATISTICS:
            record.undefined[name] = UNTRACEABLE


__all__ = ["DataflowRecorder", "GRAPH_STATISTICS", "GraphSummary", "NO_PATH", "TAG", "UNTRACEABLE", "record_graph",
           "summarise"]
