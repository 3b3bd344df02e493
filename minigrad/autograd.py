"""The backward engine: one executor that runs every backward rule, for `backward()`,
`gradients()`, `create_graph=True` and `replay` alike. The functional transforms built on
it (`grad`, `vjp`, `jacobian`, ...) are in `minigrad.transforms`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad import ops  # its names are read at call time: ops imports this module
from minigrad.checks import check_flag
from minigrad.grad_mode import Recording
from minigrad.graph import topological_order
from minigrad.tensor import HOOKS, Tensor, as_array

Observer = Callable[[Tensor, Tensor, list], None]
LeafGradients = dict[int, tuple[Tensor, Any]]


def root_gradient(output: Tensor, grad: Any, caller: str) -> Tensor:
    """The gradient backward starts from: 1 for a scalar output, else the `grad` given."""
    if not isinstance(output, Tensor):
        raise TypeError(f"{caller}: the output must be a Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise RuntimeError(
            f"{caller}: this tensor does not require grad: no input had requires_grad=True, "
            "or it was computed under no_grad()."
        )
    if grad is None:
        if output.size != 1:
            raise RuntimeError(
                f"{caller}: output has shape {output.shape}; a gradient is implied only for a "
                "scalar. Reduce it first (e.g. .sum()) or pass grad= of the same shape."
            )
        one = np.array(1, output.data.dtype)
        return Tensor.wrap(one.reshape(output.data.shape) if output.data.ndim else one)
    if not isinstance(grad, Tensor):
        upstream = Tensor.wrap(as_array(grad, output.dtype))
    elif grad.dtype != output.dtype and not grad.requires_grad:  # see `gradient_for`
        upstream = Tensor.wrap(grad.data.astype(output.dtype))
    else:
        upstream = grad
    if upstream.shape != output.shape:
        raise ValueError(
            f"{caller}: grad has shape {upstream.shape} but the output has shape {output.shape}"
        )
    return upstream


def run_backward(
    nodes: list[Tensor],
    upstream: Tensor,
    retain_graph: bool,
    create_graph: bool = False,
    observe: Observer | None = None,
    captured: dict[int, Tensor | None] | None = None,
) -> LeafGradients:
    """Run the backward rules of `nodes` (a `topological_order`, the root last) from the
    root's gradient `upstream`; return {id(leaf): (leaf, gradient)}.

    A plain backward runs the rules on NumPy arrays, with recording off, and the gradients
    are arrays; with `create_graph` they run on the Tensors themselves and are recorded.
    Ops whose ids are keys of `captured` get their output's full gradient stored there.
    `observe(tensor, upstream_grad, input_grads)` is called after each node, for
    step-by-step traces.
    """
    root = nodes[-1]
    if root.op is None:
        return {id(root): (root, upstream)}
    if Recording.anomaly is not None:  # detect_anomaly watches every step
        observe = _both(observe, Recording.anomaly.check_backward_step)
    # The mode is set here rather than by a `set_grad_enabled` block in each caller: that
    # context manager costs as much as a small op's rule, on every replayed step.
    outer_mode, Recording.enabled = Recording.enabled, create_graph
    try:
        return run_rules(nodes, upstream, retain_graph, create_graph, observe, captured)
    finally:
        Recording.enabled = outer_mode


def run_rules(
    nodes: list[Tensor],
    upstream: Tensor,
    retain_graph: bool,
    recording: bool,
    observe: Observer | None,
    captured: dict[int, Tensor | None] | None,
) -> LeafGradients:
    """The loop of `run_backward`, with grad mode set already."""
    root = nodes[-1]
    # Pending gradients are keyed by the op's recording number, unique to it: copies of a
    # tensor share the op that made it.
    pending: dict[int, Any] = {root.op.number: upstream if recording else upstream.data}
    leaves: LeafGradients = {}
    for tensor in reversed(nodes):
        op = tensor.op
        number, inputs = op.number, op.inputs
        grad = pending.pop(number, None)
        if grad is None:  # no rule sent it a gradient (or a copy took it already)
            continue
        if HOOKS and tensor.hooks:
            grad = run_hooks(tensor, grad, recording)
        if tensor.retains_grad or captured is not None:
            keep_gradient(tensor, gradient_for(tensor, grad), captured)
        # The rule, run on Tensors when recording and on their arrays if not, with every
        # check a rule is held to (spelled out here: this loop is the hot path).
        if op.released:
            raise RuntimeError(
                f"backward: the graph through '{op.label}' was already released by an "
                "earlier backward(); pass retain_graph=True to that first call to "
                "backpropagate through the same graph again."
            )
        try:
            if recording:
                input_grads = op.backward(grad, tensor, *inputs)
            else:
                input_grads = op.backward_arrays(op, grad, tensor)
        except (ValueError, IndexError, TypeError, AttributeError) as error:
            raise ops.OpError(rule_failure(op, grad, error)) from error
        if len(input_grads) != len(inputs):
            raise ops.OpError(
                f"{op.label}: backward returned {len(input_grads)} gradient(s) for "
                f"{len(inputs)} input(s); return one per input, None where an input gets none"
            )
        if not retain_graph:  # drop what forward saved; a second backward then raises
            op.saved = None
            op.released = True
        sent = [None] * len(input_grads) if observe is not None else None
        position = -1  # counted by hand: enumerate(zip(...)) costs more, on every node
        for parent in inputs:
            position += 1
            parent_grad = input_grads[position]
            if parent_grad is None or not parent.requires_grad:
                continue
            if recording != isinstance(parent_grad, Tensor):  # a rule mixed arrays and Tensors
                parent_grad = as_tensor(parent_grad) if recording else parent_grad.data
            shape = parent.data.shape
            if parent_grad.shape != shape:
                if parent_grad.ndim >= len(shape):
                    parent_grad = ops.unbroadcast(parent_grad, shape)
                if parent_grad.shape != shape:
                    raise ValueError(wrong_shape(op, position, parent_grad, shape))
            if sent is not None:
                sent[position] = as_tensor(parent_grad)
            parent_op = parent.op
            if parent_op is None:
                key = id(parent)
                leaf = leaves.get(key)
                leaves[key] = (parent, parent_grad if leaf is None else leaf[1] + parent_grad)
                continue
            key = parent_op.number
            if key in pending:
                pending[key] = pending[key] + parent_grad
            elif key < number:
                pending[key] = parent_grad
            else:
                raise RuntimeError(
                    f"backward: '{op.label}' was made before its input's op "
                    f"'{parent_op.label}'; an op must be made after its inputs, as "
                    "Op.apply and Op.record do"
                )
        if observe is not None:
            observe(tensor, as_tensor(grad), sent)
    return leaves


def _both(first: Observer | None, second: Observer) -> Observer:
    if first is None:
        return second

    def observe(tensor: Tensor, upstream: Tensor, input_grads: list) -> None:
        second(tensor, upstream, input_grads)
        first(tensor, upstream, input_grads)

    return observe


def rule_failure(op: ops.Op, grad: Any, error: Exception) -> str:
    """What went wrong in a backward rule, with the op, the shapes and, if it helps, the fix."""
    shapes = ", ".join(str(t.shape) for t in op.inputs)
    message = (
        f"{op.label}: backward failed for inputs of shapes {shapes} and an output "
        f"gradient of shape {tuple(np.shape(grad))}: {error}"
    )
    if isinstance(error, AttributeError):  # a Tensor method called on an array
        method = getattr(error, "name", None) or "some_op"
        maker = ops.OPS[method].__name__ if method in ops.OPS else "SomeOp"
        message += (
            f" (a plain backward gives rules arrays: write {maker}.call(x), not x.{method}())"
        )
    return message


def gradient_for(tensor: Tensor, grad: Any) -> Tensor:
    """A gradient as `tensor` keeps it: of the tensor's own dtype, so float64 data or
    targets met on the way do not give a float32 parameter a float64 `.grad`. (Under
    create_graph the gradient is a recorded Tensor and keeps the dtype its rules gave.)"""
    if isinstance(grad, Tensor):
        return grad
    dtype = tensor.data.dtype
    if grad.dtype is not dtype and grad.dtype != dtype:
        grad = grad.astype(dtype)
    return Tensor.wrap(grad if type(grad) is np.ndarray else np.asarray(grad))


def as_tensor(value: Any) -> Tensor:
    """A gradient as a Tensor (plain backward passes arrays, or NumPy scalars for 0-d)."""
    if isinstance(value, Tensor):
        return value
    return Tensor.wrap(value if type(value) is np.ndarray else np.asarray(value))


def keep_gradient(tensor: Tensor, grad: Tensor, captured: dict[int, Tensor | None] | None) -> None:
    """Store a non-leaf's gradient where it was asked for: `.grad` or `captured`."""
    if tensor.retains_grad:
        tensor.grad = grad if tensor.grad is None else tensor.grad + grad
    if captured is not None and id(tensor.op) in captured:
        captured[id(tensor.op)] = grad


def wrong_shape(op: ops.Op, position: int, grad: Any, shape: tuple[int, ...]) -> str:
    return (
        f"{op.label}: backward returned a gradient of shape {grad.shape} for input "
        f"{position} of shape {shape}; a gradient must have its input's shape "
        "(or a shape the input broadcasts to, which the engine sums back)"
    )


def run_hooks(tensor: Tensor, grad: Any, recording: bool) -> Any:
    """The tensor's hooks, in the order registered, each seeing the gradient as a Tensor;
    one that returns something replaces the gradient (as an array on a plain backward)."""
    for hook in tensor.hooks:
        replaced = hook(as_tensor(grad))
        if replaced is not None:
            if isinstance(replaced, Tensor):
                grad = replaced if recording else replaced.data
            else:
                grad = as_tensor(np.asarray(replaced)) if recording else np.asarray(replaced)
            if np.shape(grad) != tensor.shape:
                raise ValueError(
                    f"register_hook: a hook on a tensor of shape {tensor.shape} returned a "
                    f"gradient of shape {np.shape(grad)}; return one of the tensor's shape"
                )
    return grad


def leaf_gradient(leaf: Tensor, grad: Any) -> Tensor:
    """A leaf's full gradient as it is handed out: through its hooks, in its dtype."""
    if HOOKS and leaf.hooks:
        grad = run_hooks(leaf, grad, isinstance(grad, Tensor))
    return gradient_for(leaf, grad)


def add_to_leaves(leaves: LeafGradients) -> None:
    """Accumulate gradients into the leaves' `.grad`, as `backward()` promises."""
    for leaf, leaf_grad in leaves.values():
        if HOOKS and leaf.hooks:  # `leaf_gradient`, spelled out: this runs for every leaf
            leaf_grad = run_hooks(leaf, leaf_grad, isinstance(leaf_grad, Tensor))
        leaf_grad = gradient_for(leaf, leaf_grad)
        leaf.grad = leaf_grad if leaf.grad is None else leaf.grad + leaf_grad


def check_modes(caller: str, retain_graph: Any, create_graph: Any) -> None:
    """retain_graph is None, True or False and create_graph True or False: a string
    such as "no" would silently mean True."""
    if retain_graph is not None and retain_graph is not True and retain_graph is not False:
        check_flag(caller, "retain_graph", retain_graph)
    if create_graph is not False and create_graph is not True:  # no call on every backward
        check_flag(caller, "create_graph", create_graph)


def backpropagate(
    output: Tensor,
    grad: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    observe: Observer | None = None,
) -> None:
    """What `Tensor.backward` does; `observe` as for `run_backward`."""
    upstream = root_gradient(output, grad, "backward")
    check_modes("backward", retain_graph, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    add_to_leaves(run_backward(_nodes(output), upstream, retain, create_graph, observe))


def _nodes(output: Tensor) -> list[Tensor]:
    """The walk backward runs over; a leaf output is a graph of itself."""
    return topological_order(output) if output.op is not None else [output]


def gradients(
    output: Tensor,
    inputs: Sequence[Tensor],
    grad: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(output)/d(input) for each tensor in `inputs`, without touching any `.grad`.

    Inputs may be leaves or tensors computed on the way to `output`; one the output does
    not depend on gets None. One Tensor alone counts as a list of one, as in PyTorch.
    """
    upstream = root_gradient(output, grad, "gradients")
    check_modes("gradients", retain_graph, create_graph)
    if isinstance(inputs, Tensor):  # iterating it would give its rows, new tensors
        inputs = (inputs,)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"gradients: inputs must be a Tensor or a list of them, got {inputs!r:.60}")
    for position, tensor in enumerate(inputs):
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"gradients: inputs must be Tensors, got {type(tensor).__name__} at "
                f"position {position}"
            )
    retain = create_graph if retain_graph is None else retain_graph
    captured: dict[int, Tensor | None] = {id(t.op): None for t in inputs if t.op is not None}
    leaves = run_backward(_nodes(output), upstream, retain, create_graph, captured=captured)
    return tuple(
        captured[id(t.op)]
        if t.op is not None
        else (leaf_gradient(t, leaves[id(t)][1]) if id(t) in leaves else None)
        for t in inputs
    )
