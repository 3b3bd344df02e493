"""minigrad's ops as functions (`import minigrad.functional as F`), plus the losses.

The seeds' names work here: `cross_entropy_error` and `mean_squared_error` behave as in
the book, and `softmax_cross_entropy` is the fused, stable version to train with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import ops
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
    """x @ weight + bias as one fused node (weight is (in, out))."""
    return ops.Linear.apply(tensor(x), weight, bias)


def exp(x: Any) -> Tensor:
    return ops.Exp.apply(tensor(x))


def log(x: Any) -> Tensor:
    return ops.Log.apply(tensor(x))


def sqrt(x: Any) -> Tensor:
    return ops.Sqrt.apply(tensor(x))


def abs(x: Any) -> Tensor:  # noqa: A001
    return ops.Abs.apply(tensor(x))


def sigmoid(x: Any) -> Tensor:
    return ops.Sigmoid.apply(tensor(x))


def tanh(x: Any) -> Tensor:
    return ops.Tanh.apply(tensor(x))


def relu(x: Any) -> Tensor:
    return ops.Relu.apply(tensor(x))


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


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    return tensor(x).reshape(tuple(shape))


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
_REDUCTIONS = ("mean", "sum", "none")


def _check_targets(caller: str, scores: Tensor, target: Tensor) -> None:
    if scores.ndim != 2:
        raise ValueError(f"{caller}: expected (N, C) scores, got shape {scores.shape}")
    if target.dtype.kind in "iu":
        if target.shape != scores.shape[:1]:
            raise ValueError(
                f"{caller}: integer labels must have shape ({scores.shape[0]},) to match "
                f"scores {scores.shape}, got {target.shape}"
            )
        if target.size and (target.data.min() < 0 or target.data.max() >= scores.shape[1]):
            raise ValueError(
                f"{caller}: labels must lie in 0..{scores.shape[1] - 1}, got "
                f"{target.data.min()}..{target.data.max()}"
            )
    elif target.shape != scores.shape:
        raise ValueError(
            f"{caller}: target of shape {target.shape} must be integer labels "
            f"({scores.shape[0]},) or probabilities of the scores' shape {scores.shape}"
        )


def softmax_cross_entropy(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or per-example) cross-entropy of softmax(logits) against `target`.

    `target`: integer labels (N,) or one-hot / probability rows (N, C). One fused,
    stable node: finite for logits up to 1e4 in size.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"softmax_cross_entropy: reduction must be one of {_REDUCTIONS}")
    target = tensor(target)
    _check_targets("softmax_cross_entropy", logits, target)
    return ops.SoftmaxCrossEntropy.apply(logits, target, reduction=reduction)


def softmax_cross_entropy_composed(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """The same loss built from log_softmax, indexing and mean: the twin tests compare."""
    target = tensor(target)
    _check_targets("softmax_cross_entropy_composed", logits, target)
    log_probs = log_softmax(logits, axis=1)
    if target.dtype.kind in "iu":
        losses = -log_probs[np.arange(len(target)), target.data]
    else:
        losses = -(target * log_probs).sum(axis=1)
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def cross_entropy(probs: Tensor, target: Any, eps: float = 1e-7) -> Tensor:
    """The book's cross_entropy_error on probabilities: -sum(t * log(y + eps)) / batch.

    Accepts one-hot rows or integer labels; a single example (1-D) is one batch row.
    """
    target = tensor(target)
    if probs.ndim == 1:
        probs = probs.reshape(1, -1)
        target = target.reshape(1, -1) if target.ndim == 1 else target.reshape(1)
    _check_targets("cross_entropy", probs, target)
    batch = probs.shape[0]
    if target.dtype.kind in "iu":
        picked = probs[np.arange(batch), target.data]
        return -(picked + eps).log().sum() / batch
    return -(target * (probs + eps).log()).sum() / batch


cross_entropy_error = cross_entropy


def mean_squared_error(y: Tensor, target: Any, reduction: str = "sum") -> Tensor:
    """Quadratic cost 0.5 * sum((y - t)**2), as one fused node.

    reduction="sum" is the book's mean_squared_error (despite its name, not divided by
    anything); reduction="mean" divides by the batch size (first axis), which is
    Nielsen's cost averaged over a mini-batch.
    """
    _check_mse_reduction(reduction)
    target = target if isinstance(target, Tensor) else Tensor.wrap(np.asarray(target, y.dtype))
    return ops.MeanSquaredError.apply(tensor(y), target, reduction=reduction)


def mean_squared_error_composed(y: Tensor, target: Any, reduction: str = "sum") -> Tensor:
    """The same cost from sub, mul and sum: the twin the fused op is tested against."""
    _check_mse_reduction(reduction)
    diff = y - target
    total = (diff * diff).sum() * 0.5
    return total / ops.batch_size(diff.shape) if reduction == "mean" else total


def _check_mse_reduction(reduction: str) -> None:
    if reduction not in ("sum", "mean"):
        raise ValueError("mean_squared_error: reduction must be 'sum' (the book) or 'mean'")
