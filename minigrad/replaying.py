"""Replay a training step's graph instead of rebuilding it: for small batches, where an
eager step spends as long creating nodes and walking them as NumPy spends computing.

    step = replay(lambda x, t: F.softmax_cross_entropy(model(x), t))
    loss = step(x_batch, t_batch)  # the loss; the parameters' .grad now hold its gradients

The first two calls with given argument shapes run eagerly (`loss_fn(*args)`, then
`backward()`) and keep their graphs. If both calls built the same graph (same ops, same
params, same constants), later calls re-run just those ops' `forward` on the new arrays,
then the engine's backward executor over the graph kept, with no Op or graph walk per
step. If the graphs differ, because the step draws random masks (dropout) or computes
part of its graph from the arguments outside minigrad's ops, the step keeps running
eagerly, with a warning that says which input of which op changed.

Only those first two calls are compared: from then on the graph is frozen, constants and
which tensors require grad included. Given that, the loss and gradients are the eager
ones, bit for bit. A step whose constants change later (a number read from a closure, a
value computed from the parameters) must not be replayed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import add_to_leaves, root_gradient, run_backward
from minigrad.grad_mode import Recording
from minigrad.graph import topological_order
from minigrad.tensor import Tensor


class replay:
    """Wrap `loss_fn(*args) -> scalar Tensor`; calling it returns the loss (cut from the
    graph) after adding its gradients into every parameter's `.grad`, like `backward()`.

    Arguments are data, the images and labels of a batch: arrays, or Tensors whose data is
    taken (they get no gradient). Each new combination of argument shapes and dtypes is
    traced twice first. Under `no_grad()` the step just computes the loss.
    """

    def __init__(self, loss_fn: Callable[..., Tensor]) -> None:
        self.loss_fn = loss_fn
        self.plans: dict[tuple, _Plan | None] = {}  # None: this step runs eagerly
        self.first_traces: dict[tuple, _Trace] = {}

    def __call__(self, *args: Any) -> Tensor:
        arrays = [arg.data if isinstance(arg, Tensor) else np.asarray(arg) for arg in args]
        if not Recording.enabled:  # a validation loss: no gradients, nothing to replay
            return self.loss_fn(*[Tensor.wrap(array) for array in arrays])
        if Recording.anomaly is not None:  # detect_anomaly checks ops as they are made
            return self.eager_step(arrays)
        key = tuple([(array.shape, array.dtype) for array in arrays])
        plan = self.plans.get(key)
        if plan is not None:
            return Tensor.wrap(plan.run(arrays))
        if key in self.plans:  # found not to repeat: a plain eager step, nothing kept
            return self.eager_step(arrays)
        trace = _Trace(self.loss_fn, arrays)
        first = self.first_traces.pop(key, None)
        if first is None:
            self.first_traces[key] = trace
            return trace.loss
        difference = first.difference(trace) or trace.argument_outside_ops()
        if difference:
            warnings.warn(
                f"replay: {difference}, so this "
                "step runs eagerly. Replay needs the same graph every call: its constants "
                "must not be drawn at random (dropout) or computed from the arguments "
                "outside minigrad's ops (casting a float64 batch to float32 is such a "
                "computation: pass float32).",
                stacklevel=2,
            )
            self.plans[key] = None
        else:
            self.plans[key] = _Plan(trace)
        return trace.loss

    def eager_step(self, arrays: list[np.ndarray]) -> Tensor:
        """The step as plain eager code: forward, backward, the loss cut from its graph."""
        loss = self.loss_fn(*[Tensor.wrap(array) for array in arrays])
        loss.backward()
        return Tensor.wrap(loss.data)


class _Trace:
    """One eager call of the step, with its graph kept: the engine's walk of it, and where
    each op's inputs come from (an earlier op, an argument, a parameter or a constant)."""

    def __init__(self, loss_fn: Callable[..., Tensor], arrays: list[np.ndarray]) -> None:
        self.arguments = [Tensor.wrap(array) for array in arrays]
        output = loss_fn(*self.arguments)
        if not isinstance(output, Tensor) or output.size != 1 or output.op is None:
            raise TypeError(
                "replay: the step must return a scalar Tensor computed by ops (the loss), got "
                f"{type(output).__name__} {getattr(output, 'shape', '')}"
            )
        self.output = output
        self.nodes = topological_order(output)
        output.backward(retain_graph=True)
        self.loss = Tensor.wrap(output.data)
        argument_ids = {id(tensor): index for index, tensor in enumerate(self.arguments)}
        position_of: dict[int, int] = {}
        for position, node in enumerate(self.nodes):
            position_of.setdefault(id(node.op), position)
        self.sources = [
            [_source(tensor, argument_ids, position_of) for tensor in node.op.inputs]
            for node in self.nodes
        ]

    def argument_outside_ops(self) -> str:
        """An argument whose values the graph took in as constants rather than as an op's
        input (labels used as an index, say): replaying would freeze them. '' if none."""
        used = {
            source[1] for sources in self.sources for source in sources if source[0] == "argument"
        }
        for index, argument in enumerate(self.arguments):
            if index not in used:
                return f"argument {index} reaches no op as an input (it is read outside the ops)"
            for node in self.nodes:
                if _holds(node.op.arguments, argument.data):
                    return (
                        f"argument {index} is also a param of '{node.op.label}' (an index or "
                        "a condition), so its values would be frozen"
                    )
        return ""

    def difference(self, other: _Trace) -> str:
        """What differs between two traces' graphs, as a phrase ('' if nothing)."""
        if len(self.nodes) != len(other.nodes):
            return f"the graph had {len(self.nodes)} ops, then {len(other.nodes)} between two calls"
        for number, (node, twin_node) in enumerate(zip(self.nodes, other.nodes)):
            op, twin = node.op, twin_node.op
            where = f"'{op.label}' (op {number})"
            if type(op) is not type(twin) or not _same(op.arguments, twin.arguments):
                return f"{where} became '{twin.label}' with {twin.arguments} between two calls"
            if len(op.inputs) != len(twin.inputs):
                counts = f"{len(op.inputs)} inputs, then {len(twin.inputs)}"
                return f"{where} took {counts} between two calls"
            for position, (source, twin_source) in enumerate(
                zip(self.sources[number], other.sources[number])
            ):
                if source[0] != twin_source[0] or not _same(source[1], twin_source[1]):
                    return f"input {position} of {where} changed between two calls"
        return ""


def _source(tensor: Tensor, argument_ids: dict[int, int], position_of: dict[int, int]) -> tuple:
    """Where an op's input comes from, in terms two traces can compare."""
    if tensor.op is not None:
        return ("op", position_of[id(tensor.op)])
    if id(tensor) in argument_ids:
        return ("argument", argument_ids[id(tensor)])
    if tensor.requires_grad:
        return ("parameter", id(tensor))
    return ("constant", tensor.data)


def _holds(value: Any, array: np.ndarray) -> bool:
    """Whether `array` (or a view of it) sits in `value`, inside tuples, lists and dicts too."""
    if isinstance(value, np.ndarray):
        return value.size > 0 and np.may_share_memory(value, array)
    if isinstance(value, (tuple, list)):
        return any(_holds(part, array) for part in value)
    if isinstance(value, dict):
        return any(_holds(part, array) for part in value.values())
    return False


def _same(a: Any, b: Any) -> bool:
    """Equality that compares arrays by value, inside tuples, lists and dicts too."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return a is b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b)
        )
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


class _Plan:
    """A trace to re-run: its ops' forward on new arguments, then the engine's backward
    executor over the same nodes, with the graph retained."""

    def __init__(self, trace: _Trace) -> None:
        self.arguments = trace.arguments
        self.output = trace.output
        self.nodes = trace.nodes
        # The frozen graph's root gradient, checked once; each step gets a copy, since a
        # rule may pass it on as is, into a leaf's .grad that an optimizer then changes.
        self.upstream = root_gradient(trace.output, None, "replay").data

    def run(self, arrays: list[np.ndarray]) -> np.ndarray:
        """The step on new arguments: forward, then gradients into the parameters."""
        for argument, array in zip(self.arguments, arrays):
            argument.data = array
        previous = None
        for node in self.nodes:
            op = node.op
            if op is not previous:  # copies of one tensor share its op: run it once
                data = op.forward_arrays(op, op.inputs)
                previous = op
            node.data = data
        upstream = Tensor.wrap(self.upstream.copy())
        add_to_leaves(run_backward(self.nodes, upstream, retain_graph=True))
        return self.output.data
