"""Short text for tensors, gradients and op arguments, shared by the pictures and the trace."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from minigrad.ops import Op
from minigrad.tensor import Tensor

MAX_PARAM_CHARS = 32


def number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def shape_text(tensor: Tensor) -> str:
    return "scalar" if tensor.ndim == 0 else str(tensor.shape)


def stats(array: np.ndarray) -> str:
    """A scalar's value, or min/mean/max and the L2 norm of an array (as float64)."""
    if array.size == 1:
        return number(array.reshape(()).item())
    if array.size == 0:
        return "empty"
    values = array.astype(np.float64, copy=False)
    with np.errstate(all="ignore"):
        parts = (values.min(), values.mean(), values.max(), norm(values))
    low, mean, high, size = (number(float(part)) for part in parts)
    return f"min {low}  mean {mean}  max {high}  norm {size}"


def norm(array: np.ndarray) -> float:
    """The L2 norm over every entry, computed in float64 so float32 cannot overflow."""
    values = array.astype(np.float64, copy=False)
    with np.errstate(all="ignore"):
        return float(np.sqrt(np.sum(values * values)))


def preview(array: np.ndarray, count: int = 3) -> str:
    """The shape and the first few values, e.g. `(8, 10) [0.01, -0.1, 0.02, ...]`."""
    if array.size == 1:
        return number(array.reshape(()).item())
    head = ", ".join(number(float(v)) for v in array.reshape(-1)[:count])
    more = ", ..." if array.size > count else ""
    return f"{array.shape} [{head}{more}]"


def nonfinite(array: np.ndarray, what: str) -> str | None:
    """'2 NaN, 1 Inf in grad', or None when every entry is finite (or not a float)."""
    if array.dtype.kind not in "fc":
        return None
    nans, infs = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    found = [f"{count} {word}" for count, word in ((nans, "NaN"), (infs, "Inf")) if count]
    return f"{', '.join(found)} in {what}" if found else None


def is_constant(tensor: Tensor) -> bool:
    """An unnamed number or mask outside the graph, as made by `x * 2` or a backward rule."""
    return (
        tensor.op is None
        and not tensor.requires_grad
        and tensor.name is None
        and (tensor.size == 1 or tensor.dtype == np.bool_)
    )


def title(tensor: Tensor) -> str:
    """What to call a tensor in a table: its name, else what made it."""
    if tensor.name:
        return tensor.name
    if tensor.op is not None:
        return f"{tensor.op.name} output"
    if is_constant(tensor):
        return f"constant {preview(tensor.data)}" if tensor.size == 1 else "constant mask"
    return "parameter" if tensor.requires_grad else "input"


def param_text(value: Any) -> str:
    """An op argument, short: arrays by dtype and shape, slices as `1:3`."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype}{list(value.shape)}"
    if isinstance(value, slice):
        parts = [value.start, value.stop] + ([value.step] if value.step is not None else [])
        return ":".join("" if part is None else str(part) for part in parts)
    if isinstance(value, tuple):
        return "(" + ", ".join(param_text(part) for part in value) + ")"
    if value is Ellipsis:
        return "..."
    return shorten(number(value), MAX_PARAM_CHARS)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def op_arguments(op: Op) -> str:
    """`axis=1, keepdims=True`, from what the op declares in `describe_params()`; unset (None)
    and False arguments are left out. Tensor inputs, constants too, are nodes of their own."""
    shown = {k: v for k, v in op.describe_params().items() if v is not None and v is not False}
    return ", ".join(f"{key}={param_text(value)}" for key, value in shown.items())


def escape(text: str) -> str:
    return html.escape(text, quote=True)
