"""Linear algebra: the matrix product, the fused layer `x @ weight + bias`, and einsum."""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

from minigrad.ops.base import Op, OpError, onnx_node
from minigrad.tensor import Tensor


def matrix_product(left: Any, right: Any) -> Any:
    """left @ right (right a matrix); an outer product when left is a one-column matrix.

    OpenBLAS runs that K=1 product, batch 1's weight gradient x.T @ grad, about 6x slower
    than einsum, and NumPy's broadcasting (n, 1) * (1, m) takes twice einsum's time.
    Tensors, in a recorded backward, have no einsum, so they multiply.
    """
    if left.ndim < 2 or left.shape[-1] != 1:
        return left @ right
    if isinstance(left, Tensor) or isinstance(right, Tensor):
        return left * right
    return np.einsum("...ik,...kj->...ij", left, right)


class Matmul(Op):
    """Matrix product with NumPy's rules: 1-D operands, and batch dims that broadcast."""

    name = "matmul"
    arity = 2
    reads_output = False
    spelling = "{0} @ {1}"

    def forward(self, a, b):
        return a @ b

    def backward(self, grad, out, a, b):
        # Treat a vector as a one-row (a) or one-column (b) matrix, then undo that.
        a_matrix = a if a.ndim > 1 else a.reshape(1, -1)
        b_matrix = b if b.ndim > 1 else b.reshape(-1, 1)
        grad_matrix = grad
        if a.ndim == 1 or b.ndim == 1:
            batch = np.broadcast_shapes(a_matrix.shape[:-2], b_matrix.shape[:-2])
            grad_matrix = grad.reshape(batch + (a_matrix.shape[-2], b_matrix.shape[-1]))
        grad_a = grad_b = None
        if self.inputs[0].requires_grad:
            grad_a = matrix_product(grad_matrix, b_matrix.mT)
            if a.ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + a.shape)
        if self.inputs[1].requires_grad:
            grad_b = matrix_product(a_matrix.mT, grad_matrix)
            if b.ndim == 1:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b

    @classmethod
    def draw_arguments(cls, case):
        """Vectors and matrices on either side, and stacks of matrices whose batch axes
        broadcast."""
        left = case.operand(0, case.at_least_1d, case.shape(min_dims=1))
        shape = case.values[left].shape
        inner = shape[-1]
        if case.boolean():
            right_shape = (inner,)
        else:
            right_shape = case.partner_shape(shape[:-2]) + (inner, case.side())
        right = case.operand(
            1, lambda v: _product_fits(shape, v.shape, case.size_limit), right_shape
        )
        return [left, right]

    def explain_error(self, shapes, error):
        a, b = shapes
        if not a or not b:
            return f"matmul: cannot multiply {a} by {b}: scalars need *, not @"
        inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
        if inner_a == inner_b:
            return (
                f"matmul: cannot multiply {a} by {b}: the batch axes {a[:-2]} and {b[:-2]} "
                "do not broadcast together"
            )
        message = (
            f"matmul: cannot multiply {a} by {b}: the last axis of the first ({a[-1]}) must "
            f"equal the {'only' if len(b) == 1 else 'second-to-last'} axis of the second "
            f"({b[0] if len(b) == 1 else b[-2]})"
        )
        if len(a) >= 2 and len(b) >= 2 and a[-1] == b[-1]:
            message += f"; a @ b.mT fits, giving {a[:-1] + b[-2:-1]}"
        elif len(a) >= 2 and len(b) >= 2 and a[-2] == b[-2]:
            message += f"; a.mT @ b fits, giving {a[-1:] + b[-1:]}"
        return message


class Linear(Op):
    """x @ weight + bias in one node: the layer of an MLP, fused because it pays.

    `weight` is (in, out) as in the book's W1, so the forward reads like the math.
    """

    name = "linear"
    arity = 3
    reads_output = False
    spelling = "F.linear({inputs})"

    def forward(self, x, weight, bias):
        out = x @ weight
        out += bias
        return out

    def backward(self, grad, out, x, weight, bias):
        grad_x = matrix_product(grad, weight.T) if self.inputs[0].requires_grad else None
        grad_weight = None
        if self.inputs[1].requires_grad:
            # Every leading axis of x is a row; counted, not inferred (-1), so a size 0 works.
            count = math.prod(x.shape[:-1])
            rows = x.reshape(count, weight.shape[0]) if x.ndim != 2 else x
            grad_rows = grad.reshape(count, weight.shape[1]) if grad.ndim != 2 else grad
            grad_weight = matrix_product(rows.T, grad_rows)
        return grad_x, grad_weight, grad

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0, case.at_least_1d, case.shape(min_dims=1, max_dims=2))
        n_in = case.values[x].shape[-1]
        weight = case.operand(1, lambda v: v.ndim == 2 and v.shape[0] == n_in, (n_in, case.side()))
        n_out = case.values[weight].shape[1]
        return [x, weight, case.operand(2, lambda v: v.shape == (n_out,), (n_out,))]

    def explain_error(self, shapes, error):
        x, weight, bias = shapes
        message = (
            f"linear: input {x} does not fit weight {weight} and bias {bias}: the input's last "
            "axis must equal weight.shape[0] and the bias must have weight.shape[1] entries"
        )
        if len(weight) == 2 and len(x) > 2 and int(np.prod(x[1:])) == weight[0]:
            message += (
                f"; the input looks like images: flatten them to ({x[0]}, {weight[0]}) with "
                "x.reshape(len(x), -1), or load them with load_mnist(flatten=True)"
            )
        elif len(weight) == 2 and x and x[-1] == weight[1] and bias == (weight[0],):
            message += (
                f"; weight is (in, out) here: a PyTorch-style (out, in) weight needs .T, "
                f"giving ({weight[1]}, {weight[0]})"
            )
        return message


class Einsum(Op):
    """np.einsum over any number of operands: "ij,jk->ik" is a matrix product, "ii->i" a
    diagonal, "...ij->...ji" a batch of transposes; without "->" the output is the labels
    used once, in alphabetical order (NumPy's implicit mode).

    The gradient of an operand is an einsum too: the output's gradient and the other
    operands, summed to the operand's labels. A label only that operand has (summed away)
    comes back through a constant of ones, and a repeated one (a diagonal) through an
    identity matrix, so the backward needs nothing but einsum and differentiates again.
    """

    name = "einsum"
    arity = None
    params = ("subscripts",)
    spelling = "F.einsum({subscripts}, {inputs})"
    subscripts: str = ""

    def forward(self, *arrays):
        if not isinstance(self.subscripts, str):
            raise OpError(
                f"einsum: subscripts must be a string such as 'ij,jk->ik', "
                f"got {self.subscripts!r:.40}"
            )
        terms, output = self.explicit([a.ndim for a in arrays])
        return np.einsum(f"{','.join(terms)}->{output}", *arrays, optimize=len(arrays) > 2)

    def backward(self, grad, out, *operands):
        terms, output = self.explicit([a.ndim for a in operands])
        grads = []
        for position, (operand, term) in enumerate(zip(operands, terms)):
            if not self.inputs[position].requires_grad:
                grads.append(None)
                continue
            others = [(t, o) for i, (t, o) in enumerate(zip(terms, operands)) if i != position]
            given = set(output).union(*(t for t, _ in others))
            spare = iter(sorted(set(string.ascii_letters) - set("".join(terms)) - set(output)))
            wanted, constants = "", []
            for label, size in zip(term, operand.shape):
                if label in wanted:  # a diagonal: a fresh label, tied to this one by eye
                    fresh = next(spare)
                    constants.append((label + fresh, np.eye(size, dtype=grad.dtype)))
                    label = fresh
                elif label not in given:  # summed away: it comes back as ones
                    constants.append((label, np.ones(size, dtype=grad.dtype)))
                    given.add(label)
                wanted += label
            parts = [(output, grad), *others, *constants]
            subscripts = f"{','.join(t for t, _ in parts)}->{wanted}"
            grads.append(Einsum.call(*(value for _, value in parts), subscripts=subscripts))
        return grads

    def explicit(self, ndims: list[int]) -> tuple[list[str], str]:
        """The subscripts with "..." spelled out as unused letters and the output written,
        one term per operand."""
        inputs, arrow, output = self.subscripts.replace(" ", "").partition("->")
        terms = inputs.split(",")
        if len(terms) != len(ndims):
            raise OpError(
                f"einsum: subscripts {self.subscripts!r} name {len(terms)} operand(s), "
                f"got {len(ndims)}"
            )
        letters = set(self.subscripts) & set(string.ascii_letters)
        spare = [c for c in string.ascii_letters if c not in letters]
        widest = max(
            (ndim - len(t.replace("...", "")) for t, ndim in zip(terms, ndims) if "..." in t),
            default=0,
        )
        if widest < 0 or widest > len(spare):
            raise OpError(f"einsum: operands of {ndims} axes do not fit {self.subscripts!r}")
        batch = "".join(spare[:widest])  # aligned at the right, as broadcasting is
        spelled = [
            t.replace("...", batch[widest - (ndim - len(t) + 3) :]) if "..." in t else t
            for t, ndim in zip(terms, ndims)
        ]
        if not arrow:
            used = "".join(spelled)
            output = "..." + "".join(
                sorted(c for c in set(used) - set(batch) if used.count(c) == 1)
            )
        return spelled, output.replace("...", batch)

    @classmethod
    def draw_arguments(cls, case):
        """1 to 3 operands of up to 3 axes, labelled from "ijk" with repeats (diagonals);
        the output is some of the labels in some order, or NumPy's implicit one."""
        sizes = {label: case.side() for label in "ijk"}
        terms = [
            "".join(case.choice("ijk") for _ in range(case.integer(0, 3)))
            for _ in range(case.integer(1, 3))
        ]
        if case.integer(0, 3) == 0:
            subscripts = ",".join(terms)
        else:
            used = sorted(set("".join(terms)))
            kept = [label for label in used if case.boolean()]
            order = [axis % len(kept) for axis in case.permutation(len(kept))] if kept else []
            subscripts = f"{','.join(terms)}->{''.join(kept[i] for i in order)}"
        case.params["subscripts"] = subscripts
        operands = []
        for term in terms:
            shape = tuple(sizes[label] for label in term)
            operands.append(case.operand(0, lambda v, shape=shape: v.shape == shape, shape))
        return operands


def _product_fits(a: tuple[int, ...], b: tuple[int, ...], limit: int) -> bool:
    """Whether arrays of shapes a and b multiply, into at most `limit` entries."""
    if not a or not b:
        return False
    try:
        return np.matmul(np.empty(a), np.empty(b)).size <= limit
    except ValueError:
        return False


# ----- ONNX export: how each op above is written (see minigrad.onnx) -----------------------
def export_linear(graph: Any, op: Op, x: str, weight: str, bias: str) -> str:
    return graph.node("Add", graph.node("MatMul", x, weight), bias)


def export_einsum(graph: Any, op: Op, *operands: str) -> str:
    terms, output = op.explicit([t.ndim for t in op.inputs])
    return graph.node("Einsum", *operands, equation=f"{','.join(terms)}->{output}")


ONNX = {
    "matmul": onnx_node("MatMul"),
    "linear": export_linear,
    "einsum": export_einsum,
}
