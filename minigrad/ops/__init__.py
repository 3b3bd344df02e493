"""Every differentiable op, defined once: forward on NumPy arrays, backward beside it.

One module per family; `minigrad.ops.base` holds what they share (the `Op` class and the
registry `OPS`). Importing this package registers every built-in op.
"""

from minigrad.ops.activations import LogSoftmax, Relu, Sigmoid, Softmax, Tanh
from minigrad.ops.base import (
    OPS,
    Op,
    OpError,
    as_floating,
    kept_shape,
    normalize_axes,
    unbroadcast,
)
from minigrad.ops.conv import (
    AvgPool2d,
    Col2im,
    Conv2d,
    Im2col,
    MaxPool2d,
    Window,
    as_pair,
)
from minigrad.ops.elementwise import Abs, Add, Clip, Div, Exp, Log, Mul, Neg, Pow, Sqrt, Sub, Where
from minigrad.ops.linalg import Linear, Matmul
from minigrad.ops.losses import (
    MeanSquaredError,
    SoftmaxCrossEntropy,
    batch_size,
    check_labels,
    check_reduction,
    check_targets,
)
from minigrad.ops.reductions import Max, Mean, Min, Sum, spread
from minigrad.ops.shape import (
    BroadcastTo,
    Concatenate,
    Flatten,
    GetItem,
    IndexAdd,
    Reshape,
    Stack,
    Transpose,
)

# The README's order of families, from the simplest.
FAMILIES = ("elementwise", "activations", "reductions", "shape", "linalg", "conv", "losses")


def markdown_table() -> str:
    """The registry as the README's ops table, grouped by family (a test keeps the two in
    step)."""
    rows = ["| family | op | inputs | params | test domain | kinks |", "|---|---|---|---|---|---|"]
    built_in = [op for op in OPS.values() if op.family in FAMILIES]
    for op in sorted(built_in, key=lambda op: (FAMILIES.index(op.family), op.name)):
        inputs = "any number" if op.arity is None else str(op.arity)
        params = ", ".join(op.params) or "-"
        domain = op.domain if isinstance(op.domain[0], tuple) else (op.domain,)
        shown_domain = ", ".join(f"({low:g}, {high:g})" for low, high in domain)
        kinks = ", ".join(f"{k:g}" for k in op(**op.examples).kinks())
        rows.append(
            f"| {op.family} | `{op.name}` | {inputs} | {params} | {shown_domain} | "
            f"{kinks or ('ties' if op.distinct else '-')} |"
        )
    return "\n".join(rows)


__all__ = [
    "FAMILIES",
    "OPS",
    "Abs",
    "as_floating",
    "as_pair",
    "Add",
    "AvgPool2d",
    "BroadcastTo",
    "Clip",
    "Col2im",
    "Conv2d",
    "Concatenate",
    "Div",
    "Exp",
    "Flatten",
    "GetItem",
    "Im2col",
    "IndexAdd",
    "Linear",
    "Log",
    "LogSoftmax",
    "Matmul",
    "Max",
    "MaxPool2d",
    "Mean",
    "MeanSquaredError",
    "Min",
    "Mul",
    "Neg",
    "Op",
    "OpError",
    "Pow",
    "Relu",
    "Reshape",
    "Sigmoid",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Sqrt",
    "Stack",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Where",
    "Window",
    "batch_size",
    "check_labels",
    "check_reduction",
    "check_targets",
    "kept_shape",
    "markdown_table",
    "normalize_axes",
    "spread",
    "unbroadcast",
]
