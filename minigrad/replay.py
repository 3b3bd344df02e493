"""Replay a training step's graph instead of rebuilding it: for small batches, where an
eager step spends as long creating nodes and walking them as NumPy spends computing.

    step = replay(lambda x, t: F.softmax_cross_entropy(model(x), t))
    loss = step(x_batch, t_batch)  # the loss; the parameters' .grad now hold its gradients

The first two calls with given argument shapes run eagerly (`loss_fn(*args)`, then
`backward()`) and keep their graphs. If both calls built the same graph (same ops, same
params, same constants), later calls re-run just those ops' `forward` on the new arrays and
their backward rules in the order the eager backward uses, with no Op, graph walk or heap
per step. If the graphs differ, because the step draws random masks (dropout) or computes
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

from minigrad.ops import Op, unbroadcast
from minigrad.tensor import Tensor, _as_tensor, _root_grad, is_grad_enabled


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
        if not is_grad_enabled():  # a validation loss: no gradients, nothing to replay
            return self.loss_fn(*[Tensor.wrap(array) for array in arrays])
        key = tuple([(array.shape, array.dtype) for array in arrays])
        plan = self.plans.get(key)
        if plan is not None:
            return Tensor.wrap(plan.run(arrays))
        if key in self.plans:  # found not to repeat: a plain eager step, nothing kept
            loss = self.loss_fn(*[Tensor.wrap(array) for array in arrays])
            loss.backward()
            return Tensor.wrap(loss.data)
        trace = _Trace(self.loss_fn, arrays)
        first = self.first_traces.pop(key, None)
        if first is None:
            self.first_traces[key] = trace
            return trace.loss
        difference = first.difference(trace)
        if difference:
            warnings.warn(
                f"replay: {difference} between two calls with the same shapes, so this "
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


class _Trace:
    """One eager call of the step, with its graph kept: ops in recording order, and
    where each op's inputs come from (an earlier op, an argument, a parameter or a
    constant)."""

    def __init__(self, loss_fn: Callable[..., Tensor], arrays: list[np.ndarray]) -> None:
        self.arguments = [Tensor.wrap(array) for array in arrays]
        output = loss_fn(*self.arguments)
        if not isinstance(output, Tensor) or output.size != 1 or output.op is None:
            raise TypeError(
                "replay: the step must return a scalar Tensor computed by ops (the loss), got "
                f"{type(output).__name__} {getattr(output, 'shape', '')}"
            )
        self.output = output
        self.upstream = _root_grad(output, None, "replay")
        self.ops, self.outputs = _recorded_graph(output)
        output.backward(retain_graph=True)
        self.loss = Tensor.wrap(output.data)
        argument_ids = {id(tensor): index for index, tensor in enumerate(self.arguments)}
        position_of = {id(op): index for index, op in enumerate(self.ops)}
        self.sources = [
            [_source(tensor, argument_ids, position_of) for tensor in op.inputs] for op in self.ops
        ]

    def difference(self, other: _Trace) -> str:
        """What differs between two traces' graphs, as a phrase ('' if nothing)."""
        if len(self.ops) != len(other.ops):
            return f"the graph had {len(self.ops)} ops, then {len(other.ops)}"
        for number, (op, twin) in enumerate(zip(self.ops, other.ops)):
            where = f"'{op.label}' (op {number})"
            if type(op) is not type(twin) or not _same(op.arguments, twin.arguments):
                return f"{where} became '{twin.label}' with {twin.arguments}"
            if len(op.inputs) != len(twin.inputs):
                return f"{where} took {len(op.inputs)} inputs, then {len(twin.inputs)}"
            for position, (source, twin_source) in enumerate(
                zip(self.sources[number], other.sources[number])
            ):
                if source[0] != twin_source[0] or not _same(source[1], twin_source[1]):
                    return f"input {position} of {where} changed"
        return ""


def _recorded_graph(output: Tensor) -> tuple[list[Op], dict[int, list[Tensor]]]:
    """Every recorded op that leads to `output`, each after its inputs' ops, and each op's
    output tensors by id(op) (usually one; copies of a tensor share its op)."""
    outputs: dict[int, list[Tensor]] = {}
    ops: list[Op] = []
    seen: set[int] = set()
    stack = [output]
    while stack:
        tensor = stack.pop()
        if tensor.op is None or id(tensor) in seen:
            continue
        seen.add(id(tensor))
        if id(tensor.op) not in outputs:
            outputs[id(tensor.op)] = []
            ops.append(tensor.op)
            stack.extend(tensor.op.inputs)
        outputs[id(tensor.op)].append(tensor)
    return sorted(ops, key=lambda op: op.number), outputs


def _source(tensor: Tensor, argument_ids: dict[int, int], position_of: dict[int, int]) -> tuple:
    """Where an op's input comes from, in terms two traces can compare."""
    if tensor.op is not None:
        return ("op", position_of[id(tensor.op)])
    if id(tensor) in argument_ids:
        return ("argument", argument_ids[id(tensor)])
    if tensor.requires_grad:
        return ("parameter", id(tensor))
    return ("constant", tensor.data)


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
    """A trace as flat lists: forward steps to re-run, then backward steps in the eager
    walk's order (highest op number first), each gradient sent to a numbered slot."""

    def __init__(self, trace: _Trace) -> None:
        self.arguments = trace.arguments
        self.output = trace.output
        self.upstream = trace.upstream.data
        ops, outputs = trace.ops, trace.outputs
        self.forward_steps = [(op, op.inputs, outputs[id(op)]) for op in ops]
        slot_of = {id(op): index for index, op in enumerate(ops)}
        leaf_slots: dict[int, int] = {}  # id(parameter) -> slot, in the order the walk meets them
        self.leaves: list[Tensor] = []
        self.backward_steps = []
        for index in range(len(ops) - 1, -1, -1):
            op = ops[index]
            targets = []
            for position, parent in enumerate(op.inputs):
                if not parent.requires_grad:
                    continue
                if parent.op is not None:
                    slot = slot_of[id(parent.op)]
                else:
                    if id(parent) not in leaf_slots:
                        leaf_slots[id(parent)] = len(ops) + len(self.leaves)
                        self.leaves.append(parent)
                    slot = leaf_slots[id(parent)]
                targets.append((position, slot, parent.data.shape))
            self.backward_steps.append((op, outputs[id(op)][0], index, targets))
        self.slot_count = len(ops) + len(self.leaves)
        self.root_slot = slot_of[id(trace.output.op)]

    def run(self, arrays: list[np.ndarray]) -> np.ndarray:
        """The step on new arguments: forward, then gradients into the parameters."""
        for argument, array in zip(self.arguments, arrays):
            argument.data = array
        for op, inputs, outputs in self.forward_steps:
            if len(inputs) == 2:
                data = op.forward(inputs[0].data, inputs[1].data)
            elif len(inputs) == 1:
                data = op.forward(inputs[0].data)
            else:
                data = op.forward(*[tensor.data for tensor in inputs])
            for tensor in outputs:
                tensor.data = data
        # Rules get arrays, so `SomeOp.call` inside them computes arrays: nothing records.
        grads: list[Any] = [None] * self.slot_count
        grads[self.root_slot] = self.upstream.copy()  # it may reach a leaf's .grad as is
        for op, out, slot, targets in self.backward_steps:
            grad = grads[slot]
            if grad is None:
                continue
            grads[slot] = None
            inputs = op.inputs
            if len(inputs) == 2:
                input_grads = op.backward(grad, out.data, inputs[0].data, inputs[1].data)
            elif len(inputs) == 1:
                input_grads = op.backward(grad, out.data, inputs[0].data)
            else:
                input_grads = op.backward(grad, out.data, *[t.data for t in inputs])
            for position, target, shape in targets:
                input_grad = input_grads[position]
                if input_grad is None:
                    continue
                if input_grad.shape != shape:
                    input_grad = unbroadcast(input_grad, shape)
                pending = grads[target]
                grads[target] = input_grad if pending is None else pending + input_grad
        for leaf, grad in zip(self.leaves, grads[len(self.forward_steps) :]):
            if grad is not None:
                grad = _as_tensor(grad)
                leaf.grad = grad if leaf.grad is None else leaf.grad + grad
        return self.output.data
