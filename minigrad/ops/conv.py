"""Convolution and pooling on batches of images (N, C, H, W), built on im2col.

The column layout is PyTorch's `unfold`: `im2col` turns x (N, C, H, W) into columns
(N, C*KH*KW, OH*OW), where row c*KH*KW + i*KW + j of image n holds channel c seen through
kernel offset (i, j), one column per output position. A convolution is then one matmul,
weight.reshape(F, C*KH*KW) @ columns, batched over the images (NumPy calls one GEMM per
image), and its result (N, F, OH*OW) already is the (N, F, OH, OW) output: no transpose.
`col2im` (PyTorch's `fold`) adds columns back into images; the two are each other's
backward, so a convolution's gradient can be differentiated again. `conv2d` makes its
columns a few images at a time (about COLUMNS_BYTES each), so they stay in cache between
im2col and the GEMM and a training step never holds all of them.

Pooling runs over the kernel's KH*KW offsets, each a strided view of the padded input
(no Python loop over pixels), and so does `col2im`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from math import isqrt
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minigrad.ops.base import Op, OpError, as_floating
from minigrad.ops.shape import BroadcastTo, Concatenate, IndexAdd
from minigrad.tensor import Tensor

Pair = tuple[int, int]
# Convolutions make their columns a slice of images at a time, about this many bytes: of
# 512 KB to 4 MB (and all at once), 2 MB ran fastest on this 2-core machine.
COLUMNS_BYTES = 2**21


def as_pair(value: Any, what: str, op: str, smallest: int) -> Pair:
    """An int or a pair of ints as (rows, columns), each at least `smallest`."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    whole = [isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values]
    if len(values) != 2 or not all(whole):
        raise OpError(
            f"{op}: {what} must be an int or a pair of ints (rows, columns), got {value!r}"
        )
    if min(values) < smallest:
        raise OpError(f"{op}: {what} must be at least {smallest}, got {value!r}")
    return int(values[0]), int(values[1])


def check_images(op: str, shape: tuple[int, ...]) -> None:
    """Refuse anything but a batch of images (N, C, H, W), saying how to get one."""
    if len(shape) == 4:
        return
    hint = ""
    if len(shape) == 3:
        hint = f"; for a single image add a batch axis: x[None], of shape {(1, *shape)}"
    elif len(shape) == 2 and shape[1] > 1 and isqrt(shape[1]) ** 2 == shape[1]:
        side = isqrt(shape[1])
        hint = (
            f"; flat rows of {shape[1]} look like {side}x{side} images: "
            f"x.reshape({shape[0]}, 1, {side}, {side}), or load_mnist(flatten=False)"
        )
    raise OpError(f"{op}: the input must be a batch of images (N, C, H, W), got {shape}{hint}")


@dataclass(frozen=True)
class Window:
    """Where a kernel sits on an image; every size is a pair (rows, columns)."""

    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair
    image: Pair  # H, W of the input, before padding
    output: Pair  # OH, OW

    @classmethod
    def fit(
        cls, op: str, shape: tuple[int, ...], kernel: Any, stride: Any, padding: Any, dilation: Any
    ) -> Window:
        """The window of a kernel on images of `shape` (N, C, H, W); OpError if it does not fit."""
        kernel = as_pair(kernel, "kernel", op, 1)
        stride = as_pair(stride, "stride", op, 1)
        padding = as_pair(padding, "padding", op, 0)
        dilation = as_pair(dilation, "dilation", op, 1)
        image = (shape[2], shape[3])
        spans = _spans(kernel, dilation)
        rooms = [side + 2 * p for side, p in zip(image, padding)]
        if spans[0] > rooms[0] or spans[1] > rooms[1]:  # not even one window fits
            dilated = ""
            if dilation != (1, 1):
                dilated = f" dilated by {dilation}, spanning {spans[0]}x{spans[1]},"
            raise OpError(
                f"{op}: the {kernel[0]}x{kernel[1]} kernel{dilated} is larger than the input "
                f"{shape} padded by {padding} ({rooms[0]}x{rooms[1]}): use a smaller kernel "
                "or more padding"
            )
        output = tuple((room - span) // s + 1 for room, span, s in zip(rooms, spans, stride))
        return cls(kernel, stride, padding, dilation, image, output)

    @property
    def area(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def positions(self) -> int:
        return self.output[0] * self.output[1]

    def params(self) -> dict[str, Pair]:
        """What Im2col and Col2im take to use this window."""
        return {
            "kernel": self.kernel,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
        }

    def batches(self, n: int, rows: int, dtype: np.dtype) -> list[slice]:
        """Slices of a batch of n images whose columns (`rows` per output position) take
        about COLUMNS_BYTES each; at least one slice, of one image at least. A convolution
        makes and uses the columns slice by slice, so they stay in cache between im2col
        and the GEMM, and a step never holds more than one slice of them."""
        size = max(1, COLUMNS_BYTES // max(1, rows * self.positions * np.dtype(dtype).itemsize))
        return [slice(start, start + size) for start in range(0, max(n, 1), size)]

    @property
    def padded(self) -> Pair:
        """H and W of the input after padding."""
        return self.image[0] + 2 * self.padding[0], self.image[1] + 2 * self.padding[1]

    def pad(self, images: np.ndarray, fill: float = 0.0) -> np.ndarray:
        (top, left), (height, width) = self.padding, self.image
        if not (top or left):
            return images
        padded = np.full((*images.shape[:2], *self.padded), fill, images.dtype)
        padded[:, :, top : top + height, left : left + width] = images
        return padded

    def offsets(self, padded: np.ndarray) -> list[np.ndarray]:
        """For each kernel offset (i, j), row by row, the view (N, C, OH, OW) of `padded`
        that it multiplies: one strided slice per offset."""
        (rows, columns), (down, across) = self.output, self.stride
        return [
            padded[
                :,
                :,
                i * self.dilation[0] : i * self.dilation[0] + down * (rows - 1) + 1 : down,
                j * self.dilation[1] : j * self.dilation[1] + across * (columns - 1) + 1 : across,
            ]
            for i in range(self.kernel[0])
            for j in range(self.kernel[1])
        ]

    def widened(self, outputs: np.ndarray) -> np.ndarray:
        """Outputs (N, F, OH, OW) with zero columns on the right, as wide as the padded
        input: the rows `wide_column_sums` takes."""
        wide = np.zeros((*outputs.shape[:3], self.padded[1]), outputs.dtype)
        wide[..., : self.output[1]] = outputs
        return wide

    def wide_column_sums(self, columns: np.ndarray) -> np.ndarray:
        """col2im for stride 1 from columns (N, C*KH*KW, OH*W_padded) computed on widened
        rows: each kernel offset's block then lands on one contiguous run of the flattened
        padded images (the zero columns fall where they add nothing), so each offset is one
        long add instead of OH short ones."""
        n, rows, run = columns.shape
        (height, width), (top, left) = self.image, self.padding
        (tall, wide), (down, across) = self.padded, self.dilation
        length = tall * wide + across * (self.kernel[1] - 1)  # the last offset's run ends here
        flat = np.zeros((n, rows // self.area, length), columns.dtype)
        blocks = columns.reshape(n, rows // self.area, self.area, run)
        for offset in range(self.area):
            i, j = divmod(offset, self.kernel[1])
            start = i * down * wide + j * across
            flat[:, :, start : start + run] += blocks[:, :, offset]
        padded = flat[:, :, : tall * wide].reshape(n, rows // self.area, tall, wide)
        return padded[:, :, top : top + height, left : left + width]


def _spans(kernel: Pair, dilation: Pair) -> list[int]:
    """How many rows and columns a dilated kernel covers."""
    return [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]


def image_columns(images: np.ndarray, window: Window) -> np.ndarray:
    """im2col on arrays: (N, C, H, W) to columns (N, C*KH*KW, OH*OW)."""
    n, c = images.shape[:2]
    (down, across), (tall, wide) = window.stride, window.dilation
    spans = _spans(window.kernel, window.dilation)
    views = sliding_window_view(window.pad(images), spans, axis=(2, 3))
    views = views[:, :, ::down, ::across, ::tall, ::wide]  # (N, C, OH, OW, KH, KW)
    return views.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * window.area, window.positions)


def column_sums(columns: np.ndarray, window: Window) -> np.ndarray:
    """col2im on arrays: columns (N, C*KH*KW, OH*OW) added back into (N, C, H, W)."""
    n, rows = columns.shape[:2]
    c = rows // window.area
    (height, width), (top, left) = window.image, window.padding
    padded = np.zeros((n, c, *window.padded), columns.dtype)
    blocks = columns.reshape(n, c, window.area, *window.output)
    for offset, view in enumerate(window.offsets(padded)):
        view += blocks[:, :, offset]
    return padded[:, :, top : top + height, left : left + width]


class Im2col(Op):
    """Image patches as columns: x (N, C, H, W) to (N, C*KH*KW, OH*OW), PyTorch's unfold."""

    name = "im2col"
    params = ("kernel", "stride", "padding", "dilation")
    spelling = "F.im2col({inputs}, {params})"
    kernel: Any = 1
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1

    def window(self, shape: tuple[int, ...]) -> Window:
        check_images(self.name, shape)
        return Window.fit(self.name, shape, self.kernel, self.stride, self.padding, self.dilation)

    def forward(self, x):
        return image_columns(x, self.window(x.shape))

    def backward(self, grad, out, x):
        window = self.window(x.shape)
        return (Col2im.call(grad, output_size=window.image, **window.params()),)

    @classmethod
    def draw_arguments(cls, case):
        x = _draw_images(case, 0, case.size_limit // 4)  # columns repeat entries up to 9 times
        case.params.update(_draw_window(case, case.values[x].shape[2:], pooling=False))
        return [x]


class Col2im(Op):
    """Columns (N, C*KH*KW, OH*OW) added back into images (N, C, H, W) of `output_size`
    (H, W), summing where windows overlap: im2col's adjoint, PyTorch's fold."""

    name = "col2im"
    params = ("output_size", "kernel", "stride", "padding", "dilation")
    spelling = "F.col2im({inputs}, {params})"
    output_size: Any = None
    kernel: Any = 1
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1

    def window(self, shape: tuple[int, ...]) -> Window:
        size = as_pair(self.output_size, "output_size", self.name, 1)
        kernel = as_pair(self.kernel, "kernel", self.name, 1)
        if len(shape) != 3:
            raise OpError(f"{self.name}: columns must be (N, C*KH*KW, OH*OW), got shape {shape}")
        channels = shape[1] // (kernel[0] * kernel[1])
        window = Window.fit(
            self.name,
            (shape[0], channels, *size),
            kernel,
            self.stride,
            self.padding,
            self.dilation,
        )
        if shape[1:] != (channels * window.area, window.positions):
            raise OpError(
                f"{self.name}: columns of shape {shape} do not fit a {kernel[0]}x{kernel[1]} "
                f"kernel on {size[0]}x{size[1]} images: they must be (N, C*{window.area}, "
                f"{window.positions}), the {window.output[0]}x{window.output[1]} output "
                "positions in the last axis"
            )
        return window

    def forward(self, columns):
        return column_sums(columns, self.window(columns.shape))

    def backward(self, grad, out, columns):
        return (Im2col.call(grad, **self.window(columns.shape).params()),)

    @classmethod
    def draw_arguments(cls, case):
        n, c, height, width = _draw_image_shape(case, case.size_limit // 4)
        params = _draw_window(case, (height, width), pooling=False)
        window = Window.fit(cls.name, (n, c, height, width), **params)
        shape = (n, c * window.area, window.positions)
        case.params.update(params, output_size=(height, width))
        return [case.operand(0, lambda v: v.shape == shape, shape)]


class Conv2d(Op):
    """Cross-correlation of images x (N, C, H, W) with filters weight (F, C/groups, KH,
    KW), plus bias (F,): PyTorch's and the book's layout. Fused: im2col, then one matmul
    (a GEMM per image, and per group), a slice of the batch at a time (`Window.batches`):
    only one slice's columns exist at once, and backward makes them again for the
    weight's gradient rather than keeping KH*KW copies of the images until then.

    The bias is an input, as linear's is; `F.conv2d` without one passes zeros, which the
    forward skips adding.
    """

    name = "conv2d"
    arity = 3
    reads_output = False
    params = ("stride", "padding", "dilation", "groups")
    spelling = "F.conv2d({inputs}, {params})"
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1

    def window(self, x: tuple[int, ...], weight: tuple[int, ...], bias: tuple[int, ...]) -> Window:
        check_conv_shapes(x, weight, bias, self.groups)
        return Window.fit(self.name, x, weight[2:], self.stride, self.padding, self.dilation)

    def forward(self, x, weight, bias):
        window = self.window(x.shape, weight.shape, bias.shape)
        x, weight = as_floating(x), as_floating(weight)
        n, filters, groups = x.shape[0], weight.shape[0], self.groups
        rows = weight.shape[1] * window.area
        grouped_weight = weight.reshape(groups, filters // groups, rows)
        out = np.empty((n, groups, filters // groups, window.positions), np.result_type(x, weight))
        for images in window.batches(n, groups * rows, out.dtype):  # see `batches`
            columns = image_columns(x[images], window).reshape(-1, groups, rows, window.positions)
            np.matmul(grouped_weight, columns, out=out[images])
        out = out.reshape(n, filters, *window.output)
        if bias.any():
            out += bias.reshape(filters, 1, 1)
        return out

    def backward(self, grad, out, x, weight, bias):
        window = self.window(x.shape, weight.shape, bias.shape)
        batches = window.batches(x.shape[0], x.shape[1] * window.area, grad.dtype)
        grad_x = grad_weight = grad_bias = None
        if self.inputs[0].requires_grad:
            parts = (self.images_grad(grad[images], weight, window) for images in batches)
            grad_x = joined(parts, batches, x.shape[0])
        if self.inputs[1].requires_grad:
            grad_weight = sum(self.weight_grad(grad[b], x[b], weight, window) for b in batches)
        if self.inputs[2].requires_grad:
            grad_bias = grad.sum(axis=(0, 2, 3))
        return grad_x, grad_weight, grad_bias

    def images_grad(self, grad, weight, window):
        """The images' gradient: the weight's transpose times the output's gradient, as
        columns, added back into images (col2im)."""
        n, filters, groups = grad.shape[0], grad.shape[1], self.groups
        rows = weight.shape[1] * window.area
        grouped_weight = weight.reshape(groups, filters // groups, rows)
        if window.stride == (1, 1) and isinstance(grad, np.ndarray):  # not under create_graph
            run = window.output[0] * window.padded[1]  # output rows as wide as the padded input
            grad_rows = window.widened(grad).reshape(n, groups, filters // groups, run)
            grad_columns = grouped_weight.mT @ grad_rows  # (N, groups, rows, run)
            return window.wide_column_sums(grad_columns.reshape(n, groups * rows, run))
        grad_rows = grad.reshape(n, groups, filters // groups, window.positions)
        grad_columns = grouped_weight.mT @ grad_rows  # (N, groups, rows, OH*OW)
        grad_columns = grad_columns.reshape(n, groups * rows, window.positions)
        return Col2im.call(grad_columns, output_size=window.image, **window.params())

    def weight_grad(self, grad, x, weight, window):
        """The weight's gradient: the output's gradient times the forward's columns, made
        again here (keeping them would hold KH*KW copies of the images until backward)."""
        n, filters, groups = grad.shape[0], grad.shape[1], self.groups
        rows = weight.shape[1] * window.area
        grad_rows = grad.reshape(n, groups, filters // groups, window.positions)
        columns = Im2col.call(x, **window.params())
        grouped = columns.reshape(n, groups, rows, window.positions)
        return (grad_rows @ grouped.mT).sum(axis=0).reshape(weight.shape)

    @classmethod
    def draw_arguments(cls, case):
        x = _draw_images(case, 0, case.size_limit // 2)  # the weight is drawn and checked too
        n, channels, height, width = case.values[x].shape
        params = _draw_window(case, (height, width), pooling=False)
        kernel = as_pair(params.pop("kernel"), "kernel", cls.name, 1)
        window = Window.fit(cls.name, (n, channels, height, width), kernel, **params)
        groups = case.choice([g for g in (1, 2, 3) if channels % g == 0])
        room = case.size_limit // (n * groups * window.positions)  # keeps the output small
        filters = groups * case.integer(1, max(1, min(3 if groups == 1 else 2, room)))
        shape = (filters, channels // groups, *kernel)
        weight = case.operand(1, lambda v: v.shape == shape, shape)
        bias = case.operand(2, lambda v: v.shape == (filters,), (filters,))
        case.params.update(params, groups=groups)
        return [x, weight, bias]


def joined(parts: Iterator[Any], batches: list[slice], n: int) -> Any:
    """The parts of a batch of n, one per slice in `batches`, as one batch: an array filled
    slice by slice, so that each part is freed as the next one comes (rather than all of
    them living beside their concatenation), or, under create_graph, their concatenation."""
    first = next(parts)
    if len(batches) == 1:
        return first
    if isinstance(first, Tensor):
        return Concatenate.apply(first, *parts, axis=0)
    whole = np.empty((n, *first.shape[1:]), first.dtype)
    whole[batches[0]] = first
    for images, part in zip(batches[1:], parts):
        whole[images] = part
    return whole


def check_conv_shapes(
    x: tuple[int, ...], weight: tuple[int, ...], bias: tuple[int, ...], groups: Any
) -> None:
    check_images("conv2d", x)
    if len(weight) != 4:
        raise OpError(
            f"conv2d: weight must be (filters, channels / groups, KH, KW), as in PyTorch and "
            f"the book (30 5x5 filters on 1 channel: (30, 1, 5, 5)), got shape {weight}"
        )
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise OpError(f"conv2d: groups must be a positive int, got {groups!r}")
    channels, filters = x[1], weight[0]
    if channels % groups or filters % groups:
        raise OpError(
            f"conv2d: groups={groups} must divide both the input's {channels} channels "
            f"(input {x}) and the weight's {filters} filters (weight {weight})"
        )
    if channels != weight[1] * groups:
        message = (
            f"conv2d: the input {x} has {channels} channels, but the weight {weight} with "
            f"groups={groups} takes weight.shape[1] * groups = {weight[1] * groups}"
        )
        if groups == 1 and weight[0] == channels:
            message += (
                "; the weight is (filters, channels, KH, KW): one laid out (channels, "
                "filters, KH, KW) needs weight.transpose(1, 0, 2, 3)"
            )
        raise OpError(message)
    if bias != (filters,):
        raise OpError(
            f"conv2d: the bias must have one entry per filter, shape ({filters},), got {bias}"
        )


class Pool2d(Op, register=False):
    """Max or mean over each window; the stride defaults to the kernel (no overlap)."""

    params = ("kernel", "stride", "padding")
    kernel: Any = 1
    stride: Any = None
    padding: Any = 0

    def window(self, shape: tuple[int, ...]) -> Window:
        check_images(self.name, shape)
        stride = self.kernel if self.stride is None else self.stride
        window = Window.fit(self.name, shape, self.kernel, stride, self.padding, 1)
        if any(2 * p > k for p, k in zip(window.padding, window.kernel)):
            raise OpError(
                f"{self.name}: padding {self.padding} must be at most half the kernel "
                f"{self.kernel} (as in PyTorch): beyond that a window can hold only padding"
            )
        return window

    @classmethod
    def draw_arguments(cls, case):
        x = _draw_images(case, 0, case.size_limit)
        case.params.update(_draw_window(case, case.values[x].shape[2:], pooling=True))
        if case.boolean():
            case.params["stride"] = None
        return [x]


class MaxPool2d(Pool2d):
    """The largest entry of each window; its gradient goes to the first largest (row by
    row), as in PyTorch. Ties are a kink (`distinct`), so tests keep entries apart."""

    name = "max_pool2d"
    distinct = True
    spelling = "F.max_pool2d({inputs}, {params})"

    def forward(self, x):
        window = self.window(x.shape)
        views = window.offsets(window.pad(as_floating(x), fill=-np.inf))
        out, contiguous = views[0].copy(), np.empty_like(views[0])
        winner = np.zeros(out.shape, np.min_scalar_type(-window.area))  # a kernel offset
        for offset, view in enumerate(views[1:], start=1):
            np.copyto(contiguous, view)  # read once strided: compared and maxed, twice faster
            view = contiguous
            later_and_larger = view > out  # strictly: a tie keeps the first
            winner += later_and_larger * (offset - winner)  # arithmetic beats np.where here
            np.maximum(out, view, out=out)
        self.saved = winner
        return out

    def backward(self, grad, out, x):
        window = self.window(x.shape)
        n, c = x.shape[:2]
        (height, width), (top, left) = window.padded, window.padding
        whole = n * c * height * width  # int32 indices where they fit: half the memory traffic
        index = np.int32 if whole < 2**31 else np.intp
        within = (  # each window's corner within an image
            (np.arange(window.output[0], dtype=index) * (window.stride[0] * width))[:, None]
            + np.arange(window.output[1], dtype=index) * window.stride[1]
        )
        corners = np.arange(n * c, dtype=index).reshape(n, c, 1, 1) * (height * width) + within
        rows, columns = np.divmod(np.arange(window.area, dtype=index), window.kernel[1])
        winners = corners + (rows * width + columns)[self.saved]
        spread = IndexAdd.call(
            grad.reshape(grad.size),
            shape=(whole,),
            index=winners.reshape(grad.size),
        ).reshape(n, c, height, width)
        if top or left:
            spread = spread[:, :, top : height - top, left : width - left]
        return (spread,)


class AvgPool2d(Pool2d):
    """The mean of each window, padding counted as zeros (PyTorch's count_include_pad)."""

    name = "avg_pool2d"
    spelling = "F.avg_pool2d({inputs}, {params})"

    def forward(self, x):
        window = self.window(x.shape)
        views = window.offsets(window.pad(as_floating(x)))
        out = views[0].copy()
        for view in views[1:]:
            out += view
        out /= window.area
        return out

    def backward(self, grad, out, x):
        window = self.window(x.shape)
        n, c = x.shape[:2]
        share = grad.reshape(n, c, 1, window.positions) / window.area
        columns = BroadcastTo.call(share, shape=(n, c, window.area, window.positions))
        columns = columns.reshape(n, c * window.area, window.positions)
        return (Col2im.call(columns, output_size=window.image, **window.params()),)


# ----- how the tests draw these ops' inputs: small images, windows that fit them ----------
def _draw_image_shape(case: Any, most: int) -> tuple[int, int, int, int]:
    """N 1-2, C 1-3, H and W 1-6, about `most` entries at most (one side of 1 aside)."""
    n, c = case.integer(1, 2), case.integer(1, 3)
    height = case.integer(1, max(1, min(6, most // (n * c))))
    return n, c, height, case.integer(1, max(1, min(6, most // (n * c * height))))


def _draw_images(case: Any, position: int, most: int) -> str:
    """A batch of images: fresh, or in graphs an earlier value of that kind."""

    def fits(value: np.ndarray) -> bool:
        return (
            value.ndim == 4
            and value.shape[0] <= 2
            and value.shape[1] <= 3
            and (max(value.shape[2:]) <= 6 and value.size <= most)
        )

    return case.operand(position, fits, _draw_image_shape(case, most))


def _draw_window(case: Any, image: tuple[int, int], pooling: bool) -> dict[str, Any]:
    """kernel, stride, padding (and, unless pooling, dilation) that fit an image of sides
    `image`: one int each when both axes agree, half the time, else (rows, columns)."""
    names = ("kernel", "stride", "padding") + (() if pooling else ("dilation",))
    if image[0] == image[1] and case.boolean():
        return dict(zip(names, _draw_axis(case, image[0], pooling)))
    axes = [_draw_axis(case, side, pooling) for side in image]
    return dict(zip(names, zip(*axes)))


def _draw_axis(case: Any, side: int, pooling: bool) -> tuple[int, ...]:
    """kernel 1-3, stride 1-2, padding 0-1, dilation 1-2, fitting a side of `side`."""
    padding, stride = case.integer(0, 1), case.integer(1, 2)
    if pooling:  # PyTorch's rule: padding at most half the kernel
        return case.integer(max(1, 2 * padding), min(3, side + 2 * padding)), stride, padding
    dilation = case.integer(1, 2)
    kernel = case.integer(1, min(3, (side + 2 * padding - 1) // dilation + 1))
    return kernel, stride, padding, dilation


# ----- ONNX export: how each op above is written (see minigrad.onnx) -----------------------
def window_attributes(window: Window, dilated: bool = True) -> dict[str, list[int]]:
    """A window as ONNX's attributes; pads are (top, left, bottom, right)."""
    attributes = {
        "kernel_shape": list(window.kernel),
        "strides": list(window.stride),
        "pads": list(window.padding) * 2,
    }
    if dilated:
        attributes["dilations"] = list(window.dilation)
    return attributes


def export_conv2d(graph: Any, op: Op, x: str, weight: str, bias: str) -> str:
    window = op.window(*(t.shape for t in op.inputs))
    return graph.node("Conv", x, weight, bias, group=int(op.groups), **window_attributes(window))


def export_max_pool2d(graph: Any, op: Op, x: str) -> str:
    """ONNX's MaxPool leaves padding out of every window, as -inf padding does."""
    window = op.window(op.inputs[0].shape)
    return graph.node("MaxPool", x, **window_attributes(window, dilated=False))


def export_avg_pool2d(graph: Any, op: Op, x: str) -> str:
    window = op.window(op.inputs[0].shape)
    return graph.node(
        "AveragePool", x, count_include_pad=1, **window_attributes(window, dilated=False)
    )


def offset_filters(graph: Any, window: Window, channels: int) -> str:
    """Weights (C*KH*KW, 1, KH, KW) that pick, for each channel, one kernel offset each:
    a grouped convolution with them is im2col, and the transposed one col2im."""
    picks = np.eye(window.area, dtype=graph.dtype).reshape(window.area, 1, *window.kernel)
    return graph.constant(np.tile(picks, (channels, 1, 1, 1)))


def export_im2col(graph: Any, op: Op, x: str) -> str:
    window = op.window(op.inputs[0].shape)
    channels = op.inputs[0].shape[1]
    filters = offset_filters(graph, window, channels)
    patches = graph.node("Conv", x, filters, group=channels, **window_attributes(window))
    return graph.node("Reshape", patches, graph.ints([0, 0, -1]))


def export_col2im(graph: Any, op: Op, columns: str) -> str:
    window = op.window(op.inputs[0].shape)
    channels = op.inputs[0].shape[1] // window.area
    filters = offset_filters(graph, window, channels)
    images = graph.node("Reshape", columns, graph.ints([0, channels * window.area, *window.output]))
    # rows and columns no window reaches (the stride does not divide the room) are zeros
    spans = _spans(window.kernel, window.dilation)
    uncovered = [
        room - (stride * (out - 1) + span)
        for room, stride, out, span in zip(window.padded, window.stride, window.output, spans)
    ]
    return graph.node(
        "ConvTranspose",
        images,
        filters,
        group=channels,
        output_padding=uncovered,
        **window_attributes(window),
    )


ONNX = {
    "conv2d": export_conv2d,
    "max_pool2d": export_max_pool2d,
    "avg_pool2d": export_avg_pool2d,
    "im2col": export_im2col,
    "col2im": export_col2im,
}
