"""Losses, fused for speed and stability: one node where composing ops would make five.

Each takes reduction="mean", "sum" or "none" (a loss per example, or per element for the
binary ones), and each refuses targets it cannot compute with a message saying why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.ops.activations import LogSoftmax, Sigmoid, Softmax
from minigrad.ops.base import Op, OpError, as_floating, is_whole
from minigrad.ops.elementwise import Clip

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
        diff = as_floating(y) - as_floating(target)  # uint8 would wrap below 0
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


def check_labels(
    op_name: str, labels: np.ndarray, classes: int, ignore_index: int | None = None
) -> None:
    """Refuse a label outside 0..classes-1 (NumPy indexing would wrap a negative one),
    other than `ignore_index`, which marks an example to leave out."""
    allowed = ""
    if ignore_index is not None:
        if not is_whole(ignore_index):
            raise OpError(f"{op_name}: ignore_index must be an int label, got {ignore_index!r:.40}")
        labels = labels[labels != ignore_index]
        allowed = f" (or be the ignore_index, {ignore_index})"
    # As unsigned numbers negative labels are huge, so one max() checks both ends.
    if labels.size and labels.astype(np.uint64).max() >= classes:
        raise OpError(
            f"{op_name}: labels must lie in 0..{classes - 1}{allowed}, "
            f"got {labels.min()}..{labels.max()}"
        )


def check_scores(caller: str, scores: tuple[int, ...]) -> None:
    """Refuse scores (logits, log-probabilities) that are not (examples, classes)."""
    if len(scores) != 2:
        raise OpError(
            f"{caller}: expected scores of shape (N, C), got {scores}; reshape them to "
            "(examples, classes), e.g. scores.reshape(len(scores), -1)"
        )


def check_label_targets(caller: str, scores: tuple[int, ...], labels: np.ndarray) -> None:
    """Refuse anything but integer labels (N,) for scores of shape (N, C)."""
    check_scores(caller, scores)
    rows = scores[0]
    if labels.dtype.kind in "iu" and labels.shape == (rows,):
        return
    if labels.shape == scores:
        fix = (
            "for one-hot rows pass labels.argmax(axis=1); for probability rows use "
            "softmax_cross_entropy on the logits"
        )
    elif labels.shape == (rows,):
        fix = "pass labels.astype(np.int64)"
    elif labels.size == rows:
        fix = "pass labels.reshape(-1)" + ("" if labels.dtype.kind in "iu" else ".astype(np.int64)")
    else:
        fix = "one label per row of the scores"
    raise OpError(
        f"{caller}: labels must be integers of shape ({rows},) to match scores {scores}, "
        f"got {labels.dtype}{labels.shape}: {fix}"
    )


def check_targets(caller: str, scores: tuple[int, ...], target: np.ndarray) -> None:
    """Refuse a target that is neither integer labels (N,) nor rows (N, C) for scores of
    shape (N, C), saying which it looks like and how to fix it."""
    check_scores(caller, scores)
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


def reduced(losses: np.ndarray, reduction: str, count: float, dtype: np.dtype) -> np.ndarray:
    """The losses as `reduction` asks: "mean" divides their sum by `count` (the examples,
    or the sum of their weights); nan when nothing counts (0 / 0), as in PyTorch."""
    if reduction == "none":
        return losses.astype(dtype, copy=False)
    total = losses.sum()
    if reduction == "mean":
        total = total / count if count else np.nan
    return np.asarray(total, dtype=dtype)


def term_gradient(grad: Any, reduction: str, count: float) -> Any:
    """The gradient each loss term gets: the output's, divided by `count` for "mean".
    When nothing counts every term's gradient is 0 already, so any divisor will do."""
    return grad / (count or 1) if reduction == "mean" else grad


def class_weights(op_name: str, weight: Any, classes: int, dtype: np.dtype) -> Any:
    """`weight` as an array of `dtype` holding one number per class (None stays None)."""
    if weight is None:
        return None
    weight = np.asarray(weight, dtype=dtype)
    if weight.shape != (classes,):
        raise OpError(
            f"{op_name}: weight must hold one number per class, shape ({classes},), "
            f"got {weight.shape}"
        )
    return weight


def kept_labels(labels: np.ndarray, ignore_index: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Which examples count (their label is not `ignore_index`), and the labels with the
    ignored ones set to class 0 so that they can index (their weight is 0)."""
    if ignore_index is None:
        return np.ones(len(labels), dtype=bool), labels
    kept = labels != ignore_index
    return kept, np.where(kept, labels, 0)


class NllLoss(Op):
    """Negative log-likelihood of integer labels under log-probabilities (N, C), as
    PyTorch's nll_loss: example n's loss is -weight[label] * log_probs[n, label].

    "mean" divides by the sum of the weights picked (N without `weight`). Examples
    labelled `ignore_index` count for nothing, neither in the sum nor in the mean's
    divisor; a mean over no example left is nan (with zero gradients), as in PyTorch.
    """

    name = "nll_loss"
    arity = 2
    domain = (-4.0, 0.0)  # log-probabilities
    params = ("reduction", "weight", "ignore_index")
    spelling = "F.nll_loss({inputs}, {params})"
    reduction: str = "mean"
    weight: Any = None
    ignore_index: int | None = None

    def forward(self, log_probs, labels):
        check_reduction(self.name, self.reduction, REDUCTIONS)
        check_label_targets(self.name, log_probs.shape, labels)
        check_labels(self.name, labels, log_probs.shape[1], self.ignore_index)
        log_probs = as_floating(log_probs)
        weight = class_weights(self.name, self.weight, log_probs.shape[1], log_probs.dtype)
        kept, labels = kept_labels(labels, self.ignore_index)
        picked = kept.astype(log_probs.dtype) if weight is None else weight[labels] * kept
        self.saved = picked, labels
        losses = -picked * log_probs[np.arange(len(labels)), labels]
        return reduced(losses, self.reduction, picked.sum(), log_probs.dtype)

    def backward(self, grad, out, log_probs, labels):
        picked, labels = self.saved
        slopes = np.zeros(self.inputs[0].shape, dtype=picked.dtype)  # the loss is linear
        slopes[np.arange(len(labels)), labels] = -picked
        scale = term_gradient(grad, self.reduction, picked.sum())
        return slopes * (scale.reshape(-1, 1) if scale.ndim == 1 else scale), None

    @classmethod
    def draw_arguments(cls, case):
        """Log-probabilities (N, C) and labels; now and then class weights, ignored labels."""
        case.params["reduction"] = case.choice(list(REDUCTIONS))
        log_probs = draw_scores(case)
        batch, classes = case.values[log_probs].shape
        draw_class_weights(case, classes)
        return [log_probs, draw_labels(case, batch, classes)]


def draw_scores(case: Any) -> str:
    """Scores (N, C) with at least two classes: an earlier value of that shape, or fresh."""
    shape = (case.side(), case.integer(2, case.side_limit + 1))
    return case.operand(0, lambda value: value.ndim == 2 and value.shape[1] >= 2, shape)


def draw_class_weights(case: Any, classes: int) -> None:
    """Half the time, a positive weight per class."""
    if case.boolean():
        case.params["weight"] = case.floats((classes,), 0.1, 2.0)


def draw_labels(case: Any, batch: int, classes: int) -> str:
    """Integer labels; half the time some of them (never the first, so that one counts)
    set to an ignore_index outside the classes."""
    labels = case.labels(batch, classes)
    if case.boolean():
        ignore_index = case.choice([-100, classes])
        ignored = case.bools((batch,))
        ignored[0] = False
        labels[ignored] = ignore_index
        case.params["ignore_index"] = ignore_index
    return case.fresh(labels)


class SoftmaxCrossEntropy(Op):
    """Cross-entropy of softmax(logits) against targets, fused for speed and stability.

    `target` holds integer class labels of shape (N,) or probabilities of shape (N, C)
    (one-hot rows are probabilities). Finite for logits as large as 1e4.

    The options are PyTorch's cross_entropy's. `weight`, one number per class, multiplies
    each class's terms. `label_smoothing` s mixes each target with the uniform one:
    (1 - s) * target + s / C. `ignore_index` leaves out the examples with that label.
    "mean" divides by N, except for labels with weights or ignored examples: then, as in
    PyTorch, by the sum of the weights of the labels that count (the smoothed part too is
    divided by that). Without options the loss takes the short path, at no extra cost.
    """

    name = "softmax_cross_entropy"
    arity = 2
    params = ("reduction", "weight", "label_smoothing", "ignore_index")
    spelling = "F.softmax_cross_entropy({inputs}, {params})"
    reduction: str = "mean"
    weight: Any = None
    label_smoothing: float = 0.0
    ignore_index: int | None = None

    def forward(self, logits, target):
        check_reduction(self.name, self.reduction, REDUCTIONS)
        check_targets(self.name, logits.shape, target)
        logits = as_floating(logits)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exps = np.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        exps /= sums
        self.saved = exps  # softmax(logits), which backward needs
        if self.has_options():
            return self.forward_with_options(shifted - np.log(sums), target)
        if target.ndim == 1:  # integer labels: -log softmax at the label, row by row
            check_labels(self.name, target, logits.shape[1])  # checked here for replay too
            losses = np.log(sums[:, 0]) - shifted[np.arange(len(target)), target]
        else:
            losses = -(as_floating(target) * (shifted - np.log(sums))).sum(axis=1)
        if self.reduction == "mean":
            return np.asarray(losses.sum() / len(losses), dtype=logits.dtype)
        if self.reduction == "sum":
            return np.asarray(losses.sum(), dtype=logits.dtype)
        return losses.astype(logits.dtype, copy=False)

    def backward(self, grad, out, logits, target):
        probs = Softmax.record(self.saved, logits, axis=1)
        if self.has_options():
            return self.backward_with_options(grad, probs, logits, target)
        if self.reduction == "mean":
            grad = grad / logits.shape[0]
        if grad.ndim == 1:
            grad = grad.reshape(-1, 1)
        labels = self.inputs[1].data
        if labels.ndim == 1:
            one_hot = np.zeros(logits.shape, dtype=probs.dtype)
            one_hot[np.arange(len(labels)), labels] = 1
            return (probs - one_hot) * grad, None
        needs_target = self.inputs[1].requires_grad
        grad_target = -LogSoftmax.call(logits, axis=1) * grad if needs_target else None
        return (probs * target.sum(axis=1, keepdims=True) - target) * grad, grad_target

    def has_options(self) -> bool:
        """Whether class weights, label smoothing or an ignore_index are set."""
        return self.weight is not None or self.label_smoothing != 0 or self.ignore_index is not None

    def forward_with_options(self, log_probs: np.ndarray, target: np.ndarray) -> np.ndarray:
        classes = log_probs.shape[1]
        if not 0 <= self.label_smoothing <= 1:
            raise OpError(
                f"{self.name}: label_smoothing must lie in [0, 1], got {self.label_smoothing}"
            )
        if target.ndim == 1:
            check_labels(self.name, target, classes, self.ignore_index)
        elif self.ignore_index is not None:
            raise OpError(
                f"{self.name}: ignore_index applies to integer labels, not to probability "
                f"rows {target.shape}: leave it out"
            )
        rows, count = self.target_rows(target, classes, log_probs.dtype)
        return reduced(-(rows * log_probs).sum(axis=1), self.reduction, count, log_probs.dtype)

    def backward_with_options(self, grad: Any, probs: Any, logits: Any, target: Any) -> tuple:
        labels = self.inputs[1].data
        classes, dtype = self.saved.shape[1], self.saved.dtype
        rows, count = self.target_rows(labels if labels.ndim == 1 else target, classes, dtype)
        grad = term_gradient(grad, self.reduction, count)
        if grad.ndim == 1:
            grad = grad.reshape(-1, 1)
        grad_logits = (probs * rows.sum(axis=1, keepdims=True) - rows) * grad
        if labels.ndim == 1 or not self.inputs[1].requires_grad:
            return grad_logits, None
        weight = class_weights(self.name, self.weight, classes, dtype)
        row_slope = (1 - self.label_smoothing) * (1 if weight is None else weight)
        return grad_logits, -LogSoftmax.call(logits, axis=1) * row_slope * grad

    def target_rows(self, target: Any, classes: int, dtype: np.dtype) -> tuple[Any, Any]:
        """What multiplies -log_softmax(logits) in each example's loss, (N, C), and what
        "mean" divides by, as in PyTorch's cross_entropy. Probability rows may be Tensors
        (in a recorded backward): the rows are then a Tensor too."""
        weight = class_weights(self.name, self.weight, classes, dtype)
        weight = np.ones(classes, dtype) if weight is None else weight
        smoothing = self.label_smoothing
        if target.ndim == 2:  # probabilities, mixed with the uniform ones
            return (target * (1 - smoothing) + smoothing / classes) * weight, target.shape[0]
        kept, labels = kept_labels(target, self.ignore_index)
        picked = weight[labels] * kept
        rows = np.outer(kept.astype(dtype) * (smoothing / classes), weight)
        rows[np.arange(len(labels)), labels] += (1 - smoothing) * picked
        return rows, picked.sum()

    def describe_params(self):
        shown = super().describe_params()
        if not self.label_smoothing:  # off: keep the labels of plain training short
            del shown["label_smoothing"]
        return shown

    def explain_error(self, shapes, error):
        logits, target = shapes
        return (
            f"softmax_cross_entropy: logits {logits} and target {target} do not fit: logits "
            "must be (N, C) and target either integer labels (N,) or probabilities (N, C)"
        )

    @classmethod
    def draw_arguments(cls, case):
        """Integer labels or rows of probabilities, half the time each; half the time with
        options: class weights, label smoothing, ignored labels, each now and then."""
        case.params["reduction"] = case.choice(list(REDUCTIONS))
        logits = draw_scores(case)
        batch, classes = case.values[logits].shape
        options = case.boolean()
        if options:
            draw_class_weights(case, classes)
            if case.boolean():
                case.params["label_smoothing"] = case.choice([0.1, 0.5, 1.0])
        if case.boolean():
            if options:
                return [logits, draw_labels(case, batch, classes)]
            return [logits, case.fresh(case.labels(batch, classes))]
        weights = case.floats((batch, classes), 0.1, 1.0)
        return [logits, case.fresh(weights / weights.sum(axis=1, keepdims=True))]


class BinaryLoss(Op, register=False):
    """What the two binary cross-entropies share: targets of the inputs' shape, element
    weights, "mean" over every element, and the derivative in the target."""

    arity = 2
    empty_inputs = False  # the mean over no entries is 0 / 0
    reduction: str = "mean"
    weight: Any = None

    def checked(self, inputs: np.ndarray, targets: np.ndarray, what: str) -> tuple:
        """The inputs and targets as floats, and the weight as an array or None, refusing
        a reduction, targets or a weight that do not fit."""
        check_reduction(self.name, self.reduction, REDUCTIONS)
        if targets.shape != inputs.shape:
            fix = f"; pass targets.reshape{inputs.shape}" if targets.size == inputs.size else ""
            raise OpError(
                f"{self.name}: targets must have the shape of the {what} {inputs.shape}, "
                f"got {targets.shape}{fix}"
            )
        inputs = as_floating(inputs)
        targets = targets if targets.dtype.kind == "f" else targets.astype(inputs.dtype)
        weight = element_weights(self.name, "weight", self.weight, inputs.shape, inputs.dtype)
        return inputs, targets, weight

    def target_gradient(self, inputs: Any, weighted_grad: Any) -> Any:
        """The loss is linear in the target, so its derivative there is the loss at target
        1 minus the loss at target 0: this op again, as stable as its forward, and recorded
        (so differentiable again) under create_graph."""
        if not self.inputs[1].requires_grad:
            return None
        options = {name: getattr(self, name) for name in self.params}
        options.update(reduction="none", weight=None)  # the weight is in weighted_grad
        ones = np.ones(inputs.shape, dtype=inputs.dtype)
        at_one = type(self).call(inputs, ones, **options)
        at_zero = type(self).call(inputs, np.zeros_like(ones), **options)
        return (at_one - at_zero) * weighted_grad

    @classmethod
    def draw_arguments(cls, case):
        """Inputs of any shape, targets in [0, 1] of the same shape, every reduction, and
        half the time element weights that broadcast to the inputs."""
        inputs = case.operand(0)
        shape = case.values[inputs].shape
        targets = case.operand(1, lambda value: value.shape == shape, shape)
        case.params["reduction"] = case.choice(list(REDUCTIONS))
        if case.boolean():
            case.params["weight"] = case.floats(draw_shape_within(case, shape), 0.1, 2.0)
        return [inputs, targets]


def element_weights(op_name: str, name: str, weight: Any, shape: tuple, dtype: np.dtype) -> Any:
    """`weight` as an array of `dtype` that broadcasts to `shape` (None stays None)."""
    if weight is None:
        return None
    weight = np.asarray(weight, dtype=dtype)
    trailing = shape[len(shape) - weight.ndim :]
    if weight.ndim > len(shape) or any(w not in (1, n) for w, n in zip(weight.shape, trailing)):
        raise OpError(
            f"{op_name}: {name} of shape {weight.shape} must broadcast to the inputs' shape "
            f"{shape} (one number per class is shape ({shape[-1] if shape else 1},))"
        )
    return weight


def draw_shape_within(case: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to `shape`: leading axes dropped, some sides set to 1."""
    dropped = case.integer(0, len(shape))
    return tuple(1 if case.boolean() else side for side in shape[dropped:])


class BinaryCrossEntropy(BinaryLoss):
    """-weight * (t log p + (1 - t) log(1 - p)) for each probability p and target t, as
    PyTorch's binary_cross_entropy.

    As PyTorch does, it clamps each log at -100, so p = 0 or 1 costs at most 100 * weight
    instead of inf, and its gradient in p is PyTorch's, weight * (p - t) / max(p (1 - p),
    1e-12), finite at 0 and 1. For raw scores use binary_cross_entropy_with_logits, which
    stays exact where sigmoid rounds to 0 or 1.
    """

    name = "binary_cross_entropy"
    domain = ((0.05, 0.95), (0.0, 1.0))  # probabilities, targets
    params = ("reduction", "weight")
    spelling = "F.binary_cross_entropy({inputs}, {params})"

    def forward(self, probs, targets):
        probs, targets, weight = self.checked(probs, targets, "probs")
        if probs.size and not (probs.min() >= 0 and probs.max() <= 1):  # nan fails too
            raise OpError(
                f"{self.name}: probs must lie in [0, 1], got {probs.min():g}..{probs.max():g}; "
                "for raw scores use binary_cross_entropy_with_logits (or apply sigmoid first)"
            )
        with np.errstate(divide="ignore"):  # log(0) is -inf, clamped at -100 below
            log_p, log_not_p = np.log(probs), np.log1p(-probs)
        losses = -(targets * np.maximum(log_p, -100) + (1 - targets) * np.maximum(log_not_p, -100))
        if weight is not None:
            losses = losses * weight
        self.saved = weight
        return reduced(losses, self.reduction, losses.size, probs.dtype)

    def backward(self, grad, out, probs, targets):
        weighted_grad = term_gradient(grad, self.reduction, probs.size)
        if self.saved is not None:
            weighted_grad = weighted_grad * self.saved
        slope = (probs - targets) / Clip.call(probs * (1 - probs), low=1e-12)
        return slope * weighted_grad, self.target_gradient(probs, weighted_grad)


class BinaryCrossEntropyWithLogits(BinaryLoss):
    """binary_cross_entropy(sigmoid(x), t) computed from the logits x, as PyTorch's
    binary_cross_entropy_with_logits: weight * (pos_weight * t * softplus(-x) + (1 - t) *
    softplus(x)), since -log sigmoid(x) = softplus(-x) and -log(1 - sigmoid(x)) =
    softplus(x).

    softplus(x) = log(1 + e^x) is np.logaddexp(0, x): exact, with no overflow, for |x| as
    large as 1e4. `pos_weight` multiplies the positive targets' term; it broadcasts against
    the logits, so one number per class (the last axis) is shape (C,).
    """

    name = "binary_cross_entropy_with_logits"
    domain = ((-2.0, 2.0), (0.0, 1.0))  # logits, targets
    params = ("reduction", "weight", "pos_weight")
    spelling = "F.binary_cross_entropy_with_logits({inputs}, {params})"
    pos_weight: Any = None

    def forward(self, logits, targets):
        logits, targets, weight = self.checked(logits, targets, "logits")
        shape, dtype = logits.shape, logits.dtype
        pos_weight = element_weights(self.name, "pos_weight", self.pos_weight, shape, dtype)
        positive = targets * np.logaddexp(0, -logits)
        if pos_weight is not None:
            positive = positive * pos_weight
        losses = positive + (1 - targets) * np.logaddexp(0, logits)
        if weight is not None:
            losses = losses * weight
        self.saved = weight, pos_weight
        return reduced(losses, self.reduction, losses.size, dtype)

    def backward(self, grad, out, logits, targets):
        weight, pos_weight = self.saved
        weighted_grad = term_gradient(grad, self.reduction, logits.size)
        if weight is not None:
            weighted_grad = weighted_grad * weight
        probs = Sigmoid.call(logits)
        if pos_weight is None:
            slope = probs - targets
        else:  # d/dx of pos_weight * t * softplus(-x) + (1 - t) * softplus(x)
            slope = probs * (1 + (pos_weight - 1) * targets) - pos_weight * targets
        return slope * weighted_grad, self.target_gradient(logits, weighted_grad)

    @classmethod
    def draw_arguments(cls, case):
        """As for any binary loss, and half the time a pos_weight too."""
        inputs = super().draw_arguments(case)
        if case.boolean():
            shape = draw_shape_within(case, case.values[inputs[0]].shape)
            case.params["pos_weight"] = case.floats(shape, 0.1, 2.0)
        return inputs


# ----- ONNX export: how each op above is written (see minigrad.onnx) -----------------------
def export_reduced(graph: Any, losses: str, reduction: str, count: str | None = None) -> str:
    """The losses as `reduction` asks; "mean" over them all, or their sum over `count`."""
    if reduction == "none":
        return losses
    total = graph.node("ReduceSum", losses, keepdims=0)
    if reduction == "sum":
        return total
    return (
        graph.node("ReduceMean", losses, keepdims=0)
        if count is None
        else graph.node("Div", total, count)
    )


def export_mean_squared_error(graph: Any, op: Op, y: str, target: str) -> str:
    diff = graph.node("Sub", y, target)
    squares = graph.node("Mul", graph.node("Mul", diff, diff), graph.constant(0.5))
    ndim = max(t.ndim for t in op.inputs)
    if op.reduction == "none":
        if ndim <= 1:
            return squares
        return graph.node("ReduceSum", squares, graph.ints(range(1, ndim)), keepdims=0)
    if op.reduction == "mean" and ndim:  # the sum over examples' mean: it follows the batch
        squares = graph.node("ReduceMean", squares, axes=[0], keepdims=0)
    return graph.node("ReduceSum", squares, keepdims=0)


def nll_attributes(op: Op, reduction: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"reduction": reduction}
    if op.ignore_index is not None:
        attributes["ignore_index"] = int(op.ignore_index)
    return attributes


def class_weight_input(graph: Any, op: Op) -> list[str]:
    return [] if op.weight is None else [graph.constant(np.asarray(op.weight, dtype=graph.dtype))]


def export_nll_loss(graph: Any, op: Op, log_probs: str, labels: str) -> str:
    weight = class_weight_input(graph, op)
    return graph.node(
        "NegativeLogLikelihoodLoss", log_probs, labels, *weight, **nll_attributes(op, op.reduction)
    )


def export_softmax_cross_entropy(graph: Any, op: Op, logits: str, target: str) -> str:
    """log_softmax, then: integer labels are NegativeLogLikelihoodLoss (plus the uniform
    part, with label smoothing); probability rows a sum over classes."""
    log_probs = graph.node("LogSoftmax", logits, axis=1)
    if op.inputs[1].dtype.kind not in "iu":
        return export_probability_rows_loss(graph, op, log_probs, target)
    if not op.label_smoothing:
        weight = class_weight_input(graph, op)
        attributes = nll_attributes(op, op.reduction)
        return graph.node("NegativeLogLikelihoodLoss", log_probs, target, *weight, **attributes)
    return export_smoothed_labels_loss(graph, op, log_probs, target)


def export_probability_rows_loss(graph: Any, op, log_probs: str, target: str) -> str:
    smoothing, classes = float(op.label_smoothing), op.inputs[0].shape[1]
    rows = graph.node("Mul", target, graph.constant(1 - smoothing))
    rows = graph.node("Add", rows, graph.constant(smoothing / classes))
    for weight in class_weight_input(graph, op):
        rows = graph.node("Mul", rows, weight)
    terms = graph.node("Mul", rows, log_probs)
    losses = graph.node("Neg", graph.node("ReduceSum", terms, graph.ints([1]), keepdims=0))
    return export_reduced(graph, losses, op.reduction)


def export_smoothed_labels_loss(graph: Any, op, log_probs: str, labels: str) -> str:
    """(1 - s) times the label's term plus s / C times every class's, for the labels that
    count; "mean" divides by the weights of those labels, as PyTorch does."""
    smoothing, classes = float(op.label_smoothing), op.inputs[0].shape[1]
    weight = class_weight_input(graph, op)
    picked = graph.node(
        "NegativeLogLikelihoodLoss", log_probs, labels, *weight, **nll_attributes(op, "none")
    )
    weighted = graph.node("Mul", log_probs, weight[0]) if weight else log_probs
    every_class = graph.node("ReduceSum", weighted, graph.ints([1]), keepdims=0)
    counted = labels  # labels that index the weights: ignored ones set to class 0
    kept = None
    if op.ignore_index is not None:
        label_type = op.inputs[1].dtype
        ignored = graph.node("Equal", labels, graph.constant(np.array(op.ignore_index, label_type)))
        kept = graph.node("Cast", graph.node("Not", ignored), to=graph.element_type)
        every_class = graph.node("Mul", every_class, kept)
        counted = graph.node("Where", ignored, graph.constant(np.array(0, label_type)), labels)
    losses = graph.node(
        "Sub",
        graph.node("Mul", picked, graph.constant(1 - smoothing)),
        graph.node("Mul", every_class, graph.constant(smoothing / classes)),
    )
    if op.reduction != "mean" or (kept is None and not weight):
        return export_reduced(graph, losses, op.reduction)
    counts = graph.node("Gather", weight[0], counted, axis=0) if weight else kept
    if weight and kept is not None:
        counts = graph.node("Mul", counts, kept)
    return export_reduced(graph, losses, "mean", graph.node("ReduceSum", counts, keepdims=0))


def export_binary_cross_entropy(graph: Any, op: Op, probs: str, targets: str) -> str:
    floor = graph.constant(-100.0)  # each log clamped, as PyTorch does
    log_p = graph.node("Max", graph.node("Log", probs), floor)
    log_not_p = graph.node(
        "Max", graph.node("Log", graph.node("Sub", graph.constant(1.0), probs)), floor
    )
    not_targets = graph.node("Sub", graph.constant(1.0), targets)
    losses = graph.node(
        "Neg",
        graph.node(
            "Add", graph.node("Mul", targets, log_p), graph.node("Mul", not_targets, log_not_p)
        ),
    )
    return export_weighted(graph, op, losses)


def export_weighted(graph: Any, op, losses: str) -> str:
    if op.weight is not None:
        losses = graph.node("Mul", losses, graph.constant(np.asarray(op.weight, dtype=graph.dtype)))
    return export_reduced(graph, losses, op.reduction)


def export_binary_cross_entropy_with_logits(graph: Any, op: Op, logits: str, targets: str) -> str:
    positive = graph.node("Mul", targets, graph.node("Softplus", graph.node("Neg", logits)))
    if op.pos_weight is not None:
        positive = graph.node(
            "Mul", positive, graph.constant(np.asarray(op.pos_weight, dtype=graph.dtype))
        )
    not_targets = graph.node("Sub", graph.constant(1.0), targets)
    losses = graph.node(
        "Add", positive, graph.node("Mul", not_targets, graph.node("Softplus", logits))
    )
    return export_weighted(graph, op, losses)


ONNX = {
    "mean_squared_error": export_mean_squared_error,
    "nll_loss": export_nll_loss,
    "softmax_cross_entropy": export_softmax_cross_entropy,
    "binary_cross_entropy": export_binary_cross_entropy,
    "binary_cross_entropy_with_logits": export_binary_cross_entropy_with_logits,
}
