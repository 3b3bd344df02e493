"""Reductions over axes: sum, mean, max, min. Their gradients are spread back across the
reduced axes by `spread`."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.ops.base import Op, kept_shape, normalize_axes
from minigrad.ops.shape import BroadcastTo


def spread(grad: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """The gradient of a reduction over `axis`, copied back across the reduced axes."""
    if not keepdims and axis is not None:
        grad = grad.reshape(kept_shape(shape, normalize_axes(axis, len(shape))))
    return BroadcastTo.call(grad, shape=shape)


class Reduction(Op, register=False):
    """An op that reduces over `axis` (None: all axes), keeping them as 1s if asked."""

    params = ("axis", "keepdims")
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
        return a.mean(axis=self.axis, keepdims=self.keepdims)

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
