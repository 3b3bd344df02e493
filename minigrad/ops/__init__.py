"""Every differentiable op, defined once: forward on NumPy arrays, backward beside it.

One module per family; `minigrad.ops.base` holds what they share (the `Op` class and the
registry `OPS`). Importing this package registers every built-in op.
"""

from minigrad.ops.activations import (
    Elu,
    Gelu,
    GeluTanh,
    LeakyRelu,
    LogSigmoid,
    LogSoftmax,
    Relu,
    Sigmoid,
    Silu,
    Softmax,
    Softplus,
    Tanh,
)
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
from minigrad.ops.elementwise import (
    Abs,
    Add,
    Clip,
    Cos,
    Div,
    Erf,
    Exp,
    Expm1,
    Log,
    Log1p,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Sin,
    Sqrt,
    Sub,
    Where,
    erf,
)
from minigrad.ops.linalg import Einsum, Linear, Matmul
from minigrad.ops.losses import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    MeanSquaredError,
    NllLoss,
    SoftmaxCrossEntropy,
    batch_size,
    check_labels,
    check_reduction,
    check_targets,
)
from minigrad.ops.reductions import (
    Cumsum,
    Max,
    Mean,
    Min,
    Norm,
    Prod,
    Std,
    Sum,
    Var,
    reduced_count,
    spread,
)
from minigrad.ops.shape import (
    BroadcastTo,
    Concatenate,
    Flatten,
    GetItem,
    IndexAdd,
    Pad,
    Repeat,
    Reshape,
    Squeeze,
    Stack,
    Tile,
    Transpose,
    Unsqueeze,
    pad_pairs,
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
    "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits",
    "NllLoss",
    "as_floating",
    "as_pair",
    "Add",
    "AvgPool2d",
    "BroadcastTo",
    "Clip",
    "Col2im",
    "Conv2d",
    "Concatenate",
    "Cos",
    "Cumsum",
    "Div",
    "Einsum",
    "Elu",
    "Erf",
    "Exp",
    "Expm1",
    "Flatten",
    "Gelu",
    "GeluTanh",
    "GetItem",
    "Im2col",
    "IndexAdd",
    "LeakyRelu",
    "Linear",
    "Log",
    "Log1p",
    "LogSigmoid",
    "LogSoftmax",
    "Matmul",
    "Max",
    "Maximum",
    "MaxPool2d",
    "Mean",
    "MeanSquaredError",
    "Min",
    "Minimum",
    "Mul",
    "Neg",
    "Norm",
    "Op",
    "OpError",
    "Pad",
    "Pow",
    "Prod",
    "Relu",
    "Repeat",
    "Reshape",
    "Sigmoid",
    "Silu",
    "Sin",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Softplus",
    "Sqrt",
    "Squeeze",
    "Stack",
    "Std",
    "Sub",
    "Sum",
    "Tanh",
    "Tile",
    "Transpose",
    "Unsqueeze",
    "Var",
    "Where",
    "Window",
    "batch_size",
    "check_labels",
    "check_reduction",
    "check_targets",
    "erf",
    "kept_shape",
    "markdown_table",
    "normalize_axes",
    "pad_pairs",
    "reduced_count",
    "spread",
    "unbroadcast",
]
