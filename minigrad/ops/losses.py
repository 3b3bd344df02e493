"""Losses, fused for speed and stability: one node where composing ops would make five.

Each takes reduction="mean", "sum" or "none" (a loss per example, or per element for the
binary ones), and each refuses targets it cannot compute with a message saying why.
"""

from __future__ import annotations

import numpy as np

from minigrad.ops.activations import LogSoftmax, Softmax
from minigrad.ops.base import Op, OpError, as_floating

REDUCTIONS = ("mean", "sum", "none")


class MeanSquaredError(Op):
    """Quadratic cost 0.5 * sum((y - target)**2), fused: one node instead of five.

    reduction="sum" is the book's mean_squared_error; "mean" divides by the batch size
    (the first axis), Nielsen's cost averaged over a mini-batch; "none" is each example's
    cost, 0.5 * the sum over its other axes, so that its sum is "sum" and its mean "mean".
    Not PyTorch's mse_loss, which has no 0.5 and averages over every element.
    """

    name = "mean_squared_error"
    arity = 2
    broadcasts = True
    params = ("reduction",)
    examples = {"reduction": "mean"}
    empty_inputs = False  # the mean over no examples is 0 / 0
    reduction: str = "sum"

    def forward(self, y, target):
        check_reduction(self.name, self.reduction, REDUCTIONS)
        diff = as_floating(y - target)
        if self.reduction == "none":
            return 0.5 * (diff * diff).sum(axis=tuple(range(1, diff.ndim)))
        total = np.asarray(0.5 * np.vdot(diff, diff), dtype=diff.dtype)
        return total / batch_size(diff.shape) if self.reduction == "mean" else total

    def backward(self, grad, out, y, target):
        diff = y - target
        if self.reduction == "mean":
            grad = grad / batch_size(diff.shape)
        elif self.reduction == "none":  # one per example: spread over its other axes
            grad = grad.reshape(grad.shape + (1,) * (diff.ndim - 1))
        scaled_diff = diff * grad
        return scaled_diff, (-scaled_diff if self.inputs[1].requires_grad else None)

    @classmethod
    def draw_arguments(cls, case):
        inputs = super().draw_arguments(case)
        case.params["reduction"] = case.choice(list(REDUCTIONS))
        return inputs


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


def check_targets(caller: str, scores: tuple[int, ...], target: np.ndarray) -> None:
    """Refuse a target that is neither integer labels (N,) nor rows (N, C) for scores of
    shape (N, C), saying which it looks like and how to fix it."""
    if len(scores) != 2:
        raise OpError(
            f"{caller}: expected scores of shape (N, C), got {scores}; reshape them to "
            "(examples, classes), e.g. scores.reshape(len(scores), -1)"
        )
    if target.shape == scores:  # probabilities, or one-hot rows of any numeric dtype
        return
    rows = scores[0]
    if target.dtype.kind in "iu":
        fix = "; pass labels.reshape(-1)" if target.size == rows else ""
        if target.shape != (rows,):
            raise OpError(
                f"{caller}: integer labels must have shape ({rows},) to match scores "
                f"{scores}, got {target.shape}{fix}"
            )
    elif target.shape == (rows,):
        raise OpError(
            f"{caller}: target of shape {target.shape} has the shape of labels but dtype "
            f"{target.dtype}: class labels must be integers, so pass target.astype(np.int64) "
            f"(or probability rows of the scores' shape {scores})"
        )
    else:
        raise OpError(
            f"{caller}: target of shape {target.shape} must be integer labels ({rows},) "
            f"or probabilities of the scores' shape {scores}"
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
    params = ("reduction",)
    spelling = "F.softmax_cross_entropy({inputs}, {params})"
    reduction: str = "mean"

    def forward(self, logits, target):
        check_reduction(self.name, self.reduction, ("mean", "sum", "none"))
        check_targets(self.name, logits.shape, target)
        logits = as_floating(logits)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exps = np.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        exps /= sums
        self.saved = exps  # softmax(logits), which backward needs
        if target.ndim == 1:  # integer labels: -log softmax at the label, row by row
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
        if labels.ndim == 1:
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

    @classmethod
    def draw_arguments(cls, case):
        """Integer labels or rows of probabilities, half the time each."""
        case.params["reduction"] = case.choice(["mean", "sum", "none"])
        logits_shape = (case.side(), case.integer(2, case.side_limit + 1))
        fits = lambda v: v.ndim == 2 and v.shape[1] >= 2  # noqa: E731
        logits = case.operand(0, fits, logits_shape)
        batch, classes = case.values[logits].shape
        if case.boolean():
            return [logits, case.fresh(case.labels(batch, classes))]
        weights = case.floats((batch, classes), 0.1, 1.0)
        return [logits, case.fresh(weights / weights.sum(axis=1, keepdims=True))]
