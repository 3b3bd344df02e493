"""`detect_anomaly()`: stop at the first op that makes a NaN or an Inf, forward or
backward, say which op, from which line of your code, and why; and catch an array changed
in place between forward and backward.

    with minigrad.detect_anomaly():
        loss = model_loss(x, t)
        loss.backward()

Outside the mode nothing is checked and nothing is stored: entering it swaps in a checking
`Op.output` and hands the backward executor a checking observer, and leaving it puts the
plain ones back.
"""

from __future__ import annotations

import contextlib
import os
import traceback
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.grad_mode import Recording
from minigrad.ops import Op
from minigrad.tensor import Tensor

PACKAGE = os.path.dirname(os.path.abspath(__file__))
HUGE = 1e15  # a parameter this large did not get there by training at a sane rate


@dataclass
class Anomaly:
    """The op an anomaly was found at, as graph pictures take it (`checks=`): painted red
    with `reason`."""

    op: Op
    reason: str
    passed: bool = False


class AnomalyError(FloatingPointError):
    """The first NaN or Inf (or an input changed in place), with where it came from.

    `output` is the tensor the culprit op made (for a backward anomaly: the tensor whose
    gradient was being passed on), so `minigrad.viz.draw(error.output, checks=error.checks)`
    draws the graph up to it with the culprit in red.
    """

    def __init__(self, message: str, op: Op, output: Tensor, reason: str) -> None:
        super().__init__(message)
        self.op = op
        self.output = output
        self.reason = reason

    @property
    def checks(self) -> list[Anomaly]:
        return [Anomaly(self.op, self.reason)]


class detect_anomaly(contextlib.ContextDecorator):
    """Check every op's output (and, with `check_nan`, every gradient a backward rule
    returns) for NaN and Inf, and every op's inputs for changes made in place before its
    backward ran. Also a decorator. `check_nan=False` keeps only the in-place check."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.previous: list[tuple[Any, Any]] = []

    def __enter__(self) -> detect_anomaly:
        self.previous.append((Recording.anomaly, Op.__dict__["output"]))
        Recording.anomaly = self
        Op.output = _checked_output
        return self

    def __exit__(self, *exc: object) -> None:
        Recording.anomaly, Op.output = self.previous.pop()

    def check_backward_step(
        self, tensor: Tensor, upstream: Tensor, input_grads: Sequence[Any]
    ) -> None:
        """What the backward executor calls after each rule in this mode."""
        _check_backward_step(self.check_nan, tensor, upstream, input_grads)


_plain_output = Op.output


def _checked_output(op: Op, data: np.ndarray, inputs: tuple[Tensor, ...]) -> Tensor:
    """`Op.output`, plus: where in the user's code the op was recorded, fingerprints of
    the arrays its backward will read, and a stop at a NaN or Inf it made."""
    out = _plain_output(op, data, inputs)
    op.recorded_at = _user_line()
    op.fingerprints = [_fingerprint(t.data) for t in inputs]
    if Recording.anomaly.check_nan and not _finite(data):
        reason = _forward_reason(op, inputs, data)
        raise AnomalyError(
            _message(op, "forward", inputs, reason, data, "output"),
            op,
            _drawable(out, op, inputs),
            reason,
        )
    return out


def _drawable(out: Tensor, op: Op, inputs: tuple[Tensor, ...]) -> Tensor:
    """The output with its op attached even where nothing required grad, so the picture
    shows the culprit and its inputs."""
    if out.op is None:
        op.inputs, out.op = inputs, op
    return out


def _check_backward_step(
    check_nan: bool, tensor: Tensor, upstream: Tensor, input_grads: Sequence[Any]
) -> None:
    op = tensor.op
    for position, (parent, fingerprint) in enumerate(
        zip(op.inputs, getattr(op, "fingerprints", ()))
    ):
        if _fingerprint(parent.data) != fingerprint:
            name = f" '{parent.name}'" if parent.name else ""
            reason = f"input {position}{name} was changed in place after forward"
            raise AnomalyError(
                f"detect_anomaly: input {position}{name} {parent.shape} of '{op.label}' "
                f"(recorded at {getattr(op, 'recorded_at', 'an unknown line')}) was changed in "
                "place between forward and backward, so its gradient would silently be "
                "computed from the new values. Change .data only after backward(), or work "
                "on a copy.",
                op,
                tensor,
                reason,
            )
    if not check_nan or not _finite(upstream.data):
        return
    for position, grad in enumerate(input_grads):
        if grad is not None and not _finite(grad.data):
            reason = _backward_reason(op, position)
            raise AnomalyError(
                _message(
                    op, "backward", op.inputs, reason, grad.data, f"gradient for input {position}"
                ),
                op,
                tensor,
                reason,
            )


# ----- what the message says ------------------------------------------------------------------
def _message(
    op: Op, direction: str, inputs: Sequence[Tensor], reason: str, bad: np.ndarray, what: str
) -> str:
    lines = [
        f"detect_anomaly: {op.label} {direction} made {_count(bad)} in its {what}: {reason}",
        f"  recorded at {getattr(op, 'recorded_at', 'an unknown line')}",
    ]
    for position, tensor in enumerate(inputs):
        name = f" '{tensor.name}'" if tensor.name else ""
        lines.append(
            f"  input {position}{name}: {tensor.dtype}{tensor.shape}, {_range(tensor.data)}"
        )
    return "\n".join(lines)


def _forward_reason(op: Op, inputs: Sequence[Tensor], data: np.ndarray) -> str:
    """Why the op made a NaN or Inf: the known causes first."""
    arrays = [t.data for t in inputs]
    for position, (tensor, array) in enumerate(zip(inputs, arrays)):
        if not _finite(array):
            source = "a parameter" if tensor.op is None and tensor.requires_grad else "an input"
            return (
                f"input {position} already held {_count(array)}: it arrived in {source}, not "
                "from an op (a learning rate that blew up, or data with NaN)"
            )
    for position, (tensor, array) in enumerate(zip(inputs, arrays)):
        largest = float(np.abs(array).max()) if array.size and array.dtype.kind == "f" else 0
        if largest > HUGE and tensor.op is None and tensor.requires_grad:
            name = f" '{tensor.name}'" if tensor.name else ""
            return (
                f"{op.name} overflowed on parameter {position}{name}, which holds values up to "
                f"{largest:.3g}: the NaN or Inf comes from the parameter's size, not from the "
                "op, so the learning rate probably blew up (lower it, or clip gradients)"
            )
    name, first = op.name, arrays[0] if arrays else np.zeros(0)
    if name == "exp" or name in ("softmax", "sigmoid") and first.size and first.max() > 88:
        return (
            f"exp overflowed: input max {first.max():g}; subtract the max first "
            "(x - x.max(axis, keepdims=True)), or use the fused F.softmax_cross_entropy"
        )
    if name == "log":
        if np.any(first == 0):
            return "log of 0 (add a small eps, or use log_softmax / the fused loss)"
        return "log of a negative number"
    if name == "sqrt":
        return "sqrt of a negative number"
    if name == "div" and np.any(arrays[1] == 0):
        return "division by zero: the divisor has zeros"
    if name == "pow":
        return "pow of 0 to a negative power, or of a negative base to a fraction"
    return f"{name} made {_count(data)} from finite inputs"


def _backward_reason(op: Op, position: int) -> str:
    inputs = [t.data for t in op.inputs]
    if op.name == "sqrt" and np.any(inputs[0] == 0):
        return "sqrt'(0) is infinite: the input has zeros (add a small eps inside the sqrt)"
    if op.name == "log" and np.any(inputs[0] == 0):
        return "log'(0) = 1/0: the input has zeros"
    if op.name == "div" and np.any(inputs[1] == 0):
        return "the divisor has zeros: d(a/b) divides by b"
    if op.name == "pow":
        return "pow's derivative is infinite here (base 0 with an exponent below 1)"
    return f"the backward of {op.label} made NaN/Inf for input {position} from a finite gradient"


def _count(array: np.ndarray) -> str:
    nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    return " and ".join(
        part for part in (f"{nan} NaN" * bool(nan), f"{inf} Inf" * bool(inf)) if part
    )


def _range(array: np.ndarray) -> str:
    if array.dtype.kind not in "fiub" or not array.size:
        return "empty" if not array.size else f"dtype {array.dtype}"
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    shown = f"min {finite.min():g} max {finite.max():g}" if finite.size else "no finite value"
    counts = _count(array) if array.dtype.kind == "f" else ""
    return shown + (f", {counts}" if counts else "")


def _finite(array: Any) -> bool:
    array = np.asarray(array)
    return array.dtype.kind != "f" or bool(np.isfinite(array).all())


def _fingerprint(array: np.ndarray) -> tuple:
    """Cheap enough for a debugging mode: a checksum of the bytes, with shape and dtype."""
    return array.shape, array.dtype.str, zlib.crc32(np.ascontiguousarray(array).view(np.uint8))


def _user_line() -> str:
    """The innermost frame outside minigrad: the line of the user's code that made the op."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(PACKAGE):
            return f"{frame.filename}:{frame.lineno}: {frame.line}"
    return "inside minigrad"
