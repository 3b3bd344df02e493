"""The Tensor: an array that remembers the op that made it, and the backward walk.

Every op lives in `minigrad.ops`; the operators below only dispatch to it.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

DEFAULT_DTYPE = np.float32


class _Recording:
    """Whether new ops are recorded (`no_grad` switches it off), and inside which modules."""

    enabled = True
    scope: tuple[str, ...] = ()
    numbers = itertools.count()  # numbers ops in the order they are recorded


def is_grad_enabled() -> bool:
    return _Recording.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Record ops (True) or not (False) inside a `with` block or a decorated function."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(_Recording.enabled)
        _Recording.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        _Recording.enabled = self.previous.pop()


def no_grad() -> set_grad_enabled:
    """Record nothing: for inference and for updating parameters in place."""
    return set_grad_enabled(False)


def enable_grad() -> set_grad_enabled:
    return set_grad_enabled(True)


class module_scope:
    """Tag every op recorded inside with `name` (nested scopes stack up).

    `nn.Module` enters one per call, so graph pictures can group a layer's ops. A plain
    class rather than a generator: it is entered on every layer call of training.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.outer: tuple[str, ...] = ()

    def __enter__(self) -> None:
        self.outer = _Recording.scope
        _Recording.scope = self.outer + (self.name,)

    def __exit__(self, *exc: object) -> None:
        _Recording.scope = self.outer


def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """NumPy arrays keep their dtype; Python numbers and lists become float32."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        return np.asarray(data)
    return np.asarray(data, dtype=DEFAULT_DTYPE)


class Tensor:
    """An n-dimensional array that records the op that produced it.

    `op` is None for a leaf (an input or a parameter); otherwise it is the `Op`
    instance whose `inputs` are this tensor's parents in the graph.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "op", "retains_grad", "__weakref__")
    # Make NumPy hand `ndarray + Tensor` to Tensor.__radd__ instead of building an object array.
    __array_ufunc__ = None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        array = as_array(data, dtype)
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f"Tensor: requires_grad=True needs a floating dtype, got {array.dtype}. "
                "Integer tensors hold labels and indices, which have no gradient; "
                "pass dtype=np.float32 for a trainable tensor."
            )
        self.data = array
        self.grad: Tensor | None = None
        self.requires_grad = requires_grad
        self.name = name
        self.op = None
        self.retains_grad = False

    @classmethod
    def wrap(cls, array: np.ndarray, requires_grad: bool = False) -> Tensor:
        """Wrap an array the engine made itself, skipping the constructor's checks."""
        tensor = cls.__new__(cls)
        tensor.data = array
        tensor.grad = None
        tensor.requires_grad = requires_grad
        tensor.name = None
        tensor.op = None
        tensor.retains_grad = False
        return tensor

    # ----- plain properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    @property
    def T(self) -> Tensor:
        axes = (1, 0) if self.data.ndim == 2 else tuple(reversed(range(self.data.ndim)))
        return ops.Transpose.apply(self, axes=axes)

    @property
    def mT(self) -> Tensor:
        """Swap the last two axes (the transpose of a batch of matrices)."""
        axes = list(range(self.ndim))
        axes[-2], axes[-1] = axes[-1], axes[-2]
        return ops.Transpose.apply(self, axes=tuple(axes))

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float | int | bool:
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor.wrap(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient after backward (leaves always keep theirs)."""
        self.retains_grad = True

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=20)
        extras = [f"dtype={self.dtype}"]
        if self.requires_grad:
            extras.append("requires_grad=True")
        if self.op is not None:
            extras.append(f"op={self.op.name}")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"Tensor({body}, {', '.join(extras)})"

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    __hash__ = object.__hash__

    # ----- autodiff ---------------------------------------------------------------------
    def backward(
        self,
        grad: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` that requires grad.

        Leaf gradients add up across calls (call `zero_grad()` between steps). The graph's
        saved state is released afterwards unless `retain_graph=True`. With
        `create_graph=True` the backward pass is itself recorded, so gradients can be
        differentiated again (the graph is then retained unless retain_graph=False).
        """
        backpropagate(self, grad, retain_graph, create_graph)

    # ----- operators (each dispatches to one op in minigrad.ops) ------------------------
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, as_operand(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(as_operand(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, as_operand(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(as_operand(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, as_operand(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(as_operand(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, as_operand(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(as_operand(other, self), self)

    def __pow__(self, exponent: Any) -> Tensor:
        return ops.Pow.apply(self, as_operand(exponent, self))

    def __rpow__(self, base: Any) -> Tensor:
        return ops.Pow.apply(as_operand(base, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.Matmul.apply(self, as_operand(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.Matmul.apply(as_operand(other, self), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, index=_plain_index(index))

    # Comparisons give boolean tensors outside the graph: they have no gradient.
    def __lt__(self, other: Any) -> Tensor:
        return Tensor.wrap(self.data < _operand_data(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor.wrap(self.data <= _operand_data(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor.wrap(self.data > _operand_data(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor.wrap(self.data >= _operand_data(other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor.wrap(self.data == _operand_data(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor.wrap(self.data != _operand_data(other))

    # ----- ops as methods ---------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if shape == self.data.shape:
            return self
        return ops.Reshape.apply(self, shape=shape)

    def flatten(self, start_axis: int = 0) -> Tensor:
        return ops.Flatten.apply(self, start_axis=start_axis)

    def transpose(self, *axes: int) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or tuple(reversed(range(self.ndim))))

    permute = transpose

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return ops.BroadcastTo.apply(self, shape=tuple(shape))

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.LogSoftmax.apply(self, axis=axis)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        return ops.Clip.apply(self, low=low, high=high)


def as_operand(value: Any, like: Tensor) -> Tensor:
    """Turn the other side of an operator into a constant Tensor.

    A Python or NumPy scalar (or 0-d array) takes the dtype of the floating tensor it
    meets, so `x * 2.0` stays float32; an array keeps its own dtype.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray) and value.ndim:
        return Tensor.wrap(value)
    if like.data.dtype.kind == "f":
        return Tensor.wrap(np.asarray(value, dtype=like.data.dtype))
    return Tensor.wrap(np.asarray(value))


def _operand_data(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def _plain_index(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays (an index is never differentiated)."""
    if isinstance(index, tuple):
        return tuple(_operand_data(part) for part in index)
    return _operand_data(index)


def _root_grad(output: Tensor, grad: Any, caller: str) -> Tensor:
    """The gradient backward starts from: 1 for a scalar output, else the `grad` given."""
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
    upstream = grad if isinstance(grad, Tensor) else Tensor.wrap(as_array(grad, output.dtype))
    if upstream.shape != output.shape:
        raise ValueError(
            f"{caller}: grad has shape {upstream.shape} but the output has shape {output.shape}"
        )
    return upstream


def topological_order(root: Tensor) -> list[Tensor]:
    """Non-leaf tensors that lead to `root` and require grad, each after its inputs.

    Iterative depth-first search, so a chain of 100,000 ops needs no recursion.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        for parent in tensor.op.inputs:
            if parent.op is not None and parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


Observer = Callable[[Tensor, Tensor, list], None]


def backpropagate(
    output: Tensor,
    grad: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    observe: Observer | None = None,
) -> None:
    """What `Tensor.backward` does; `observe(tensor, upstream_grad, input_grads)` is called
    after each node's backward, in the order backprop runs (for step-by-step traces)."""
    upstream = _root_grad(output, grad, "backward")
    retain = create_graph if retain_graph is None else retain_graph
    with set_grad_enabled(create_graph):
        for leaf, leaf_grad in _walk_backward(output, upstream, retain, observe).values():
            leaf_grad = _as_tensor(leaf_grad)
            leaf.grad = leaf_grad if leaf.grad is None else leaf.grad + leaf_grad


def _walk_backward(
    root: Tensor,
    upstream: Tensor,
    retain_graph: bool,
    observe: Observer | None = None,
    captured: dict[int, Tensor | None] | None = None,
) -> dict[int, tuple[Tensor, Any]]:
    """Run every op's backward from `root`; return {id: (leaf, gradient)} for the leaves.

    Ops are numbered as they are recorded, so an op never feeds one numbered lower:
    taking the highest-numbered tensor still waiting for its gradient (a heap) reaches
    each tensor after every op that uses it, without a recursion or a sort.

    The caller sets grad mode. Off (a plain backward), the rules run on NumPy arrays and
    the gradients returned are arrays; on (create_graph), the rules run on the Tensors
    themselves and are recorded. Non-leaf tensors whose ids are keys of `captured` get
    their full gradient stored there.
    """
    if root.op is None:
        return {id(root): (root, upstream)}
    recording = _Recording.enabled
    # Pending gradients are keyed by op: copies of a tensor share the op that made it.
    pending: dict[int, Any] = {id(root.op): upstream if recording else upstream.data}
    waiting = [(-root.op.number, id(root.op), root)]
    leaves: dict[int, tuple[Tensor, Any]] = {}
    while waiting:
        _, key, tensor = heappop(waiting)
        op = tensor.op
        grad = pending.pop(key)
        if tensor.retains_grad or captured is not None:
            _keep_grad(tensor, _as_tensor(grad), captured)
        input_grads = _run_rule(op, tensor, grad, recording)
        if not retain_graph:
            op.release()
        sent = [None] * len(input_grads) if observe is not None else None  # for `observe`
        for position, (parent, parent_grad) in enumerate(zip(op.inputs, input_grads)):
            if parent_grad is None or not parent.requires_grad:
                continue
            if recording != isinstance(parent_grad, Tensor):  # a rule mixed arrays and Tensors
                parent_grad = _as_tensor(parent_grad) if recording else parent_grad.data
            if parent_grad.shape != parent.data.shape:
                parent_grad = _sum_to_input(op, position, parent_grad, parent)
            if sent is not None:
                sent[position] = _as_tensor(parent_grad)
            parent_op = parent.op
            if parent_op is None:
                key = id(parent)
                leaf = leaves.get(key)
                leaves[key] = (parent, parent_grad if leaf is None else leaf[1] + parent_grad)
                continue
            key = id(parent_op)
            if key in pending:
                pending[key] = pending[key] + parent_grad
                continue
            if parent_op.number >= op.number:
                raise RuntimeError(
                    f"backward: '{op.label}' was made before its input's op "
                    f"'{parent_op.label}'; an op must be made after its inputs, as "
                    "Op.apply and Op.record do"
                )
            pending[key] = parent_grad
            heappush(waiting, (-parent_op.number, key, parent))
        if observe is not None:
            observe(tensor, _as_tensor(grad), sent)
    return leaves


def _run_rule(op: ops.Op, out: Tensor, grad: Any, recording: bool) -> Sequence[Any]:
    """The op's backward rule, run on Tensors when recording and on their arrays if not."""
    if op.released:
        raise RuntimeError(
            f"backward: the graph through '{op.label}' was already released by an "
            "earlier backward(); pass retain_graph=True to that first call to "
            "backpropagate through the same graph again."
        )
    inputs = op.inputs
    try:
        if recording:
            grads = op.backward(grad, out, *inputs)
        elif len(inputs) == 2:  # the common arities spelled out: a list per node costs
            grads = op.backward(grad, out.data, inputs[0].data, inputs[1].data)
        elif len(inputs) == 1:
            grads = op.backward(grad, out.data, inputs[0].data)
        else:
            grads = op.backward(grad, out.data, *[t.data for t in inputs])
    except (ValueError, IndexError, TypeError, AttributeError) as error:
        raise ops.OpError(_rule_failure(op, grad, error)) from error
    if len(grads) != len(inputs):
        raise ops.OpError(
            f"{op.label}: backward returned {len(grads)} gradient(s) for {len(inputs)} "
            "input(s); return one per input, None where an input gets none"
        )
    return grads


def _rule_failure(op: ops.Op, grad: Any, error: Exception) -> str:
    """What went wrong in a backward rule, with the op, the shapes and, if it helps, the fix."""
    shapes = ", ".join(str(t.shape) for t in op.inputs)
    message = (
        f"{op.label}: backward failed for inputs of shapes {shapes} and an output "
        f"gradient of shape {tuple(grad.shape)}: {error}"
    )
    if isinstance(error, AttributeError):  # a Tensor method called on an array
        method = getattr(error, "name", None) or "some_op"
        maker = ops.OPS[method].__name__ if method in ops.OPS else "SomeOp"
        message += (
            f" (a plain backward gives rules arrays: write {maker}.call(x), not x.{method}())"
        )
    return message


def _as_tensor(value: Any) -> Tensor:
    """A gradient as a Tensor (plain backward passes arrays, or NumPy scalars for 0-d)."""
    if isinstance(value, Tensor):
        return value
    return Tensor.wrap(value if type(value) is np.ndarray else np.asarray(value))


def _keep_grad(tensor: Tensor, grad: Tensor, captured: dict[int, Tensor | None] | None) -> None:
    if tensor.retains_grad:
        tensor.grad = grad if tensor.grad is None else tensor.grad + grad
    if captured is not None and id(tensor) in captured:
        captured[id(tensor)] = grad


def _sum_to_input(op: ops.Op, position: int, grad: Any, parent: Tensor) -> Any:
    """A broadcast gradient summed back to its input's shape, or a clear error."""
    shape = parent.data.shape
    summed = ops.unbroadcast(grad, shape) if grad.ndim >= len(shape) else grad
    if summed.shape != shape:
        raise ValueError(
            f"{op.label}: backward returned a gradient of shape {grad.shape} for input "
            f"{position} of shape {shape}; a gradient must have its input's shape "
            "(or a shape the input broadcasts to, which the engine sums back)"
        )
    return summed


def gradients(
    output: Tensor,
    inputs: Sequence[Tensor],
    grad: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(output)/d(input) for each tensor in `inputs`, without touching any `.grad`.

    Inputs may be leaves or tensors computed on the way to `output`; one the output does
    not depend on gets None.
    """
    upstream = _root_grad(output, grad, "gradients")
    retain = create_graph if retain_graph is None else retain_graph
    captured: dict[int, Tensor | None] = {id(t): None for t in inputs if t.op is not None}
    with set_grad_enabled(create_graph):
        leaves = _walk_backward(output, upstream, retain, captured=captured)
    return tuple(
        captured[id(t)]
        if t.op is not None
        else (_as_tensor(leaves[id(t)][1]) if id(t) in leaves else None)
        for t in inputs
    )


from minigrad import ops  # noqa: E402  (ops needs Tensor defined first)
