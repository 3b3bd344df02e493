"""Shape and indexing: ops that move entries around without changing their values."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.ops.base import Op, unbroadcast


class Reshape(Op):
    name = "reshape"
    params = ("shape",)
    spelling = "{0}.reshape({shape})"
    shape: tuple[int, ...] = ()

    def forward(self, a):
        return a.reshape(self.shape)

    def backward(self, grad, out, a):
        return (grad.reshape(a.shape),)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0)
        size = case.values[x].size
        first = case.choice([d for d in range(1, size + 1) if size % d == 0])
        case.params["shape"] = case.choice([(size,), (first, -1), (first, size // first, 1)])
        return [x]


class Flatten(Op):
    """Merge the axes from `start_axis` on into one, e.g. (N, 1, 28, 28) to (N, 784)."""

    name = "flatten"
    params = ("start_axis",)
    spelling = "{0}.flatten({params})"
    start_axis: int = 0

    def forward(self, a):
        return a.reshape(a.shape[: self.start_axis] + (-1,))

    def backward(self, grad, out, a):
        return (grad.reshape(a.shape),)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0, case.at_least_1d, case.shape(min_dims=1))
        case.params["start_axis"] = case.integer(0, case.values[x].ndim - 1)
        return [x]


class Transpose(Op):
    """Permute axes (`permute` is the same op)."""

    name = "transpose"
    params = ("axes",)
    spelling = "{0}.transpose({axes})"
    axes: tuple[int, ...] = ()

    def forward(self, a):
        return a.transpose(self.axes)

    def backward(self, grad, out, a):
        return (grad.transpose(tuple(int(i) for i in np.argsort(self.axes))),)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0, case.at_least_1d, case.shape(min_dims=1))
        case.params["axes"] = case.permutation(case.values[x].ndim)
        return [x]


class BroadcastTo(Op):
    name = "broadcast_to"
    params = ("shape",)
    spelling = "{0}.broadcast_to({shape})"
    shape: tuple[int, ...] = ()

    def forward(self, a):
        # A writable copy: cheaper than np.broadcast_to at the sizes backprop meets, and
        # safe to update in place later.
        result = np.empty(self.shape, dtype=a.dtype)
        result[...] = a
        return result

    def backward(self, grad, out, a):
        return (unbroadcast(grad, a.shape),)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0)
        target = tuple(case.side() if n == 1 else n for n in case.values[x].shape)
        if len(target) < 3 and case.boolean():
            target = (case.side(),) + target
        case.params["shape"] = target
        return [x]


def _is_basic_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        part is None or part is Ellipsis or isinstance(part, (int, np.integer, slice))
        for part in parts
    )


class GetItem(Op):
    """NumPy indexing: ints, slices, None, Ellipsis, integer arrays, boolean masks."""

    name = "getitem"
    params = ("index",)
    spelling = "{0}[{index}]"
    index: Any = None

    def forward(self, a):
        return a[self.index]

    def backward(self, grad, out, a):
        return (IndexAdd.call(grad, shape=a.shape, index=self.index),)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0, case.at_least_1d, case.shape(min_dims=1))
        case.params["index"] = case.index(case.values[x].shape)
        return [x]


class IndexAdd(Op):
    """Zeros of `shape` with `values` added at `index`: the gradient of indexing.

    Repeated indices accumulate, so x[[0, 0]] sends both gradients to x[0].
    """

    name = "index_add"
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

    @classmethod
    def draw_arguments(cls, case):
        """The result's shape and the index come first: the values must fit where they go."""
        shape = case.shape(min_dims=1)
        case.params.update(shape=shape, index=case.index(shape))
        slot = np.zeros(shape)[case.params["index"]].shape
        return [case.operand(0, lambda v: v.shape == slot, slot)]


def _concatenates_with(shape: tuple[int, ...], axis: int):
    """Which values concatenate with one of `shape` along `axis`."""
    rest = shape[:axis] + shape[axis + 1 :]
    return lambda v: v.ndim == len(shape) and v.shape[:axis] + v.shape[axis + 1 :] == rest


class Join(Op, register=False):
    """concatenate (same shape but along the axis) and stack (same shape)."""

    arity = None
    params = ("axis",)
    stacking = False
    axis: int = 0

    @classmethod
    def draw_arguments(cls, case):
        first = case.operand(0, case.at_least_1d, case.shape(min_dims=1, max_dims=2))
        shape = case.values[first].shape
        axis = case.integer(0, len(shape) - 1 + cls.stacking)
        case.params["axis"] = axis
        if cls.stacking:
            fits, fresh = (lambda v: v.shape == shape), shape
        else:
            fits = _concatenates_with(shape, axis)
            fresh = shape[:axis] + (case.side(),) + shape[axis + 1 :]
        others = [case.operand(0, fits, fresh) for _ in range(case.integer(0, 2))]
        return [first, *others]


class Concatenate(Join):
    name = "concatenate"
    spelling = "F.concatenate([{inputs}], {params})"

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


class Stack(Join):
    name = "stack"
    stacking = True
    spelling = "F.stack([{inputs}], {params})"

    def forward(self, *arrays):
        return np.stack(arrays, axis=self.axis)

    def backward(self, grad, out, *inputs):
        axis = self.axis % out.ndim
        return [grad[(slice(None),) * axis + (i,)] for i in range(len(inputs))]
