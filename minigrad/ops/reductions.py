"""Reductions over axes (sum, mean, max, min, var, std, prod, norm) and the running sum
`cumsum`. A reduction's gradient is spread back across the reduced axes by `spread`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.ops.base import Op, OpError, as_floating, kept_shape, normalize_axes
from minigrad.ops.elementwise import Where
from minigrad.ops.shape import BroadcastTo


def spread(grad: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """The gradient of a reduction over `axis`, copied back across the reduced axes."""
    if not keepdims and axis is not None:
        grad = grad.reshape(kept_shape(shape, normalize_axes(axis, len(shape))))
    return BroadcastTo.call(grad, shape=shape)


class Reduction(Op, register=False):
    """An op that reduces over `axis` (None: all axes), keeping them as 1s if asked."""

    params = ("axis", "keepdims")
    flags = ("keepdims",)
    axis: Any = None
    keepdims: bool = False

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0)
        case.params.update(axis=case.axes(case.values[x].ndim), keepdims=case.boolean())
        return [x]


class Sum(Reduction):
    name = "sum"
    spelling = "{0}.sum({params})"

    def forward(self, a):
        return a.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad, out, a):
        return (spread(grad, a.shape, self.axis, self.keepdims),)


class Mean(Reduction):
    name = "mean"
    empty_inputs = False  # the mean of no entries is 0 / 0
    spelling = "{0}.mean({params})"

    def forward(self, a):
        return as_floating(a).mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad, out, a):
        count = a.size // max(out.size, 1)
        return (spread(grad, a.shape, self.axis, self.keepdims) / count,)


class Max(Reduction):
    """Largest entry along axes; ties share the gradient equally."""

    empty_inputs = False  # an empty axis has no largest entry

    name = "max"
    distinct = True
    spelling = "{0}.max({params})"
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
    spelling = "{0}.min({params})"
    reduce = staticmethod(np.min)


def reduced_count(shape: tuple[int, ...], axis: Any) -> int:
    """How many entries each output entry of a reduction over `axis` combines."""
    return int(np.prod([shape[i] for i in normalize_axes(axis, len(shape))]))


class Var(Reduction):
    """Variance: the mean squared deviation, divided by count - ddof. ddof=0 by default, as
    in NumPy; PyTorch's var defaults to the unbiased ddof (its `correction`) of 1."""

    name = "var"
    params = ("axis", "ddof", "keepdims")
    empty_inputs = False  # no entries: 0 / 0
    spelling = "{0}.var({params})"
    ddof: int = 0

    def forward(self, a):
        return np.var(as_floating(a), axis=self.axis, ddof=self.ddof, keepdims=self.keepdims)

    def backward(self, grad, out, a):
        deviation = a - a.mean(axis=self.axis, keepdims=True)
        freedom = reduced_count(a.shape, self.axis) - self.ddof
        scale = 2 / freedom if freedom > 0 else math.inf  # NaN, as the forward's answer
        return (spread(grad, a.shape, self.axis, self.keepdims) * deviation * scale,)

    @classmethod
    def draw_arguments(cls, case):
        """Axes that leave every output entry at least two inputs, so ddof=1 divides by a
        count of one or more (and std is not 0)."""
        x = case.operand(0, lambda v: v.size >= 2, case.shape(min_dims=1) + (2,))
        shape = case.values[x].shape
        axis = case.axes(len(shape))
        case.params.update(
            axis=axis if reduced_count(shape, axis) >= 2 else None,
            ddof=case.choice([0, 1]),
            keepdims=case.boolean(),
        )
        return [x]


class Std(Var):
    """Standard deviation, the square root of `var` (ddof=0 by default, as in NumPy). Not
    differentiable where all the entries it combines are equal."""

    name = "std"
    distinct = True  # equal entries make it 0, where its slope is infinite
    spelling = "{0}.std({params})"

    def forward(self, a):
        return np.std(as_floating(a), axis=self.axis, ddof=self.ddof, keepdims=self.keepdims)

    def backward(self, grad, out, a):
        deviation = a - a.mean(axis=self.axis, keepdims=True)
        count = reduced_count(a.shape, self.axis) - self.ddof
        return (spread(grad / out, a.shape, self.axis, self.keepdims) * deviation / count,)


class Prod(Reduction):
    """Product of the entries along axes. Its gradient, the product of the other entries,
    is exact where entries are 0 (not out / x)."""

    name = "prod"
    domain = (-1.5, 1.5)
    spelling = "{0}.prod({params})"

    def forward(self, a):
        return np.prod(a, axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad, out, a):
        zeros = self.inputs[0].data == 0
        if not zeros.any():
            return (spread(grad * out, a.shape, self.axis, self.keepdims) / a,)
        return (spread(grad, a.shape, self.axis, self.keepdims) * self.product_of_others(a, zeros),)

    def product_of_others(self, a, zeros):
        """For each entry, the product of the others in its group, written so that its own
        derivatives are right too (the second derivative through a group with 1 or 2 zeros
        is not 0): with the zeros set to 1, product / entry, times the zeros left out."""
        axes = normalize_axes(self.axis, a.ndim)
        mask = zeros.astype(a.dtype)
        count = zeros.sum(axis=axes, keepdims=True)
        no_zero, one_zero, two_zeros = ((count == n).astype(a.dtype) for n in (0, 1, 2))
        safe = Where.call(np.ones((), a.dtype), a, condition=zeros)  # zeros set to 1
        others = Prod.call(safe, axis=axes, keepdims=True) / safe
        zero_sum = (a * mask).sum(axis=axes, keepdims=True)  # the one zero, as a variable
        # The zeros left out of an entry's product: none in a group without zeros; the
        # zero, for the other entries of a group with one; the other zero, for each zero
        # of a group with two. With three or more, every product has a zero left in it.
        left_out = (1 - mask) * (no_zero + one_zero * zero_sum) + mask * (
            one_zero + two_zeros * (zero_sum - a)
        )
        return others * left_out

    @classmethod
    def draw_arguments(cls, case):
        """A fresh input, of sizes 0.5 to 1.5 and either sign, one time in three with some
        entries exactly 0. Not a value from elsewhere: a product of many small ones fades,
        and an entry near 0 but not 0 (1e-200) leaves out / x exact but its derivative
        only as good as out / x^2, in PyTorch as here."""
        shape = case.shape()
        values = case.floats(shape, 0.5, 1.5) * np.where(case.bools(shape), 1.0, -1.0)
        if case.integer(0, 2) == 0:
            values = values * case.bools(shape)  # 0 where False
        case.params.update(axis=case.axes(len(shape)), keepdims=case.boolean())
        return [case.fresh(values)]


class Norm(Reduction):
    """The vector norm of the entries along axes (all of them by default, flattened, as
    torch.linalg.vector_norm): ord=2, the Euclidean length, or ord=1, the sum of |x|.

    At 0 neither is differentiable; the gradient there is 0, as PyTorch's is."""

    name = "norm"
    params = ("ord", "axis", "keepdims")
    spelling = "{0}.norm({params})"
    ord: int = 2

    def forward(self, a):
        if self.ord not in (1, 2):
            raise OpError(f"norm: ord must be 1 or 2, got {self.ord!r}")
        return np.linalg.vector_norm(
            as_floating(a), ord=self.ord, axis=self.axis, keepdims=self.keepdims
        )

    def backward(self, grad, out, a):
        data = self.inputs[0].data
        if self.ord == 1:
            return (spread(grad, a.shape, self.axis, self.keepdims) * np.sign(data),)
        axes = normalize_axes(self.axis, a.ndim)
        zero = ~data.any(axis=axes, keepdims=self.keepdims)
        if zero.any():  # x / |x| is 0 / 0 there: divide by 1 instead, giving 0
            out = Where.call(np.ones((), grad.dtype), out, condition=zero)
        return (spread(grad / out, a.shape, self.axis, self.keepdims) * a,)

    def kinks(self):
        return (0.0,)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0)
        case.params.update(
            ord=case.choice([1, 2]), axis=case.axes(case.values[x].ndim), keepdims=case.boolean()
        )
        return [x]


class Cumsum(Op):
    """Running sum along an axis; axis=None runs over the flattened entries, as in NumPy."""

    name = "cumsum"
    params = ("axis",)
    spelling = "{0}.cumsum({params})"
    axis: int | None = None

    def forward(self, a):
        return np.cumsum(a, axis=self.axis)

    def backward(self, grad, out, a):
        # Entry i reaches every sum from i on: the running sum of grad from the end.
        if self.axis is None:
            return (Cumsum.call(grad[::-1], axis=0)[::-1].reshape(a.shape),)
        reverse = (slice(None),) * (self.axis % a.ndim) + (slice(None, None, -1),)
        return (Cumsum.call(grad[reverse], axis=self.axis)[reverse],)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0)
        ndim = case.values[x].ndim
        case.params["axis"] = case.integer(-ndim, ndim - 1) if ndim and case.boolean() else None
        return [x]


# ----- ONNX export: how each op above is written (see minigrad.onnx) -----------------------
def export_reduction(op_type: str) -> Callable[..., str]:
    """A reduction over the op's axes (a 0-d input has none: it is its own result)."""

    def export(graph: Any, op: Op, a: str) -> str:
        axes = normalize_axes(op.axis, op.inputs[0].ndim)
        if not axes:
            return graph.node("Abs" if op_type.startswith("ReduceL") else "Identity", a)
        return reduce(graph, op_type, a, axes, op.keepdims)

    return export


def reduce(graph: Any, op_type: str, a: str, axes: tuple[int, ...], keepdims: bool) -> str:
    """ONNX reduction node: opset 17's ReduceSum takes its axes as an input, the rest as an
    attribute."""
    if op_type == "ReduceSum":
        return graph.node(op_type, a, graph.ints(axes), keepdims=int(keepdims))
    return graph.node(op_type, a, axes=list(axes), keepdims=int(keepdims))


def export_var(graph: Any, op: Op, a: str) -> str:
    axes = normalize_axes(op.axis, op.inputs[0].ndim)
    if not axes:  # one entry: no spread
        return graph.node("Sub", a, a)
    deviation = graph.node("Sub", a, reduce(graph, "ReduceMean", a, axes, True))
    variance = reduce(
        graph, "ReduceMean", graph.node("Mul", deviation, deviation), axes, op.keepdims
    )
    if not op.ddof:
        return variance
    # count / (count - ddof), counted at run time: the batch axis may be one of the axes
    sides = graph.node("Gather", graph.node("Shape", a), graph.ints(axes))
    count = graph.node("Cast", graph.node("ReduceProd", sides, keepdims=0), to=graph.element_type)
    ratio = graph.node("Div", count, graph.node("Sub", count, graph.constant(float(op.ddof))))
    return graph.node("Mul", variance, ratio)


def export_std(graph: Any, op: Op, a: str) -> str:
    return graph.node("Sqrt", export_var(graph, op, a))


def export_norm(graph: Any, op: Op, a: str) -> str:
    return export_reduction("ReduceL1" if op.ord == 1 else "ReduceL2")(graph, op, a)


def export_cumsum(graph: Any, op: Op, a: str) -> str:
    if op.axis is None:
        return graph.node("CumSum", graph.node("Reshape", a, graph.ints([-1])), graph.ints([0]))
    return graph.node("CumSum", a, graph.constant(np.array(op.axis, dtype=np.int64)))


ONNX = {
    "sum": export_reduction("ReduceSum"),
    "mean": export_reduction("ReduceMean"),
    "max": export_reduction("ReduceMax"),
    "min": export_reduction("ReduceMin"),
    "prod": export_reduction("ReduceProd"),
    "var": export_var,
    "std": export_std,
    "norm": export_norm,
    "cumsum": export_cumsum,
}
