"""Hypothesis strategies for testing gradients: tensors, shapes, and inputs for any op.

`op_cases(op)` reads what the op declares (signature, domain, kinks, distinct) and draws
inputs and params that respect it, so a newly registered op is tested with no extra code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.ops import Op
from minigrad.tensor import Tensor

KINK_MARGIN = 0.1  # drawn values stay this far from an op's kinks
DISTINCT_GAP = 0.25  # spacing of values for ops where ties are kinks (max, min)


@dataclass
class OpCase:
    """Inputs and params for one application of an op."""

    op: type[Op]
    inputs: tuple[Tensor, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def run(self, *inputs: Tensor) -> Tensor:
        return self.op.apply(*(inputs or self.inputs), **self.params)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{t.dtype}{t.shape}" for t in self.inputs)
        return f"OpCase({self.op.name}, inputs=[{shapes}], params={self.params})"


def shapes(min_dims: int = 0, max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def broadcastable_shapes(count: int = 2, min_dims: int = 0, max_dims: int = 3):
    """`count` shapes that broadcast together, e.g. ((3, 1), (4,))."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=count, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4
    ).map(lambda drawn: drawn.input_shapes)


def tensors(
    shape: Any = None,
    dtype: Any = np.float64,
    elements: st.SearchStrategy | None = None,
    requires_grad: bool = True,
    low: float = -2.0,
    high: float = 2.0,
) -> st.SearchStrategy[Tensor]:
    """Tensors of `shape` (a tuple or a strategy; any small shape by default).

    Values are finite floats in [low, high] unless `elements` says otherwise.
    """
    shape = shapes() if shape is None else shape
    if elements is None:
        elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=32)
    return hnp.arrays(np.dtype(dtype), shape, elements=elements).map(
        lambda array: Tensor(array, requires_grad=requires_grad)
    )


def _interval(op: type[Op], position: int) -> tuple[float, float]:
    domain = op.domain
    return domain[position] if isinstance(domain[0], tuple) else domain


@st.composite
def _values(draw, op: type[Op], params: dict, shape: tuple, position: int, dtype) -> Tensor:
    low, high = _interval(op, position)
    array = draw(hnp.arrays(np.float64, shape, elements=st.floats(low, high)))
    if op.distinct and array.size:
        ranks = np.argsort(np.argsort(array, axis=None)).reshape(shape)
        array = low + (high - low) * (ranks + 0.5) / array.size
        if (high - low) / array.size < DISTINCT_GAP:
            array = ranks * DISTINCT_GAP - array.size * DISTINCT_GAP / 2
    for kink in op(**params).kinks():
        close = np.abs(array - kink) < KINK_MARGIN
        array = np.where(close, kink + np.where(array >= kink, KINK_MARGIN, -KINK_MARGIN), array)
    return Tensor(array.astype(dtype), requires_grad=True)


@st.composite
def _axes_param(draw, ndim: int) -> Any:
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    return tuple(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)))


@st.composite
def _index(draw, shape: tuple[int, ...]) -> Any:
    """An index of any kind NumPy accepts: ints, slices, None, Ellipsis, arrays, masks."""
    kind = draw(st.sampled_from(["int", "slice", "newaxis", "ellipsis", "array", "mask"]))
    size = shape[0]
    if kind == "int":
        return draw(st.integers(-size, size - 1))
    if kind == "slice":
        start = draw(st.integers(0, size - 1))
        return slice(start, draw(st.integers(start + 1, size)), draw(st.integers(1, 2)))
    if kind == "newaxis":
        return (None, slice(None))
    if kind == "ellipsis":
        return (Ellipsis, draw(st.integers(0, shape[-1] - 1)))
    if kind == "array":  # repeats allowed: their gradients must add up
        return np.array(draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=5)))
    return draw(hnp.arrays(bool, (size,)))


@st.composite
def _shapes_and_params(draw, op: type[Op]) -> tuple[list[tuple], dict]:
    """Input shapes and params for the op's signature (see `minigrad.ops`)."""
    signature = op.signature
    params = dict(op.examples)
    if signature == "elementwise":
        return [draw(shapes())], params
    if signature in ("broadcast", "where"):
        input_shapes = list(draw(broadcastable_shapes(op.arity)))
        if signature == "where":
            out_shape = np.broadcast_shapes(*input_shapes)
            params["condition"] = draw(hnp.arrays(bool, out_shape))
        return input_shapes, params
    if signature == "axis":
        shape = draw(shapes(min_dims=1))
        params["axis"] = draw(st.integers(-len(shape), len(shape) - 1))
        return [shape], params
    if signature == "reduce":
        shape = draw(shapes())
        params.update(axis=draw(_axes_param(len(shape))), keepdims=draw(st.booleans()))
        return [shape], params
    if signature == "matmul":
        return draw(_matmul_shapes()), params
    if signature == "linear":
        batch = draw(shapes(min_dims=1, max_dims=2))
        n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        return [batch + (n_in,), (n_in, n_out), (n_out,)], params
    if signature == "reshape":
        shape = draw(shapes())
        size = int(np.prod(shape))
        first = draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0]))
        params["shape"] = draw(st.sampled_from([(first, -1), (size,), (first, size // first, 1)]))
        return [shape], params
    if signature == "flatten":
        shape = draw(shapes(min_dims=1))
        params["start_axis"] = draw(st.integers(0, len(shape) - 1))
        return [shape], params
    if signature == "transpose":
        shape = draw(shapes(min_dims=1))
        params["axes"] = tuple(draw(st.permutations(range(len(shape)))))
        return [shape], params
    if signature == "broadcast_to":
        target = draw(shapes(min_dims=1))
        kept = target[draw(st.integers(0, len(target) - 1)) :]
        shape = tuple(1 if draw(st.booleans()) else n for n in kept)
        params["shape"] = target
        return [shape], params
    if signature in ("index", "index_add"):
        shape = draw(shapes(min_dims=1))
        params["index"] = draw(_index(shape))
        if signature == "index":
            return [shape], params
        params["shape"] = shape
        return [np.zeros(shape)[params["index"]].shape], params
    if signature in ("concatenate", "stack"):
        base = list(draw(shapes(min_dims=1)))
        axis = draw(st.integers(0, len(base) - 1 + (signature == "stack")))
        count = draw(st.integers(1, 3))
        input_shapes = []
        for _ in range(count):
            if signature == "concatenate":
                base[axis] = draw(st.integers(1, 3))
            input_shapes.append(tuple(base))
        params["axis"] = axis
        return input_shapes, params
    if signature == "cross_entropy":
        batch, classes = draw(st.integers(1, 4)), draw(st.integers(2, 5))
        params["reduction"] = draw(st.sampled_from(["mean", "sum", "none"]))
        return [(batch, classes), (batch, classes)], params
    raise ValueError(
        f"op_cases: op '{op.name}' has signature '{signature}', which minigrad.testing does "
        "not know how to draw; use one of the signatures listed in minigrad.ops"
    )


@st.composite
def _matmul_shapes(draw) -> list[tuple]:
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["2d", "vector-left", "vector-right", "vectors", "batched"]))
    if kind == "2d":
        return [(m, k), (k, n)]
    if kind == "vector-left":
        return [(k,), (k, n)]
    if kind == "vector-right":
        return [(m, k), (k,)]
    if kind == "vectors":
        return [(k,), (k,)]
    left, right = draw(broadcastable_shapes(2, min_dims=0, max_dims=2))
    return [left + (m, k), right + (k, n)]


@st.composite
def op_cases(draw, op: type[Op], dtype: Any = np.float64) -> OpCase:
    """Inputs inside the op's domain and away from its kinks, with params to match."""
    input_shapes, params = draw(_shapes_and_params(op))
    if op.signature == "cross_entropy":
        logits = draw(_values(op, params, input_shapes[0], 0, dtype))
        batch, classes = input_shapes[0]
        if draw(st.booleans()):
            labels = draw(hnp.arrays(np.int64, (batch,), elements=st.integers(0, classes - 1)))
            return OpCase(op, (logits, Tensor(labels)), params)
        weights = draw(hnp.arrays(np.float64, (batch, classes), elements=st.floats(0.1, 1)))
        target = Tensor((weights / weights.sum(1, keepdims=True)).astype(dtype), True)
        return OpCase(op, (logits, target), params)
    inputs = tuple(
        draw(_values(op, params, shape, position, dtype))
        for position, shape in enumerate(input_shapes)
    )
    return OpCase(op, inputs, params)
