"""Shape and indexing: ops that move entries around without changing their values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.ops.base import (
    ExportError,
    Op,
    OpError,
    axis_index,
    is_whole,
    normalize_axes,
    unbroadcast,
)


class Reshape(Op):
    empty_inputs = False  # its drawer picks sizes and indices from the sides
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
        if not is_whole(self.start_axis) or not -a.ndim <= self.start_axis < max(a.ndim, 1):
            raise OpError(
                f"flatten: start_axis {self.start_axis} is out of range for an input of "
                f"shape {a.shape}; it must lie in {-a.ndim}..{max(a.ndim - 1, 0)}"
            )
        start = self.start_axis % a.ndim if a.ndim else 0
        # The merged length spelled out: -1 cannot be inferred when an axis has size 0.
        return a.reshape(a.shape[:start] + (math.prod(a.shape[start:]),))

    def backward(self, grad, out, a):
        return (grad.reshape(a.shape),)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0, case.at_least_1d, case.shape(min_dims=1))
        ndim = case.values[x].ndim
        case.params["start_axis"] = case.integer(-ndim, ndim - 1)
        return [x]


class Transpose(Op):
    """Permute axes (`permute` is the same op)."""

    name = "transpose"
    params = ("axes",)
    spelling = "{0}.transpose({axes})"
    axes: tuple[int, ...] = ()

    def forward(self, a):
        # Negative axes count from the end; backward inverts the permutation, so it needs
        # them counted from the start.
        if len(self.axes) != a.ndim:
            raise OpError(
                f"transpose: axes {tuple(self.axes)} are not a permutation of the "
                f"{a.ndim} axes of an input of shape {a.shape}"
            )
        axes = tuple(axis_index(axis, a.ndim) for axis in self.axes)
        if sorted(axes) != list(range(a.ndim)):
            raise OpError(
                f"transpose: axes {tuple(self.axes)} are not a permutation of the "
                f"{a.ndim} axes of an input of shape {a.shape}"
            )
        self.axes = axes
        return a.transpose(axes)

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
        if len(self.shape) < a.ndim:  # assignment below would drop leading 1s silently
            raise OpError(
                f"broadcast_to: cannot broadcast an input of shape {a.shape} to "
                f"{tuple(self.shape)}, which has fewer axes"
            )
        # A writable copy: cheaper than np.broadcast_to at the sizes backprop meets, and
        # safe to update in place later. The assignment refuses shapes that do not fit.
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

    empty_inputs = False  # its drawer picks sizes and indices from the sides

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

    empty_inputs = False  # its drawer picks sizes and indices from the sides

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
        case.params["axis"] = axis - (len(shape) + cls.stacking) * case.boolean()
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


class Squeeze(Op):
    """Remove axes of size 1: all of them (axis=None), or the ones named, which must have
    size 1 (as in NumPy; PyTorch skips a named axis of another size silently)."""

    name = "squeeze"
    params = ("axis",)
    spelling = "{0}.squeeze({params})"
    axis: Any = None

    def forward(self, a):
        if self.axis is not None:
            for axis in (self.axis,) if is_whole(self.axis) else self.axis:
                if not is_whole(axis) or not -a.ndim <= axis < a.ndim:
                    raise OpError(
                        f"squeeze: axis {axis} is out of range for an input of shape {a.shape}; "
                        f"it must lie in {-a.ndim}..{a.ndim - 1}"
                    )
                if a.shape[axis] != 1:
                    raise OpError(
                        f"squeeze: axis {axis} of an input of shape {a.shape} has size "
                        f"{a.shape[axis]}, not 1; only axes of size 1 can be removed "
                        "(reshape or index to drop others)"
                    )
        return np.squeeze(a, axis=self.axis)

    def backward(self, grad, out, a):
        return (grad.reshape(a.shape),)

    @classmethod
    def draw_arguments(cls, case):
        """An input with some axes of size 1; all of them, one, or several named."""
        shape = list(case.shape(max_dims=2))
        for _ in range(case.integer(1, 2)):
            shape.insert(case.integer(0, len(shape)), 1)
        x = case.operand(0, lambda v: 1 in v.shape, tuple(shape))
        shape = case.values[x].shape
        ones = [axis - len(shape) * case.boolean() for axis, n in enumerate(shape) if n == 1]
        case.params["axis"] = case.choice([None, ones[0], tuple(ones)])
        return [x]


class Unsqueeze(Op):
    """Insert an axis of size 1 at `axis` (-1: a new last axis), as np.expand_dims."""

    name = "unsqueeze"
    params = ("axis",)
    spelling = "{0}.unsqueeze({params})"
    axis: int = 0

    def forward(self, a):
        if not is_whole(self.axis) or not -a.ndim - 1 <= self.axis <= a.ndim:
            raise OpError(
                f"unsqueeze: axis must be an int in {-a.ndim - 1}..{a.ndim} for an input of "
                f"shape {a.shape}, got {self.axis!r}"
            )
        return np.expand_dims(a, self.axis)

    def backward(self, grad, out, a):
        return (grad.reshape(a.shape),)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0)
        ndim = case.values[x].ndim
        case.params["axis"] = case.integer(-ndim - 1, ndim)
        return [x]


class Repeat(Op):
    """Each entry `repeats` times in a row along `axis` (None: of the flattened input), as
    np.repeat and torch.repeat_interleave. (torch's Tensor.repeat is `tile`.)"""

    name = "repeat"
    params = ("repeats", "axis")
    spelling = "F.repeat({0}, {params})"
    repeats: int = 1
    axis: int | None = None

    def forward(self, a):
        if not is_whole(self.repeats) or self.repeats < 0:
            raise OpError(f"repeat: repeats must be an int of 0 or more, got {self.repeats!r}")
        return np.repeat(a, self.repeats, axis=self.axis)

    def backward(self, grad, out, a):
        # Each entry's copies sit next to each other: gather them on an axis of their own.
        if self.axis is None:
            return (grad.reshape((a.size, self.repeats)).sum(axis=1).reshape(a.shape),)
        axis = self.axis % a.ndim
        copies = a.shape[: axis + 1] + (self.repeats,) + a.shape[axis + 1 :]
        return (grad.reshape(copies).sum(axis=axis + 1),)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0)
        ndim = case.values[x].ndim
        axis = case.integer(-ndim, ndim - 1) if ndim and case.boolean() else None
        case.params.update(repeats=case.integer(0, 3), axis=axis)
        return [x]


class Tile(Op):
    """The whole input `reps[i]` times along each axis i, as np.tile and torch.tile (and
    torch's Tensor.repeat). Fewer reps than axes repeat the last axes; more add axes."""

    name = "tile"
    params = ("reps",)
    spelling = "F.tile({0}, {params})"
    reps: Any = ()

    def forward(self, a):
        reps = self.aligned(a.shape)[0]
        if any(not is_whole(r) or r < 0 for r in reps):
            raise OpError(f"tile: reps must be ints of 0 or more, got {self.reps!r}")
        return np.tile(a, reps)

    def aligned(self, shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """reps and shape, padded on the left with 1s to the same length."""
        reps = (self.reps,) if isinstance(self.reps, (int, np.integer)) else tuple(self.reps)
        length = max(len(reps), len(shape))
        return (1,) * (length - len(reps)) + reps, (1,) * (length - len(shape)) + shape

    def backward(self, grad, out, a):
        # Split each axis into (copy, entry) and add up the copies.
        reps, shape = self.aligned(a.shape)
        split = tuple(size for pair in zip(reps, shape) for size in pair)
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (summed.reshape(a.shape),)

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0)
        length = case.integer(0, case.values[x].ndim + 1)
        reps = tuple(case.integer(1, 2) for _ in range(length))
        case.params["reps"] = reps[0] if length == 1 and case.boolean() else reps
        return [x]


def pad_pairs(pad_width: Any, ndim: int) -> list[tuple[int, int]]:
    """NumPy's pad_width, (before, after) for every axis: an int for all sides, one pair
    for every axis, or one pair per axis."""
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu" or np.any(widths < 0):
        raise OpError(f"pad: pad_width must be ints of 0 or more, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(widths, (ndim, 2))
    except ValueError:
        raise OpError(
            f"pad: pad_width {pad_width!r} does not fit an input with {ndim} axes: give an int, "
            f"one (before, after) pair, or {ndim} pairs"
        ) from None
    return [(int(before), int(after)) for before, after in pairs]


class Pad(Op):
    """Zeros around the input: pad_width as in np.pad (mode "constant", value 0)."""

    name = "pad"
    params = ("pad_width",)
    spelling = "F.pad({0}, {params})"
    pad_width: Any = 0

    def forward(self, a):
        return np.pad(a, pad_pairs(self.pad_width, a.ndim))

    def backward(self, grad, out, a):
        pairs = pad_pairs(self.pad_width, a.ndim)
        return (grad[tuple(slice(before, before + n) for (before, _), n in zip(pairs, a.shape))],)

    @classmethod
    def draw_arguments(cls, case):
        """Each form NumPy takes: an int, one pair, or a pair per axis."""
        x = case.operand(0, case.at_least_1d, case.shape(min_dims=1))
        ndim = case.values[x].ndim
        pair = (case.integer(0, 2), case.integer(0, 2))
        case.params["pad_width"] = case.choice(
            [
                case.integer(0, 1),
                pair,
                tuple((case.integer(0, 2), case.integer(0, 1)) for _ in range(ndim)),
            ]
        )
        return [x]


# ----- ONNX export: how each op above is written (see minigrad.onnx) -----------------------
INT64_MAX, INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def reshape_to(graph: Any, a: str, source: tuple[int, ...], target: tuple[int, ...]) -> str:
    """Reshape from the traced shape `source` to `target`. Where both lead with the same
    side, the output's leading axis is the input's (0 in ONNX), so it follows the batch;
    a 1-d target holds every entry (-1)."""
    if 0 in source or 0 in target:  # ONNX's 0 means "keep"; allowzero makes it a size
        shape = graph.ints(target)
        if source and target and target[0] == source[0]:  # the leading side, at run time
            leading = graph.node("Slice", graph.node("Shape", a), graph.ints([0]), graph.ints([1]))
            shape = graph.node("Concat", leading, graph.ints(target[1:]), axis=0)
        return graph.node("Reshape", a, shape, allowzero=1)
    if len(target) == 1:  # every entry in a row, however many the batch holds
        return graph.node("Reshape", a, graph.ints([-1]))
    target = list(target)
    if source and target[0] == source[0]:
        target[0] = 0
    return graph.node("Reshape", a, graph.ints(target))


def resolved(shape: tuple[int, ...], size: int) -> tuple[int, ...]:
    """`shape` with its -1 (if any) replaced by the side that gives `size` entries."""
    known = int(np.prod([n for n in shape if n != -1]))
    return tuple(size // known if n == -1 else n for n in shape)


def export_reshape(graph: Any, op: Op, a: str) -> str:
    source = op.inputs[0].shape
    target = (op.shape,) if isinstance(op.shape, (int, np.integer)) else tuple(op.shape)
    return reshape_to(graph, a, source, resolved(target, int(np.prod(source))))


def export_flatten(graph: Any, op: Op, a: str) -> str:
    source = op.inputs[0].shape
    start = op.start_axis % len(source) if source else 0
    return reshape_to(graph, a, source, source[:start] + (int(np.prod(source[start:])),))


def export_transpose(graph: Any, op: Op, a: str) -> str:
    return graph.node("Transpose", a, perm=[int(axis) for axis in op.axes])


def export_broadcast_to(graph: Any, op: Op, a: str) -> str:
    """Expand broadcasts both ways, so a 1 keeps the input's side: the batch, if any."""
    source, target = op.inputs[0].shape, tuple(op.shape)
    aligned = (None,) * (len(target) - len(source)) + source
    shape = [1 if n == m and n != 0 else n for n, m in zip(target, aligned)]
    return graph.node("Expand", a, graph.ints(shape))


def export_getitem(graph: Any, op: Op, a: str) -> str:
    """NumPy's index, part by part: Unsqueeze for None, Slice for slices, Gather for ints
    and for one integer array or 1-d mask."""
    parts = op.index if isinstance(op.index, tuple) else (op.index,)
    parts = tuple(np.asarray(part) if isinstance(part, list) else part for part in parts)
    _check_exportable_index(parts)
    shape = op.inputs[0].shape
    consumed = sum(
        part.ndim if _is_mask(part) else 1
        for part in parts
        if part is not None and part is not Ellipsis
    )
    value, axis = a, 0  # axis: where the next part applies in the value built so far
    for part in parts:
        if part is None:
            value = graph.node("Unsqueeze", value, graph.ints([axis]))
            axis += 1
        elif part is Ellipsis:
            axis += len(shape) - consumed
        elif isinstance(part, slice):
            if part != slice(None):
                value = _slice(graph, value, part, axis)
            axis += 1
        elif isinstance(part, np.ndarray) and part.ndim:
            positions = np.flatnonzero(part) if _is_mask(part) else part
            value = graph.node(
                "Gather", value, graph.constant(positions.astype(np.int64)), axis=axis
            )
            axis += positions.ndim
        else:  # an int: Gather with a 0-d index drops the axis
            value = graph.node("Gather", value, graph.constant(np.array(part, np.int64)), axis=axis)
    return graph.node("Identity", value) if value == a else value


def _is_mask(part: Any) -> bool:
    return isinstance(part, np.ndarray) and part.dtype == bool


def _check_exportable_index(parts: tuple) -> None:
    arrays = [i for i, part in enumerate(parts) if isinstance(part, np.ndarray) and part.ndim]
    if not arrays:
        return
    advanced = [
        i for i, part in enumerate(parts) if isinstance(part, (int, np.integer, np.ndarray))
    ]
    wide_mask = any(_is_mask(parts[i]) and parts[i].ndim > 1 for i in arrays)
    apart = advanced != list(range(advanced[0], advanced[-1] + 1))  # NumPy moves them first
    if len(arrays) > 1 or wide_mask or apart:
        raise ExportError(
            f"export: getitem with index {parts!r} cannot be exported: ONNX's Gather takes "
            "one integer array (or 1-d mask) per index, next to any int; index in two steps"
        )


def _slice(graph: Any, value: str, part: slice, axis: int) -> str:
    step = 1 if part.step is None else part.step
    start = part.start if part.start is not None else (0 if step > 0 else INT64_MAX)
    stop = part.stop if part.stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
    starts, ends = graph.ints([start]), graph.ints([stop])
    return graph.node("Slice", value, starts, ends, graph.ints([axis]), graph.ints([step]))


def export_index_add(graph: Any, op: Op, values: str) -> str:
    """ScatterElements adding `values` into flat zeros at the flat positions the index
    picks (repeats accumulate), then the result's shape."""
    size = int(np.prod(op.shape))
    positions = np.arange(size).reshape(op.shape)[op.index].reshape(-1)
    zeros = graph.constant(np.zeros(size, dtype=graph.dtype))
    flat = graph.node("Reshape", values, graph.ints([-1]))
    added = graph.node(
        "ScatterElements",
        zeros,
        graph.constant(positions.astype(np.int64)),
        flat,
        axis=0,
        reduction="add",
    )
    return graph.node("Reshape", added, graph.ints(op.shape))


def export_concatenate(graph: Any, op: Op, *arrays: str) -> str:
    return graph.node("Concat", *arrays, axis=int(op.axis))


def export_stack(graph: Any, op: Op, *arrays: str) -> str:
    axis = graph.ints([op.axis])
    return graph.node(
        "Concat", *(graph.node("Unsqueeze", a, axis) for a in arrays), axis=int(op.axis)
    )


def export_squeeze(graph: Any, op: Op, a: str) -> str:
    shape = op.inputs[0].shape
    if op.axis is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = normalize_axes(op.axis, len(shape))
    return graph.node("Squeeze", a, graph.ints(axes)) if axes else graph.node("Identity", a)


def export_unsqueeze(graph: Any, op: Op, a: str) -> str:
    return graph.node("Unsqueeze", a, graph.ints([op.axis]))


def export_repeat(graph: Any, op: Op, a: str) -> str:
    """Each entry `repeats` times in a row: a new axis after `axis`, tiled, merged back."""
    source = op.inputs[0].shape
    if op.axis is None:
        a, source, axis = graph.node("Reshape", a, graph.ints([-1])), (int(np.prod(source)),), 0
    else:
        axis = op.axis % len(source)
    copies = graph.node("Unsqueeze", a, graph.ints([axis + 1]))
    reps = [1] * (len(source) + 1)
    reps[axis + 1] = op.repeats
    tiled = graph.node("Tile", copies, graph.ints(reps))
    split = source[: axis + 1] + (op.repeats,) + source[axis + 1 :]
    merged = source[axis] * op.repeats
    if merged and 0 not in source:  # -1: along the batch axis it follows the batch
        merged = -1
    target = source[:axis] + (merged,) + source[axis + 1 :]
    return reshape_to(graph, tiled, split, target)


def export_tile(graph: Any, op: Op, a: str) -> str:
    reps, shape = Tile(reps=op.reps).aligned(op.inputs[0].shape)
    extra = len(shape) - op.inputs[0].ndim
    if extra:
        a = graph.node("Unsqueeze", a, graph.ints(range(extra)))
    return graph.node("Tile", a, graph.ints(reps))


def export_pad(graph: Any, op: Op, a: str) -> str:
    pairs = pad_pairs(op.pad_width, op.inputs[0].ndim)
    return graph.node("Pad", a, graph.ints([b for b, _ in pairs] + [e for _, e in pairs]))


ONNX = {
    "reshape": export_reshape,
    "flatten": export_flatten,
    "transpose": export_transpose,
    "broadcast_to": export_broadcast_to,
    "getitem": export_getitem,
    "index_add": export_index_add,
    "concatenate": export_concatenate,
    "stack": export_stack,
    "squeeze": export_squeeze,
    "unsqueeze": export_unsqueeze,
    "repeat": export_repeat,
    "tile": export_tile,
    "pad": export_pad,
}
