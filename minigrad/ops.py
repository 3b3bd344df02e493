"""Every differentiable op, defined once: forward on NumPy arrays, backward beside it.

Subclassing `Op` with a `name` registers the op in `OPS`, which the tests, the docs
table and the graph pictures enumerate. A backward rule is written once, with operators
and methods that NumPy arrays and Tensors share (`*`, `@`, `.sum`, `.reshape`, ...) and
`SomeOp.call(...)` for the rest: a plain backward runs it on arrays, at NumPy speed, and
under `create_graph=True` the same rule runs on Tensors, is recorded, and can be
differentiated again. An op returns each input's gradient in the broadcast shape; the
engine sums it back to the input's shape with `unbroadcast`, so no op deals with
broadcasting itself.

What the property tests need to know sits on the class too:
- `arity`: number of tensor inputs (None: a sequence of tensors, as for concatenate);
- `signature`: how input shapes relate and which params to draw (see `minigrad.testing`);
- `domain`: the interval inputs are drawn from (log needs x > 0), or one per input;
- `kinks(self)`: points where the op is not differentiable (relu at 0);
- `distinct`: True when equal input values are a kink (max picks among ties);
- `examples`: values for params the signature does not draw (clip's bounds).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from minigrad.tensor import Tensor, _Recording, as_operand

OPS: dict[str, type[Op]] = {}


class OpError(ValueError, IndexError, TypeError):
    """An op could not run on its inputs; the message names the op and the shapes.

    It is each of the errors NumPy raises for bad inputs, so `except ValueError` (or
    IndexError, TypeError) around minigrad code keeps working.
    """


class Op:
    """One application of an operation: a node of the graph.

    `apply` runs `forward` on the inputs' arrays and, when recording, keeps the input
    Tensors in `inputs`. `backward(grad, out, *inputs)` gets the output's gradient, the
    output and the inputs (arrays on a plain backward, Tensors when the backward is
    recorded) and returns one gradient (or None) per input. `self.inputs[i]` tells
    whether input i `requires_grad`, and its `.data` is a constant either way.
    """

    name: ClassVar[str] = ""
    arity: ClassVar[int | None] = 1
    signature: ClassVar[str] = "elementwise"
    domain: ClassVar[tuple] = (-2.0, 2.0)
    distinct: ClassVar[bool] = False
    params: ClassVar[tuple[str, ...]] = ()
    examples: ClassVar[dict[str, Any]] = {}

    inputs: tuple[Tensor, ...] = ()
    arguments: dict[str, Any] = {}  # the params it was applied with, to re-run it
    scope: tuple[str, ...] = ()  # the modules this op was recorded in, outermost first
    number: int = -1  # recording order: an op's inputs were all made by lower numbers
    saved: Any = None
    released: bool = False

    @property
    def label(self) -> str:
        """The op's registered name, or its class name if it has none (for messages)."""
        return self.name or type(self).__name__

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "backward" in cls.__dict__ or "arity" in cls.__dict__:
            check_backward_signature(cls)
        if register and cls.__dict__.get("name"):
            OPS[cls.name] = cls

    def __init__(self, **params: Any) -> None:
        self.__dict__.update(params)
        self.arguments = params
        self.number = next(_Recording.numbers)  # so a node attached by hand is ordered too

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        op = cls.__new__(cls)  # what __init__ does, minus a call: this runs for every op
        if params:
            op.__dict__.update(params)
            op.arguments = params
        try:
            if len(inputs) == 1:  # the common arities spelled out: a list per op costs
                data = op.forward(inputs[0].data)
            elif len(inputs) == 2:
                data = op.forward(inputs[0].data, inputs[1].data)
            else:
                data = op.forward(*[t.data for t in inputs])
        except OpError:
            raise
        except (ValueError, IndexError, TypeError, AttributeError) as error:
            if not all(isinstance(t, Tensor) for t in inputs):
                raise TypeError(
                    f"{cls.name or cls.__name__}.apply takes Tensors; inside a backward rule, "
                    f"which may get arrays, write {cls.__name__}.call(...)"
                ) from error
            if isinstance(error, AttributeError):  # a bug in forward, not bad inputs
                raise
            raise OpError(op.explain_error([t.shape for t in inputs], error)) from error
        return op.output(data, inputs)

    @classmethod
    def call(cls, *inputs: Any, **params: Any) -> Any:
        """`apply` on Tensors; on plain arrays, just the forward's array.

        Backward rules use it for what arrays have no method for (`Exp.call(out)`), so
        one rule serves a plain backward (arrays) and a recorded one (Tensors).
        """
        for value in inputs:
            if isinstance(value, Tensor):  # arrays beside it are constants
                return cls.apply(*[as_operand(v, value) for v in inputs], **params)
        op = cls.__new__(cls)
        op.__dict__.update(params)
        return op.forward(*inputs)

    @classmethod
    def record(cls, data: np.ndarray, *inputs: Any, **params: Any) -> Any:
        """What `call` returns, from a result computed already (no forward is run).

        A fused op's backward uses this to reuse its forward's work, e.g. the softmax
        inside cross-entropy, and still builds a real node under create_graph.
        """
        if not isinstance(inputs[0], Tensor):
            return data
        op = cls.__new__(cls)
        op.__dict__.update(params)
        op.arguments = params
        return op.output(data, inputs)

    def output(self, data: np.ndarray, inputs: tuple[Tensor, ...]) -> Tensor:
        """Wrap `data`, and record this op as its maker when any input needs a gradient."""
        out = Tensor.wrap(data)
        if _Recording.enabled:
            for tensor in inputs:
                if tensor.requires_grad:
                    self.inputs = inputs
                    self.number = next(_Recording.numbers)
                    self.scope = _Recording.scope
                    out.op = self
                    out.requires_grad = True
                    break
        return out

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: Any, out: Any, *inputs: Any) -> Sequence[Any]:
        raise NotImplementedError

    def kinks(self) -> tuple[float, ...]:
        return ()

    def release(self) -> None:
        """Drop what forward saved; a second backward through this node then raises."""
        self.saved = None
        self.released = True

    def describe_params(self) -> dict[str, Any]:
        """The op's arguments (axis, exponent, ...), for graph labels and error reports."""
        return {key: getattr(self, key) for key in self.params}

    def explain_error(self, shapes: list[tuple[int, ...]], error: Exception) -> str:
        shown = ", ".join(str(shape) for shape in shapes)
        return f"{self.label}: cannot apply to input shapes {shown}: {error}"


def check_backward_signature(op: type[Op]) -> None:
    """Refuse, when the class is defined, a backward that cannot take the op's inputs."""
    raw = inspect.getattr_static(op, "backward")
    parameters = list(inspect.signature(op.backward).parameters.values())
    if (
        inspect.isfunction(raw)
        and parameters
        and parameters[0].kind is not parameters[0].VAR_POSITIONAL
    ):
        parameters = parameters[1:]  # self
    kinds = inspect.Parameter
    positional = [
        p for p in parameters if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    ]
    required = [p for p in positional if p.default is p.empty]
    keyword_only = [
        p.name for p in parameters if p.kind is kinds.KEYWORD_ONLY and p.default is p.empty
    ]
    takes_any = any(p.kind is kinds.VAR_POSITIONAL for p in parameters)
    if keyword_only:
        raise TypeError(
            f"{op.__name__}.backward has required keyword-only parameter(s) "
            f"{', '.join(keyword_only)}; the engine passes only (grad, out, *inputs): "
            "give them defaults"
        )
    if op.arity is None:
        fits = takes_any
    else:
        wanted = 2 + op.arity
        fits = len(required) <= wanted and (takes_any or wanted <= len(positional))
    if fits:
        return
    inputs = "*inputs" if op.arity is None else ", ".join("abcdefgh"[: op.arity])
    hint = ""
    if op.arity is not None and len(required) > 2:
        hint = f"; or, if the op takes {len(required) - 2} inputs, set arity = {len(required) - 2}"
    raise TypeError(
        f"{op.__name__}.backward takes {len(required)} arguments after self, but the op has "
        f"arity {op.arity}: write it as backward(self, grad, out, {inputs}), the output's "
        f"gradient and the output, then the inputs{hint}"
    )


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum a gradient over the axes that broadcasting stretched, back to `shape`.

    The one place broadcasting is undone, for every op.
    """
    leading = grad.ndim - len(shape)
    if leading:
        grad = grad.sum(axis=0 if leading == 1 else tuple(range(leading)))
    if 1 not in shape:  # the usual case, a bias: nothing stretched but the leading axes
        return grad
    stretched = tuple(
        axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1
    )
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def spread(grad: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """The gradient of a reduction over `axis`, copied back across the reduced axes."""
    if not keepdims and axis is not None:
        grad = grad.reshape(kept_shape(shape, normalize_axes(axis, len(shape))))
    return BroadcastTo.call(grad, shape=shape)


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axis given as None, an int or a tuple, as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted(a % ndim if ndim else a for a in axis))


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a reduction with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# ----- arithmetic --------------------------------------------------------------------------
class Add(Op):
    name = "add"
    arity = 2
    signature = "broadcast"

    def forward(self, a, b):
        return a + b

    def backward(self, grad, out, a, b):
        return grad, grad


class Sub(Op):
    name = "sub"
    arity = 2
    signature = "broadcast"

    def forward(self, a, b):
        return a - b

    def backward(self, grad, out, a, b):
        return grad, (-grad if self.inputs[1].requires_grad else None)


class Mul(Op):
    name = "mul"
    arity = 2
    signature = "broadcast"

    def forward(self, a, b):
        return a * b

    def backward(self, grad, out, a, b):
        needs_a, needs_b = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        return grad * b if needs_a else None, grad * a if needs_b else None


class Div(Op):
    name = "div"
    arity = 2
    signature = "broadcast"
    domain = ((-2.0, 2.0), (0.5, 2.0))  # keeps the divisor away from 0

    def forward(self, a, b):
        return a / b

    def backward(self, grad, out, a, b):
        grad_a = grad / b
        # d(a/b)/db = -a/b^2 = -(1/b) * (a/b)
        return grad_a, (-grad_a * out if self.inputs[1].requires_grad else None)


class Pow(Op):
    name = "pow"
    arity = 2
    signature = "broadcast"
    domain = ((0.5, 2.0), (-2.0, 2.0))  # a positive base keeps log(base) real

    def forward(self, base, exponent):
        return base**exponent

    def backward(self, grad, out, base, exponent):
        needs_base, needs_exponent = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        grad_base = grad * exponent * base ** (exponent - 1) if needs_base else None
        grad_exponent = grad * out * Log.call(base) if needs_exponent else None
        return grad_base, grad_exponent


class Neg(Op):
    name = "neg"

    def forward(self, a):
        return -a

    def backward(self, grad, out, a):
        return (-grad,)


def matrix_product(left: Any, right: Any) -> Any:
    """left @ right (right a matrix); an outer product when left is a one-column matrix.

    OpenBLAS runs that K=1 product, batch 1's weight gradient x.T @ grad, about 6x slower
    than einsum, and NumPy's broadcasting (n, 1) * (1, m) takes twice einsum's time.
    Tensors, in a recorded backward, have no einsum, so they multiply.
    """
    if left.ndim < 2 or left.shape[-1] != 1:
        return left @ right
    if isinstance(left, Tensor) or isinstance(right, Tensor):
        return left * right
    return np.einsum("...ik,...kj->...ij", left, right)


class Matmul(Op):
    """Matrix product with NumPy's rules: 1-D operands, and batch dims that broadcast."""

    name = "matmul"
    arity = 2
    signature = "matmul"

    def forward(self, a, b):
        return a @ b

    def backward(self, grad, out, a, b):
        # Treat a vector as a one-row (a) or one-column (b) matrix, then undo that.
        a_matrix = a if a.ndim > 1 else a.reshape(1, -1)
        b_matrix = b if b.ndim > 1 else b.reshape(-1, 1)
        grad_matrix = grad
        if a.ndim == 1 or b.ndim == 1:
            batch = np.broadcast_shapes(a_matrix.shape[:-2], b_matrix.shape[:-2])
            grad_matrix = grad.reshape(batch + (a_matrix.shape[-2], b_matrix.shape[-1]))
        grad_a = grad_b = None
        if self.inputs[0].requires_grad:
            grad_a = matrix_product(grad_matrix, b_matrix.mT)
            if a.ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + a.shape)
        if self.inputs[1].requires_grad:
            grad_b = matrix_product(a_matrix.mT, grad_matrix)
            if b.ndim == 1:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b

    def explain_error(self, shapes, error):
        a, b = shapes
        if not a or not b:
            return f"matmul: cannot multiply {a} by {b}: scalars need *, not @"
        inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
        if inner_a == inner_b:
            return (
                f"matmul: cannot multiply {a} by {b}: the batch axes {a[:-2]} and {b[:-2]} "
                "do not broadcast together"
            )
        return (
            f"matmul: cannot multiply {a} by {b}: the last axis of the first ({a[-1]}) must "
            f"equal the {'only' if len(b) == 1 else 'second-to-last'} axis of the second "
            f"({b[0] if len(b) == 1 else b[-2]})"
        )


class Linear(Op):
    """x @ weight + bias in one node: the layer of an MLP, fused because it pays.

    `weight` is (in, out) as in the book's W1, so the forward reads like the math.
    """

    name = "linear"
    arity = 3
    signature = "linear"

    def forward(self, x, weight, bias):
        out = x @ weight
        out += bias
        return out

    def backward(self, grad, out, x, weight, bias):
        grad_x = matrix_product(grad, weight.T) if self.inputs[0].requires_grad else None
        grad_weight = None
        if self.inputs[1].requires_grad:
            rows = x.reshape(-1, weight.shape[0]) if x.ndim != 2 else x
            grad_rows = grad.reshape(-1, weight.shape[1]) if grad.ndim != 2 else grad
            grad_weight = matrix_product(rows.T, grad_rows)
        return grad_x, grad_weight, grad

    def explain_error(self, shapes, error):
        x, weight, bias = shapes
        return (
            f"linear: input {x} does not fit weight {weight} and bias {bias}: the input's last "
            "axis must equal weight.shape[0] and the bias must have weight.shape[1] entries"
        )


# ----- elementwise functions --------------------------------------------------------------
class Exp(Op):
    name = "exp"

    def forward(self, a):
        return np.exp(a)

    def backward(self, grad, out, a):
        return (grad * out,)


class Log(Op):
    name = "log"
    domain = (0.1, 10.0)

    def forward(self, a):
        return np.log(a)

    def backward(self, grad, out, a):
        return (grad / a,)


class Sqrt(Op):
    name = "sqrt"
    domain = (0.1, 10.0)

    def forward(self, a):
        return np.sqrt(a)

    def backward(self, grad, out, a):
        return (grad / (out * 2),)


class Abs(Op):
    name = "abs"

    def forward(self, a):
        return np.abs(a)

    def backward(self, grad, out, a):
        return (grad * np.sign(self.inputs[0].data),)

    def kinks(self):
        return (0.0,)


class Sigmoid(Op):
    name = "sigmoid"

    def forward(self, a):
        # 1 / (1 + e^-a) keeps full relative precision far below zero, where the tanh form
        # 0.5 + 0.5 tanh(a / 2) rounds to 0; e^-a overflowing to inf there gives exactly 0.
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-a))

    def backward(self, grad, out, a):
        return (grad * out * (1 - out),)


class Tanh(Op):
    name = "tanh"

    def forward(self, a):
        return np.tanh(a)

    def backward(self, grad, out, a):
        return (grad * (1 - out * out),)


class Relu(Op):
    name = "relu"

    def forward(self, a):
        return np.maximum(a, 0)

    def backward(self, grad, out, a):
        return (grad * (self.inputs[0].data > 0),)

    def kinks(self):
        return (0.0,)


class Clip(Op):
    """Limit values to [low, high]; either bound may be None."""

    name = "clip"
    params = ("low", "high")
    examples = {"low": -0.5, "high": 0.5}
    low: float | None = None
    high: float | None = None

    def forward(self, a):
        return np.clip(a, self.low, self.high)

    def backward(self, grad, out, a):
        a = self.inputs[0].data  # the mask is a constant, also when the backward is recorded
        inside = np.ones(a.shape, dtype=bool)
        if self.low is not None:
            inside &= a >= self.low
        if self.high is not None:
            inside &= a <= self.high
        return (grad * inside,)

    def kinks(self):
        return tuple(bound for bound in (self.low, self.high) if bound is not None)


class Softmax(Op):
    name = "softmax"
    signature = "axis"
    params = ("axis",)
    axis: int = -1

    def forward(self, a):
        exps = np.exp(a - a.max(axis=self.axis, keepdims=True))
        exps /= exps.sum(axis=self.axis, keepdims=True)
        return exps

    def backward(self, grad, out, a):
        return (out * (grad - (grad * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Op):
    name = "log_softmax"
    signature = "axis"
    params = ("axis",)
    axis: int = -1

    def forward(self, a):
        shifted = a - a.max(axis=self.axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, grad, out, a):
        return (grad - Exp.call(out) * grad.sum(axis=self.axis, keepdims=True),)


# ----- reductions -------------------------------------------------------------------------
class Sum(Op):
    name = "sum"
    signature = "reduce"
    params = ("axis", "keepdims")
    axis: Any = None
    keepdims: bool = False

    def forward(self, a):
        return a.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad, out, a):
        return (spread(grad, a.shape, self.axis, self.keepdims),)


class Mean(Op):
    name = "mean"
    signature = "reduce"
    params = ("axis", "keepdims")
    axis: Any = None
    keepdims: bool = False

    def forward(self, a):
        return a.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad, out, a):
        count = a.size // max(out.size, 1)
        return (spread(grad, a.shape, self.axis, self.keepdims) / count,)


class Max(Op):
    """Largest entry along axes; ties share the gradient equally."""

    name = "max"
    signature = "reduce"
    distinct = True
    params = ("axis", "keepdims")
    axis: Any = None
    keepdims: bool = False
    reduce = staticmethod(np.max)

    def forward(self, a):
        return self.reduce(a, axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad, out, a):
        a = self.inputs[0].data  # which entries won is a constant, also when recorded
        winners = a == self.reduce(a, axis=self.axis, keepdims=True)
        share = winners / winners.sum(axis=self.axis, keepdims=True)
        spread_grad = spread(grad, a.shape, self.axis, self.keepdims)
        return (spread_grad * share.astype(a.dtype),)


class Min(Max):
    name = "min"
    reduce = staticmethod(np.min)


# ----- shape ops --------------------------------------------------------------------------
class Reshape(Op):
    name = "reshape"
    signature = "reshape"
    params = ("shape",)
    shape: tuple[int, ...] = ()

    def forward(self, a):
        return a.reshape(self.shape)

    def backward(self, grad, out, a):
        return (grad.reshape(a.shape),)


class Flatten(Op):
    """Merge the axes from `start_axis` on into one, e.g. (N, 1, 28, 28) to (N, 784)."""

    name = "flatten"
    signature = "flatten"
    params = ("start_axis",)
    start_axis: int = 0

    def forward(self, a):
        return a.reshape(a.shape[: self.start_axis] + (-1,))

    def backward(self, grad, out, a):
        return (grad.reshape(a.shape),)


class Transpose(Op):
    """Permute axes (`permute` is the same op)."""

    name = "transpose"
    signature = "transpose"
    params = ("axes",)
    axes: tuple[int, ...] = ()

    def forward(self, a):
        return a.transpose(self.axes)

    def backward(self, grad, out, a):
        return (grad.transpose(tuple(int(i) for i in np.argsort(self.axes))),)


class BroadcastTo(Op):
    name = "broadcast_to"
    signature = "broadcast_to"
    params = ("shape",)
    shape: tuple[int, ...] = ()

    def forward(self, a):
        # A writable copy: cheaper than np.broadcast_to at the sizes backprop meets, and
        # safe to update in place later.
        result = np.empty(self.shape, dtype=a.dtype)
        result[...] = a
        return result

    def backward(self, grad, out, a):
        return (unbroadcast(grad, a.shape),)


def _is_basic_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        part is None or part is Ellipsis or isinstance(part, (int, np.integer, slice))
        for part in parts
    )


class GetItem(Op):
    """NumPy indexing: ints, slices, None, Ellipsis, integer arrays, boolean masks."""

    name = "getitem"
    signature = "index"
    params = ("index",)
    index: Any = None

    def forward(self, a):
        return a[self.index]

    def backward(self, grad, out, a):
        return (IndexAdd.call(grad, shape=a.shape, index=self.index),)


class IndexAdd(Op):
    """Zeros of `shape` with `values` added at `index`: the gradient of indexing.

    Repeated indices accumulate, so x[[0, 0]] sends both gradients to x[0].
    """

    name = "index_add"
    signature = "index_add"
    params = ("shape", "index")
    shape: tuple[int, ...] = ()
    index: Any = None

    def forward(self, values):
        result = np.zeros(self.shape, dtype=values.dtype)
        if _is_basic_index(self.index):
            result[self.index] = values
        else:
            np.add.at(result, self.index, values)
        return result

    def backward(self, grad, out, values):
        return (grad[self.index],)


class Concatenate(Op):
    name = "concatenate"
    arity = None
    signature = "concatenate"
    params = ("axis",)
    axis: int = 0

    def forward(self, *arrays):
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, grad, out, *inputs):
        axis = self.axis % out.ndim
        grads, start = [], 0
        for part in inputs:
            stop = start + part.shape[axis]
            grads.append(grad[(slice(None),) * axis + (slice(start, stop),)])
            start = stop
        return grads


class Stack(Op):
    name = "stack"
    arity = None
    signature = "stack"
    params = ("axis",)
    axis: int = 0

    def forward(self, *arrays):
        return np.stack(arrays, axis=self.axis)

    def backward(self, grad, out, *inputs):
        axis = self.axis % out.ndim
        return [grad[(slice(None),) * axis + (i,)] for i in range(len(inputs))]


class Where(Op):
    """Pick from `a` where `condition` holds, else from `b`."""

    name = "where"
    arity = 2
    signature = "where"
    params = ("condition",)
    condition: Any = None

    def forward(self, a, b):
        return np.where(self.condition, a, b)

    def backward(self, grad, out, a, b):
        return grad * self.condition, grad * ~self.condition

    def describe_params(self):
        return {"condition": f"bool{np.shape(self.condition)}"}


# ----- losses -------------------------------------------------------------------------------
class MeanSquaredError(Op):
    """Quadratic cost 0.5 * sum((y - target)**2), fused: one node instead of five.

    reduction="sum" is the book's mean_squared_error; "mean" divides by the batch size
    (the first axis), Nielsen's cost averaged over a mini-batch.
    """

    name = "mean_squared_error"
    arity = 2
    signature = "broadcast"
    params = ("reduction",)
    examples = {"reduction": "mean"}
    reduction: str = "sum"

    def forward(self, y, target):
        check_reduction(self.name, self.reduction, ("sum", "mean"))
        diff = y - target
        total = np.asarray(0.5 * np.vdot(diff, diff), dtype=diff.dtype)
        return total / batch_size(diff.shape) if self.reduction == "mean" else total

    def backward(self, grad, out, y, target):
        diff = y - target
        if self.reduction == "mean":
            grad = grad / batch_size(diff.shape)
        scaled_diff = diff * grad
        return scaled_diff, (-scaled_diff if self.inputs[1].requires_grad else None)


def check_reduction(op_name: str, reduction: str, allowed: tuple[str, ...]) -> None:
    if reduction not in allowed:
        raise OpError(f"{op_name}: reduction must be one of {allowed}, got {reduction!r}")


def check_labels(op_name: str, labels: np.ndarray, classes: int) -> None:
    """Refuse a label outside 0..classes-1 (NumPy indexing would wrap a negative one)."""
    # As unsigned numbers negative labels are huge, so one max() checks both ends.
    if labels.size and labels.astype(np.uint64).max() >= classes:
        raise OpError(
            f"{op_name}: labels must lie in 0..{classes - 1}, got {labels.min()}..{labels.max()}"
        )


def batch_size(shape: tuple[int, ...]) -> int:
    """The first axis counts examples; a scalar is one example."""
    return shape[0] if shape else 1


class SoftmaxCrossEntropy(Op):
    """Cross-entropy of softmax(logits) against targets, fused for speed and stability.

    `target` holds integer class labels of shape (N,) or probabilities of shape (N, C)
    (one-hot rows are probabilities). Finite for logits as large as 1e4.
    """

    name = "softmax_cross_entropy"
    arity = 2
    signature = "cross_entropy"
    params = ("reduction",)
    reduction: str = "mean"

    def forward(self, logits, target):
        check_reduction(self.name, self.reduction, ("mean", "sum", "none"))
        shifted = logits - logits.max(axis=1, keepdims=True)
        exps = np.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        exps /= sums
        self.saved = exps  # softmax(logits), which backward needs
        if target.dtype.kind in "iu":  # -log softmax at the label, row by row
            check_labels(self.name, target, logits.shape[1])  # checked here for replay too
            losses = np.log(sums[:, 0]) - shifted[np.arange(len(target)), target]
        else:
            losses = -(target * (shifted - np.log(sums))).sum(axis=1)
        if self.reduction == "mean":
            return np.asarray(losses.sum() / len(losses), dtype=logits.dtype)
        if self.reduction == "sum":
            return np.asarray(losses.sum(), dtype=logits.dtype)
        return losses

    def backward(self, grad, out, logits, target):
        if self.reduction == "mean":
            grad = grad / logits.shape[0]
        if grad.ndim == 1:
            grad = grad.reshape(-1, 1)
        probs = Softmax.record(self.saved, logits, axis=1)
        labels = self.inputs[1].data
        if labels.dtype.kind in "iu":
            one_hot = np.zeros(logits.shape, dtype=probs.dtype)
            one_hot[np.arange(len(labels)), labels] = 1
            return (probs - one_hot) * grad, None
        needs_target = self.inputs[1].requires_grad
        grad_target = -LogSoftmax.call(logits, axis=1) * grad if needs_target else None
        return (probs * target.sum(axis=1, keepdims=True) - target) * grad, grad_target

    def explain_error(self, shapes, error):
        logits, target = shapes
        return (
            f"softmax_cross_entropy: logits {logits} and target {target} do not fit: logits "
            "must be (N, C) and target either integer labels (N,) or probabilities (N, C)"
        )


def markdown_table() -> str:
    """The registry as the README's ops table (a test keeps the two in step)."""
    rows = ["| op | inputs | params | test domain | kinks |", "|---|---|---|---|---|"]
    built_in = {name: op for name, op in OPS.items() if op.__module__ == __name__}
    for name, op in sorted(built_in.items()):
        inputs = "any number" if op.arity is None else str(op.arity)
        params = ", ".join(op.params) or "-"
        domain = op.domain if isinstance(op.domain[0], tuple) else (op.domain,)
        shown_domain = ", ".join(f"({low:g}, {high:g})" for low, high in domain)
        kinks = ", ".join(f"{k:g}" for k in op(**op.examples).kinks())
        rows.append(
            f"| `{name}` | {inputs} | {params} | {shown_domain} | "
            f"{kinks or ('ties' if op.distinct else '-')} |"
        )
    return "\n".join(rows)
