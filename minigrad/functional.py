"""minigrad's ops as functions (`import minigrad.functional as F`), plus the losses.

The seeds' names work here: `cross_entropy_error` and `mean_squared_error` behave as in
the book, and `softmax_cross_entropy` is the fused, stable version to train with.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.ops.losses import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, NllLoss
from minigrad.tensor import Tensor, as_array


def tensor(value: Any) -> Tensor:
    """Accept a Tensor, an array or a number wherever a function takes a tensor."""
    return value if isinstance(value, Tensor) else Tensor.wrap(as_array(value))


def add(a: Any, b: Any) -> Tensor:
    return tensor(a) + b


def sub(a: Any, b: Any) -> Tensor:
    return tensor(a) - b


def mul(a: Any, b: Any) -> Tensor:
    return tensor(a) * b


def div(a: Any, b: Any) -> Tensor:
    return tensor(a) / b


def neg(a: Any) -> Tensor:
    return -tensor(a)


def pow(base: Any, exponent: Any) -> Tensor:  # noqa: A001  (mirrors the op's name)
    return tensor(base) ** exponent


def matmul(a: Any, b: Any) -> Tensor:
    return tensor(a) @ b


def linear(x: Any, weight: Tensor, bias: Tensor) -> Tensor:
    """x @ weight + bias as one fused node (weight is (in, out)).

    An input that needs no gradient (images, a list of numbers) takes the weight's dtype,
    so float64 or integer data does not silently turn a float32 model's whole step into
    float64. Where input and weight disagree in float width, a warning (once per line of
    your code) says which and how to fix it.
    """
    return ops.Linear.apply(data_like(x, weight, "linear"), weight, bias)


def _as_read(value: Any) -> Any:
    """A list or number as NumPy reads it, so integer labels stay integers; what NumPy
    cannot read is left for `as_array` to refuse with the reason."""
    try:
        return value if value is None else np.asarray(value)
    except (ValueError, TypeError):
        return value


def data_like(x: Any, weight: Tensor, caller: str) -> Tensor:
    """`x` as a tensor; one that needs no gradient (data) takes the weight's dtype, with a
    warning when the two floating widths differ."""
    if not isinstance(x, Tensor):
        x = tensor(x)
    given, wanted = x.data.dtype, weight.data.dtype
    if given is not wanted and given != wanted and not x.requires_grad:  # `is`: the hot path
        if given.kind == "f":
            _warn_float_width(given, wanted, caller)
        x = Tensor.wrap(x.data.astype(wanted))
    return x


def _warn_float_width(given: np.dtype, wanted: np.dtype, caller: str) -> None:
    if wanted == np.float64:
        fix = (
            "the model's parameters are float64 (np.random.randn makes float64), so the "
            "whole model runs in float64, about twice as slow: create them as float32, "
            "e.g. np.random.randn(...).astype(np.float32)"
        )
    else:
        fix = f"it was copied to {wanted} for this call: pass {wanted} data to skip the copy"
    message = f"{caller}: the input is {given} but the weight is {wanted}; {fix}"
    warnings.warn(message, stacklevel=4)  # the line that called linear or conv2d


# ----- images: convolution and pooling ------------------------------------------------------
def conv2d(
    x: Any,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    """Convolution of images x (N, C, H, W) with filters weight (F, C/groups, KH, KW), the
    layout of PyTorch and the book, plus bias (F,) if given, as one fused node.

    stride, padding and dilation are ints or (rows, columns) pairs. Images that need no
    gradient take the weight's dtype, as in `linear`.
    """
    weight = tensor(weight)
    x = data_like(x, weight, "conv2d")
    if bias is None:  # zeros that need no gradient; the op skips adding them
        bias = Tensor.wrap(np.zeros(weight.shape[:1], weight.dtype))
    return ops.Conv2d.apply(
        x,
        weight,
        tensor(bias),
        stride=ops.as_pair(stride, "stride", "conv2d", 1),
        padding=ops.as_pair(padding, "padding", "conv2d", 0),
        dilation=ops.as_pair(dilation, "dilation", "conv2d", 1),
        groups=groups,
    )


def conv2d_composed(
    x: Any,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    """The same convolution from im2col, matmul, reshape and add: the twin tests compare."""
    x, weight = tensor(x), tensor(weight)
    window = ops.Window.fit("conv2d_composed", x.shape, weight.shape[2:], stride, padding, dilation)
    n, filters, rows = x.shape[0], weight.shape[0], weight.shape[1] * window.area
    columns = im2col(x, window.kernel, stride, padding, dilation)
    grouped = columns.reshape(n, groups, rows, window.positions)
    out = weight.reshape(groups, filters // groups, rows) @ grouped  # (N, groups, F/groups, OH*OW)
    out = out.reshape(n, filters, *window.output)
    return out if bias is None else out + tensor(bias).reshape(filters, 1, 1)


def max_pool2d(
    x: Any,
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
) -> Tensor:
    """The largest entry of each window (the stride defaults to the kernel); its gradient
    goes to the first largest entry, row by row, as in PyTorch."""
    return ops.MaxPool2d.apply(tensor(x), **_pool_params("max_pool2d", kernel, stride, padding))


def avg_pool2d(
    x: Any,
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
) -> Tensor:
    """The mean of each window, padding counted as zeros (PyTorch's count_include_pad)."""
    return ops.AvgPool2d.apply(tensor(x), **_pool_params("avg_pool2d", kernel, stride, padding))


def _pool_params(caller: str, kernel: Any, stride: Any, padding: Any) -> dict[str, Any]:
    return {
        "kernel": ops.as_pair(kernel, "kernel", caller, 1),
        "stride": None if stride is None else ops.as_pair(stride, "stride", caller, 1),
        "padding": ops.as_pair(padding, "padding", caller, 0),
    }


def im2col(
    x: Any,
    kernel: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """Image patches as columns: x (N, C, H, W) to (N, C*KH*KW, OH*OW), PyTorch's unfold."""
    return ops.Im2col.apply(
        tensor(x), **_window_params("im2col", kernel, stride, padding, dilation)
    )


def col2im(
    columns: Any,
    output_size: int | Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """Columns (N, C*KH*KW, OH*OW) added back into images (N, C, H, W) with H, W =
    output_size, summing where windows overlap: im2col's adjoint, PyTorch's fold."""
    return ops.Col2im.apply(
        tensor(columns),
        output_size=ops.as_pair(output_size, "output_size", "col2im", 1),
        **_window_params("col2im", kernel, stride, padding, dilation),
    )


def _window_params(
    caller: str, kernel: Any, stride: Any, padding: Any, dilation: Any
) -> dict[str, Any]:
    return {
        "kernel": ops.as_pair(kernel, "kernel", caller, 1),
        "stride": ops.as_pair(stride, "stride", caller, 1),
        "padding": ops.as_pair(padding, "padding", caller, 0),
        "dilation": ops.as_pair(dilation, "dilation", caller, 1),
    }


def constant_like(value: Any, like: Tensor, caller: str = "Tensor") -> Tensor:
    """`value` as a tensor; one that needs no gradient takes the floating dtype of `like`.

    Targets and inputs often arrive as float64 arrays (np.eye(10)[t]); integer labels
    keep their dtype, also in a list. None and other non-numbers are refused, naming
    `caller`.
    """
    if isinstance(value, Tensor):
        if value.requires_grad or value.dtype.kind != "f" or value.dtype == like.dtype:
            return value
        return Tensor.wrap(value.data.astype(like.dtype))
    array = as_array(_as_read(value), caller=caller)
    # float labels must not become integers by meeting integer logits
    if array.dtype.kind == "f" and like.dtype.kind == "f" and array.dtype != like.dtype:
        array = array.astype(like.dtype)
    return Tensor.wrap(array)


def exp(x: Any) -> Tensor:
    return ops.Exp.apply(tensor(x))


def log(x: Any) -> Tensor:
    return ops.Log.apply(tensor(x))


def sqrt(x: Any) -> Tensor:
    return ops.Sqrt.apply(tensor(x))


def abs(x: Any) -> Tensor:  # noqa: A001
    return ops.Abs.apply(tensor(x))


def log1p(x: Any) -> Tensor:
    return ops.Log1p.apply(tensor(x))


def expm1(x: Any) -> Tensor:
    return ops.Expm1.apply(tensor(x))


def sin(x: Any) -> Tensor:
    return ops.Sin.apply(tensor(x))


def cos(x: Any) -> Tensor:
    return ops.Cos.apply(tensor(x))


def erf(x: Any) -> Tensor:
    return ops.Erf.apply(tensor(x))


def maximum(a: Any, b: Any) -> Tensor:
    """The larger of a and b, elementwise (broadcasting); a tie sends half the gradient
    to each."""
    return tensor(a).maximum(b)


def minimum(a: Any, b: Any) -> Tensor:
    return tensor(a).minimum(b)


def sigmoid(x: Any) -> Tensor:
    return ops.Sigmoid.apply(tensor(x))


def tanh(x: Any) -> Tensor:
    return ops.Tanh.apply(tensor(x))


def relu(x: Any) -> Tensor:
    return ops.Relu.apply(tensor(x))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    return ops.LeakyRelu.apply(tensor(x), negative_slope=negative_slope)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    return ops.Elu.apply(tensor(x), alpha=alpha)


def gelu(x: Any, approximate: str = "none") -> Tensor:
    """x * Phi(x) (approximate="none", erf-based) or its tanh approximation
    (approximate="tanh"), as PyTorch's gelu; each is its own op."""
    if approximate == "none":
        return ops.Gelu.apply(tensor(x))
    if approximate == "tanh":
        return ops.GeluTanh.apply(tensor(x))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x: Any) -> Tensor:
    return ops.Silu.apply(tensor(x))


def softplus(x: Any) -> Tensor:
    return ops.Softplus.apply(tensor(x))


def log_sigmoid(x: Any) -> Tensor:
    return ops.LogSigmoid.apply(tensor(x))


def softmax(x: Any, axis: int = -1) -> Tensor:
    return ops.Softmax.apply(tensor(x), axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    return ops.LogSoftmax.apply(tensor(x), axis=axis)


def clip(x: Any, low: float | None = None, high: float | None = None) -> Tensor:
    return ops.Clip.apply(tensor(x), low=low, high=high)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return ops.Sum.apply(tensor(x), axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.Mean.apply(tensor(x), axis=axis, keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return ops.Max.apply(tensor(x), axis=axis, keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return ops.Min.apply(tensor(x), axis=axis, keepdims=keepdims)


def var(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Variance, divided by count - ddof: ddof=0 as in NumPy (torch's var defaults to 1)."""
    return ops.Var.apply(tensor(x), axis=axis, ddof=ddof, keepdims=keepdims)


def std(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Standard deviation, ddof=0 as in NumPy (torch's std defaults to 1)."""
    return ops.Std.apply(tensor(x), axis=axis, ddof=ddof, keepdims=keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.Prod.apply(tensor(x), axis=axis, keepdims=keepdims)


def norm(x: Any, ord: int = 2, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """The vector norm over axis (all entries by default): ord=2 Euclidean, ord=1 sum of |x|."""
    return ops.Norm.apply(tensor(x), ord=ord, axis=axis, keepdims=keepdims)


def cumsum(x: Any, axis: int | None = None) -> Tensor:
    return ops.Cumsum.apply(tensor(x), axis=axis)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest entry, the first of ties: an integer tensor with no gradient."""
    return tensor(x).argmax(axis=axis, keepdims=keepdims)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    return tensor(x).argmin(axis=axis, keepdims=keepdims)


def reshape(x: Any, shape: int | Sequence[int]) -> Tensor:
    return tensor(x).reshape(shape if isinstance(shape, (int, np.integer)) else tuple(shape))


view = reshape


def squeeze(x: Any, axis: Any = None) -> Tensor:
    return ops.Squeeze.apply(tensor(x), axis=axis)


def unsqueeze(x: Any, axis: int) -> Tensor:
    return ops.Unsqueeze.apply(tensor(x), axis=axis)


def repeat(x: Any, repeats: int, axis: int | None = None) -> Tensor:
    """np.repeat: each entry `repeats` times in a row along axis (None: flattened first).
    PyTorch calls this repeat_interleave; its Tensor.repeat is `tile`."""
    return ops.Repeat.apply(tensor(x), repeats=repeats, axis=axis)


repeat_interleave = repeat


def tile(x: Any, reps: Any) -> Tensor:
    """np.tile: the whole of x `reps[i]` times along axis i."""
    return ops.Tile.apply(tensor(x), reps=reps)


def pad(x: Any, pad_width: Any) -> Tensor:
    """Zeros around x, with np.pad's pad_width: an int, a (before, after) pair for every
    axis, or one pair per axis."""
    return ops.Pad.apply(tensor(x), pad_width=pad_width)


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """np.einsum of any number of operands, e.g. F.einsum("ij,jk->ik", a, b)."""
    return ops.Einsum.apply(*[tensor(t) for t in operands], subscripts=subscripts)


def flatten(x: Any, start_axis: int = 0) -> Tensor:
    return ops.Flatten.apply(tensor(x), start_axis=start_axis)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    x = tensor(x)
    return x.transpose(tuple(axes) if axes is not None else ())


permute = transpose


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    return ops.BroadcastTo.apply(tensor(x), shape=tuple(shape))


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    return ops.Concatenate.apply(*[tensor(t) for t in tensors], axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    return ops.Stack.apply(*[tensor(t) for t in tensors], axis=axis)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise `a if condition else b`; the condition itself has no gradient."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
    a = tensor(a)
    b = b if isinstance(b, Tensor) else Tensor.wrap(np.asarray(b, dtype=a.dtype))
    return ops.Where.apply(a, b, condition=condition.astype(bool))


# ----- losses -------------------------------------------------------------------------------
def softmax_cross_entropy(
    logits: Tensor,
    target: Any,
    reduction: str = "mean",
    *,
    weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
) -> Tensor:
    """Mean (or sum, or per-example) cross-entropy of softmax(logits) against `target`.

    `target`: integer labels (N,) or one-hot / probability rows (N, C). One fused,
    stable node: finite for logits up to 1e4 in size.

    The options are PyTorch's cross_entropy's: `weight` (a constant, one number per class)
    multiplies each class's terms; `label_smoothing` s trains against (1 - s) * target +
    s / C; examples labelled `ignore_index` count for nothing (nothing is ignored unless
    you say so; PyTorch's default is -100). With weights or ignored labels, "mean" divides
    by the sum of the weights of the labels that count, as PyTorch does; for probability
    rows it divides by N.
    """
    logits = tensor(logits)
    return ops.SoftmaxCrossEntropy.apply(
        logits,
        constant_like(target, logits, "softmax_cross_entropy"),
        reduction=reduction,
        weight=_constant_weights("softmax_cross_entropy", "weight", weight),
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
    )


def softmax_cross_entropy_composed(
    logits: Tensor,
    target: Any,
    reduction: str = "mean",
    *,
    weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
) -> Tensor:
    """The same loss built from log_softmax, indexing, products and sums: the twin tests
    compare."""
    ops.check_reduction("softmax_cross_entropy_composed", reduction, ("mean", "sum", "none"))
    logits = tensor(logits)
    target = constant_like(target, logits, "softmax_cross_entropy_composed")
    ops.check_targets("softmax_cross_entropy_composed", logits.shape, target.data)
    labels = target.ndim == 1
    if labels:
        ops.check_labels(
            "softmax_cross_entropy_composed", target.data, logits.shape[1], ignore_index
        )
    log_probs = log_softmax(logits, axis=1)
    classes, smoothing = logits.shape[1], label_smoothing
    weight = (np.ones(classes) if weight is None else np.asarray(weight)).astype(logits.dtype)
    if labels:
        kept = np.ones(len(target), bool) if ignore_index is None else target.data != ignore_index
        safe_labels = np.where(kept, target.data, 0)
        picked = weight[safe_labels] * kept
        at_labels = -log_probs[np.arange(len(target)), safe_labels] * picked
        uniform = -(log_probs * weight).sum(axis=1) * kept.astype(logits.dtype)
        losses = at_labels * (1 - smoothing) + uniform * (smoothing / classes)
        divisor = picked.sum()
    else:
        smoothed = (target * (1 - smoothing) + smoothing / classes) * weight
        losses = -(log_probs * smoothed).sum(axis=1)
        divisor = len(target)
    if reduction == "mean":
        return losses.sum() / divisor
    return losses.sum() if reduction == "sum" else losses


# ----- losses on log-probabilities and probabilities, as in PyTorch ---------------------------
def nll_loss(
    log_probs: Tensor,
    labels: Any,
    weight: Any = None,
    *,
    reduction: str = "mean",
    ignore_index: int | None = None,
) -> Tensor:
    """PyTorch's nll_loss: -weight[label] * log_probs[n, label] for each example n, on
    log-probabilities (N, C) (log_softmax's output) and integer labels (N,).

    `weight`: one number per class (a constant). "mean" divides by the sum of the weights
    picked (N without them). Examples labelled `ignore_index` count for nothing; unlike
    PyTorch, whose default is -100, nothing is ignored unless you say so (a -100 label is
    refused). `nll_loss(log_softmax(x, axis=1), t)` is `softmax_cross_entropy(x, t)`.
    """
    log_probs = tensor(log_probs)
    return NllLoss.apply(
        log_probs,
        constant_like(labels, log_probs, "nll_loss"),
        reduction=reduction,
        weight=_constant_weights("nll_loss", "weight", weight),
        ignore_index=ignore_index,
    )


def binary_cross_entropy(
    probs: Tensor, targets: Any, weight: Any = None, *, reduction: str = "mean"
) -> Tensor:
    """PyTorch's binary_cross_entropy: -weight * (t log p + (1 - t) log(1 - p)) for each
    probability p and target t (of p's shape); "mean" averages over every element.

    Each log is clamped at -100, as PyTorch does, so a probability of exactly 0 or 1
    costs at most 100 (times its weight), not inf; the gradient is PyTorch's, finite there
    too. `weight` (a constant) broadcasts to p's shape. On raw scores, use
    binary_cross_entropy_with_logits: it is exact where sigmoid rounds to 0 or 1.
    """
    probs = tensor(probs)
    return BinaryCrossEntropy.apply(
        probs,
        constant_like(targets, probs, "binary_cross_entropy"),
        reduction=reduction,
        weight=_constant_weights("binary_cross_entropy", "weight", weight),
    )


def binary_cross_entropy_with_logits(
    logits: Tensor,
    targets: Any,
    weight: Any = None,
    *,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """binary_cross_entropy(sigmoid(logits), targets) as one stable node, as PyTorch's
    binary_cross_entropy_with_logits: exact for logits as large as 1e4 in size.

    `pos_weight` multiplies the loss of the positive targets (t = 1); it broadcasts
    against the logits, so one number per class is shape (C,). `weight` (per element,
    broadcast) multiplies the whole loss. Both are constants.
    """
    logits = tensor(logits)
    return BinaryCrossEntropyWithLogits.apply(
        logits,
        constant_like(targets, logits, "binary_cross_entropy_with_logits"),
        reduction=reduction,
        weight=_constant_weights("binary_cross_entropy_with_logits", "weight", weight),
        pos_weight=_constant_weights("binary_cross_entropy_with_logits", "pos_weight", pos_weight),
    )


def _constant_weights(caller: str, name: str, weight: Any) -> np.ndarray | None:
    """Weights as an array. They are constants, as in PyTorch: a Tensor that requires grad
    is refused rather than left without its gradient."""
    if not isinstance(weight, Tensor):
        return None if weight is None else np.asarray(weight)
    if weight.requires_grad:
        raise ops.OpError(
            f"{caller}: {name} is a constant and gets no gradient, but this Tensor requires "
            f"grad; pass {name}.detach()"
        )
    return weight.data


def cross_entropy(probs: Tensor, target: Any, eps: float = 1e-7) -> Tensor:
    """The book's cross_entropy_error on probabilities: -sum(t * log(y + eps)) / batch.

    Accepts one-hot rows or integer labels; a single example (1-D) is one batch row.
    """
    probs = tensor(probs)
    target = constant_like(target, probs, "cross_entropy")
    if probs.ndim == 1:
        probs = probs.reshape(1, -1)
        target = target.reshape(1, -1) if target.ndim == 1 else target.reshape(1)
    ops.check_targets("cross_entropy", probs.shape, target.data)
    labels = target.ndim == 1
    if labels:
        ops.check_labels("cross_entropy", target.data, probs.shape[1])
    batch = probs.shape[0]
    if labels:
        picked = probs[np.arange(batch), target.data]
        return -(picked + eps).log().sum() / batch
    return -(target * (probs + eps).log()).sum() / batch


cross_entropy_error = cross_entropy


def mean_squared_error(y: Tensor, target: Any, reduction: str = "sum") -> Tensor:
    """Quadratic cost 0.5 * sum((y - t)**2), as one fused node.

    reduction="sum" is the book's mean_squared_error (despite its name, not divided by
    anything); reduction="mean" divides by the batch size (first axis), which is
    Nielsen's cost averaged over a mini-batch; reduction="none" gives each example's cost
    (0.5 * the sum over its other axes). PyTorch's mse_loss has no 0.5 and averages over
    every element: it is 2 * this "sum" / y.size.
    """
    y = tensor(y)
    return ops.MeanSquaredError.apply(y, _quadratic_target(y, target), reduction=reduction)


def mean_squared_error_composed(y: Tensor, target: Any, reduction: str = "sum") -> Tensor:
    """The same cost from sub, mul and sum: the twin the fused op is tested against."""
    ops.check_reduction("mean_squared_error_composed", reduction, ("sum", "mean", "none"))
    y = tensor(y)
    diff = y - _quadratic_target(y, target)
    if reduction == "none":
        return (diff * diff).sum(axis=tuple(range(1, diff.ndim))) * 0.5
    total = (diff * diff).sum() * 0.5
    return total / ops.batch_size(diff.shape) if reduction == "mean" else total


def _quadratic_target(y: Tensor, target: Any) -> Tensor:
    """The target as a tensor of y's dtype; integer labels are refused, not broadcast."""
    target = constant_like(target, y, "mean_squared_error")
    if target.dtype.kind in "iu" and target.shape != y.shape:
        raise ValueError(
            f"mean_squared_error: target of shape {target.shape} looks like integer labels "
            f"for outputs of shape {y.shape}; pass one-hot rows instead, e.g. "
            f"np.eye({y.shape[-1]}, dtype=np.float32)[labels]"
        )
    return target if target.dtype.kind == "f" else Tensor.wrap(target.data.astype(y.dtype))
