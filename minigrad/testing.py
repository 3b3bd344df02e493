"""Hypothesis strategies for testing gradients, and `check_op` for a user's own op.

- `tensors`, `shapes`, `broadcastable_shapes`: the building blocks.
- `op_cases(op)` reads what the op declares (draw_arguments, domain, kinks, distinct) and draws
  inputs and params that respect it, so a newly registered op is tested with no extra code.
- `graphs(ops, max_nodes)` draws whole differentiable expressions from registered ops,
  ending in a scalar; a failing one shrinks and prints as Python code to paste in a test.
- `check_op(op)` runs every check a new op should pass: gradients (first and second
  order), gradient shapes under broadcasting, float32 preservation and no_grad.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.grad_mode import no_grad
from minigrad.gradient_check import gradcheck
from minigrad.ops import OPS, Op
from minigrad.tensor import Tensor

KINK_MARGIN = 0.1  # drawn values stay this far from an op's kinks
SIDE = 3  # largest side of an array op_cases and graphs draw
GRAPH_SIZE = 64  # a graph step whose value has more elements is not added
VALUE_LIMIT = 100.0  # nor one with a larger value: finite differences get coarse
GRAPH_GAP = 0.01  # values a max or min reduces over stay this far apart


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
    """Small array shapes, every side at least 1."""
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


# ----- an op's arguments, drawn by its draw_arguments for op_cases and graphs alike ---------
def _interval(op: type[Op], position: int) -> tuple[float, float]:
    domain = op.domain
    return domain[position] if isinstance(domain[0], tuple) else domain


def _off_kinks(array: np.ndarray, kinks: Iterable[float]) -> np.ndarray:
    """Values closer than KINK_MARGIN to a kink moved KINK_MARGIN away from it."""
    for kink in kinks:
        close = np.abs(array - kink) < KINK_MARGIN
        array = np.where(close, kink + np.where(array >= kink, KINK_MARGIN, -KINK_MARGIN), array)
    return array


@st.composite
def _values(draw, op: type[Op], params: dict, shape: tuple, position: int) -> np.ndarray:
    """float64 values inside the op's domain for this input, off its kinks, and spread
    apart where ties are kinks (max, min)."""
    low, high = _interval(op, position)
    array = draw(hnp.arrays(np.float64, shape, elements=st.floats(low, high)))
    if op.distinct and array.size:
        ranks = np.argsort(np.argsort(array, axis=None)).reshape(shape)
        array = low + (high - low) * (ranks + 0.5) / array.size
    return _off_kinks(array, op(**params).kinks())


@st.composite
def _axes_param(draw, ndim: int) -> Any:
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(_maybe_negative(draw, axis, ndim) for axis in axes)


def _maybe_negative(draw, axis: int, ndim: int) -> int:
    """The same axis, half the time counted from the end (-1 is the last)."""
    return axis - ndim if draw(st.booleans()) else axis


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


class Arguments:
    """A drawing session for one test case or graph: what an op's `draw_arguments(case)`
    calls to draw its inputs, each a fresh leaf inside the op's domain (`_GraphBuilder`
    also reuses earlier values), and its params, gathered in `params`.

    Its methods wrap Hypothesis, so an op module needs no Hypothesis import.
    """

    side_limit = SIDE  # largest side of an array
    size_limit = GRAPH_SIZE  # most entries of a value
    draws_empty = True  # fresh shapes now and then have a side of 0

    def __init__(self, draw: Callable) -> None:
        self.draw = draw
        self.leaves: list[str] = []
        self.values: dict[str, np.ndarray] = {}
        self.op: type[Op] = Op
        self.params: dict[str, Any] = {}
        self.constants: set[str] = set()

    def of(self, op: type[Op], caller: str) -> tuple[list[str], dict]:
        """The names of the op's inputs, and its params, as its `draw_arguments` says."""
        self.op, self.params = op, dict(op.examples)
        try:
            names = op.draw_arguments(self)
        except ValueError as error:
            raise ValueError(f"{caller}: {error}") from error
        return names, self.params

    def fresh(self, array: np.ndarray, constant: bool = False) -> str:
        """A new leaf holding `array`; a `constant` one never requires grad (an exponent
        drawn to meet base 0, where its own derivative does not exist)."""
        name = f"x{len(self.leaves)}"
        self.leaves.append(name)
        self.values[name] = np.asarray(array)  # 0-d arithmetic gives NumPy scalars
        if constant:
            self.constants.add(name)
        return name

    def operand(
        self,
        position: int,
        accept: Callable[[np.ndarray], bool] = lambda value: True,
        shape: tuple[int, ...] | None = None,
    ) -> str:
        """A reusable value that `accept`s, or a fresh leaf of `shape` (any small shape
        by default) drawn inside the op's domain for this input."""
        candidates = self.reusable(self.op, position, self.params, accept)
        choice = self.draw(st.integers(0, len(candidates)))
        if choice < len(candidates):
            return candidates[choice]
        shape = self.shape() if shape is None else shape
        return self.fresh(self.draw(_values(self.op, self.params, shape, position)))

    def reusable(self, op: type[Op], position: int, params: dict, accept: Callable) -> list[str]:
        """No earlier value: an op case's inputs are independent leaves, so equal inputs
        cannot hide a backward that mixes them up."""
        return []

    # ----- what draw_arguments can draw -----
    def shape(self, min_dims: int = 0, max_dims: int = 3) -> tuple[int, ...]:
        """A small shape; for ops that take empty inputs, now and then with a side of 0."""
        if self.draws_empty and self.op.empty_inputs and self.draw(st.integers(0, 7)) == 0:
            drawn = self.draw(shapes(max(min_dims, 1), max_dims, max_side=SIDE))
            zero_at = self.draw(st.integers(0, len(drawn) - 1))
            return drawn[:zero_at] + (0,) + drawn[zero_at + 1 :]
        return self.draw(shapes(min_dims, max_dims, max_side=SIDE))

    def partner_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts with `shape`."""
        return self.draw(_partner_shape(shape))

    def broadcasting_with(self, shape: tuple[int, ...]) -> Callable[[np.ndarray], bool]:
        """Accepts values that broadcast with `shape` into a small enough result."""
        return lambda value: _broadcasts(value.shape, shape)

    @staticmethod
    def at_least_1d(value: np.ndarray) -> bool:
        return value.ndim >= 1

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def side(self) -> int:
        """A length for one axis."""
        return self.integer(1, SIDE)

    def boolean(self) -> bool:
        return self.draw(st.booleans())

    def choice(self, options: list) -> Any:
        return self.draw(st.sampled_from(options))

    def permutation(self, ndim: int) -> tuple[int, ...]:
        """The axes in some order, each now and then counted from the end."""
        order = self.draw(st.permutations(range(ndim)))
        return tuple(_maybe_negative(self.draw, axis, ndim) for axis in order)

    def axes(self, ndim: int) -> Any:
        """A reduction's axis: None, an int or a tuple of ints."""
        return self.draw(_axes_param(ndim))

    def index(self, shape: tuple[int, ...]) -> Any:
        """An index of any kind NumPy accepts into an array of `shape`."""
        return self.draw(_index(shape))

    def bools(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.draw(hnp.arrays(bool, shape))

    def labels(self, count: int, classes: int) -> np.ndarray:
        """`count` integer class labels in 0..classes-1."""
        return self.draw(hnp.arrays(np.int64, (count,), elements=st.integers(0, classes - 1)))

    def floats(self, shape: tuple[int, ...], low: float, high: float) -> np.ndarray:
        return self.draw(hnp.arrays(np.float64, shape, elements=st.floats(low, high)))

    def apart_from(self, taken: np.ndarray, shape: tuple[int, ...], position: int) -> np.ndarray:
        """Distinct values of `shape` inside the op's domain for input `position`, none
        near an entry of `taken`: the other side of an op whose inputs tie at a kink
        (maximum at a == b)."""
        low, high = _interval(self.op, position)
        taken = np.unique(taken)
        size = int(np.prod(shape))
        # A grid of more than twice the points needed: each taken value is within half a
        # step of at most one point, so enough remain, each half a step or more from all.
        count = 2 * (size + taken.size) + 1
        step = (high - low) / count
        grid = low + step * (np.arange(count) + 0.5)
        if taken.size:
            grid = grid[np.abs(grid[:, None] - taken[None, :]).min(axis=1) >= step / 2]
        order = self.draw(st.permutations(range(len(grid))))
        return grid[list(order[:size])].reshape(shape)


@st.composite
def _partner_shape(draw, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts with `shape`: leading axes dropped or one added, sides of 1
    grown, other sides kept or set to 1."""
    dropped = draw(st.integers(0, len(shape)))
    partner = tuple(
        draw(st.integers(1, SIDE)) if n == 1 else (1 if draw(st.booleans()) else n)
        for n in shape[dropped:]
    )
    if dropped == 0 and draw(st.booleans()):
        partner = (draw(st.integers(1, SIDE)),) + partner
    return partner


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        return int(np.prod(np.broadcast_shapes(a, b))) <= GRAPH_SIZE
    except ValueError:
        return False


@st.composite
def op_cases(draw, op: type[Op], dtype: Any = np.float64) -> OpCase:
    """Inputs inside the op's domain and away from its kinks, with params to match: one
    step of `graphs`, drawn on fresh leaves. Floating inputs require grad."""
    arguments = Arguments(draw)
    names, params = arguments.of(op, "op_cases")
    inputs = []
    for name in names:
        value = arguments.values[name]
        floating = value.dtype.kind == "f"
        trainable = floating and name not in arguments.constants
        inputs.append(Tensor(value.astype(dtype) if floating else value, requires_grad=trainable))
    return OpCase(op, tuple(inputs), params)


# ----- random expression graphs ------------------------------------------------------------


@dataclass
class Leaf:
    name: str
    data: np.ndarray
    requires_grad: bool


@dataclass
class Step:
    """`name = op(*args, **params)`, where args name earlier leaves or steps."""

    name: str
    op: type[Op]
    args: tuple[str, ...]
    params: dict[str, Any]


@dataclass
class Graph:
    """A drawn expression: leaves, steps, and a scalar made of a weighted sum of the
    steps nothing else uses (so every step counts).

    Call it on `inputs()` (fresh leaf tensors) to run it; its repr is a Python program that
    rebuilds it with the same data, ready to paste into a test.
    """

    leaves: list[Leaf]
    steps: list[Step]
    outputs: list[str]
    weights: list[np.ndarray]

    def inputs(self) -> list[Tensor]:
        return [
            Tensor(leaf.data.copy(), requires_grad=leaf.requires_grad, name=leaf.name)
            for leaf in self.leaves
        ]

    def __call__(self, *inputs: Tensor) -> Tensor:
        values = {leaf.name: tensor for leaf, tensor in zip(self.leaves, inputs)}
        for step in self.steps:
            values[step.name] = step.op.apply(*(values[a] for a in step.args), **step.params)
        total = None
        for name, weights in zip(self.outputs, self.weights):
            term = (values[name] * Tensor.wrap(weights)).sum()
            total = term if total is None else total + term
        return total

    @property
    def ops(self) -> list[str]:
        return [step.op.name for step in self.steps]

    @property
    def code(self) -> str:
        arguments = ", ".join(leaf.name for leaf in self.leaves)
        lines = [
            "import numpy as np",
            "",
            "import minigrad.functional as F",
            "from minigrad import OPS, Tensor, gradcheck",
            *self._own_op_imports(),
            "",
        ]
        for leaf in self.leaves:
            flag = ", requires_grad=True" if leaf.requires_grad else ""
            lines.append(f"{leaf.name} = Tensor({_literal(leaf.data)}{flag}, name={leaf.name!r})")
        lines += ["", "", f"def f({arguments}):"]
        lines += [f"    {step.name} = {_expression(step)}" for step in self.steps]
        terms = [f"({name} * {_literal(w)}).sum()" for name, w in zip(self.outputs, self.weights)]
        lines += [f"    return {' + '.join(terms)}", "", "", f"gradcheck(f, [{arguments}])"]
        return "\n".join(lines)

    def _own_op_imports(self) -> list[str]:
        """Imports for ops that are not minigrad's registered ones (the user's own)."""
        own = {step.op for step in self.steps if step.op is not OPS.get(step.op.name)}
        lines = []
        for op in sorted(own, key=lambda op: op.__qualname__):
            if "<locals>" in op.__qualname__ or op.__module__ == "__main__":
                lines.append(f"# {op.__name__}: paste its definition here ({op.__module__})")
            else:
                lines.append(f"from {op.__module__} import {op.__qualname__.split('.')[0]}")
        return lines

    def __repr__(self) -> str:
        return self.code

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints a falsifying graph as its code."""
        printer.text(self.code)


def _literal(value: Any) -> str:
    """Python source that rebuilds `value` exactly (arrays, indices, params)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r}, dtype={str(value.dtype)!r})"
    if isinstance(value, tuple):
        parts = [_literal(part) for part in value]
        return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
    if value is Ellipsis:
        return "..."
    if isinstance(value, np.integer):
        return repr(int(value))
    if isinstance(value, np.floating):
        return repr(float(value))
    return repr(value)


def _call(callee: str, args: Iterable[str], params: dict[str, Any]) -> str:
    parts = [*args, *(f"{key}={_literal(value)}" for key, value in params.items())]
    return f"{callee}({', '.join(parts)})"


def _expression(step: Step) -> str:
    """How a user would write the step: the op's own `spelling` (operators and methods
    for built-in ops), else `OPS[name].apply(...)` or the class's `apply`."""
    args, params, op = step.args, step.params, step.op
    if op is not OPS.get(op.name):  # the user's own (or an unregistered) op
        return _call(f"{op.__name__}.apply", args, params)
    if not op.spelling:
        return _call(f"OPS[{op.name!r}].apply", args, params)
    keywords = ", ".join(f"{key}={_literal(value)}" for key, value in params.items())
    literals = {key: _literal(value) for key, value in params.items()}
    return op.spelling.format(*args, inputs=", ".join(args), params=keywords, **literals)


def _declared_domain(op: type[Op], position: int) -> tuple[float, float] | None:
    """The op's own domain for this input, or None if it keeps Op's default range."""
    if all("domain" not in cls.__dict__ for cls in op.__mro__ if cls is not Op):
        return None
    return _interval(op, position)


class _GraphBuilder(Arguments):
    """Draws steps one by one, computing each value so inputs can respect op domains."""

    draws_empty = False  # a graph keeps no empty value: it would hide the steps after it

    def __init__(self, draw: Callable) -> None:
        super().__init__(draw)
        self.steps: list[Step] = []

    def reusable(self, op: type[Op], position: int, params: dict, accept: Callable) -> list[str]:
        """Earlier values that fit, most recent first, so graphs share sub-expressions and
        shrink to chains."""
        return [
            name
            for name, value in reversed(self.values.items())
            if value.dtype.kind == "f"
            and value.size
            and accept(value)
            and self.fits(op, position, params, value)
        ]

    def fits(self, op: type[Op], position: int, params: dict, value: np.ndarray) -> bool:
        """Whether `value` may feed this input: inside the domain, off kinks, no ties."""
        domain = _declared_domain(op, position)
        if domain is not None and (value.min() < domain[0] or value.max() > domain[1]):
            return False
        for kink in op(**params).kinks():
            if np.abs(value - kink).min() < KINK_MARGIN:
                return False
        if op.distinct and value.size > 1:
            return bool(np.diff(np.sort(value, axis=None)).min() >= GRAPH_GAP)
        return True

    def add(self, op: type[Op]) -> None:
        args, params = self.of(op, "graphs")
        with no_grad():
            value = op.apply(*(Tensor.wrap(self.values[a]) for a in args), **params).data
        usable = 0 < value.size <= GRAPH_SIZE and np.all(np.isfinite(value))
        if usable and np.abs(value).max() <= VALUE_LIMIT:
            name = f"v{len(self.steps)}"
            self.steps.append(Step(name, op, tuple(args), params))
            self.values[name] = value

    def finish(self) -> Graph:
        """The graph of the steps kept, with the leaves they use; about one floating leaf
        in four is a constant (no gradient), but never all of them."""
        used = {arg for step in self.steps for arg in step.args}
        outputs = [step.name for step in self.steps if step.name not in used]
        outputs = outputs or [self.leaves[0]]
        kept = [name for name in self.leaves if name in used or name in outputs]
        can_train = [
            self.values[name].dtype.kind == "f" and name not in self.constants for name in kept
        ]
        trainable = [able and self.draw(st.integers(0, 3)) != 3 for able in can_train]
        if not any(trainable) and any(can_train):
            trainable[can_train.index(True)] = True
        renamed = {name: f"x{i}" for i, name in enumerate(kept)}
        renamed.update({step.name: f"v{i}" for i, step in enumerate(self.steps)})
        return Graph(
            leaves=[
                Leaf(renamed[name], self.values[name], requires_grad)
                for name, requires_grad in zip(kept, trainable)
            ],
            steps=[
                Step(renamed[s.name], s.op, tuple(renamed[a] for a in s.args), s.params)
                for s in self.steps
            ],
            outputs=[renamed[name] for name in outputs],
            weights=[_weights(self.values[name].shape) for name in outputs],
        )


def _weights(shape: tuple[int, ...]) -> np.ndarray:
    """Fixed, uneven weights for the final sum: a plain sum would send the same gradient
    to every element and hide a transposed or permuted backward."""
    size = int(np.prod(shape))
    return np.round(1.5 + np.cos(1.0 + np.arange(size)), 2).reshape(shape)


def _graph_ops(ops: Iterable[str | type[Op]] | None) -> list[type[Op]]:
    chosen = sorted(OPS) if ops is None else ops
    unknown = [op for op in chosen if isinstance(op, str) and op not in OPS]
    if unknown:
        raise ValueError(f"graphs: no registered op named {unknown}; known: {sorted(OPS)}")
    classes = [OPS[op] if isinstance(op, str) else op for op in chosen]
    if not classes:
        raise ValueError("graphs: ops is empty; pass op names or Op classes")
    return classes


@st.composite
def graphs(draw, ops: Iterable[str | type[Op]] | None = None, max_nodes: int = 6) -> Graph:
    """Random differentiable expressions built from registered ops (all of them by
    default), ending in a scalar: shared sub-expressions, broadcasting binary ops,
    reductions over random axes, reshapes, transposes and indexing.

    Inputs respect each op's domain and stay off its kinks. A failing graph shrinks
    towards fewer steps and fewer leaves; its repr is runnable Python.
    """
    pool = _graph_ops(ops)
    builder = _GraphBuilder(draw)
    builder.fresh(draw(tensors(shapes(max_side=SIDE))).data)
    for op in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=max_nodes), label="ops"):
        builder.add(op)
    return builder.finish()


# ----- check_op: everything a new op must pass ----------------------------------------------
BROADCAST_VARIANTS = ((2, 3), (1, 3), (2, 1), (1, 1), (3,), (1,), ())


class OpCheckError(AssertionError):
    """`check_op` found an op breaking a rule other than its gradient's values."""


def check_op(
    op: str | type[Op],
    *,
    order: int = 2,
    max_examples: int = 20,
    cases: st.SearchStrategy[OpCase] | None = None,
) -> bool:
    """Check a (custom) op the way the built-ins are checked; True, or raise.

    On inputs drawn by `op_cases(op)` (or `cases`): gradcheck, and with order=2 the
    gradient of the gradient; gradients keep each input's shape; float32 in gives float32
    out and float32 gradients; under no_grad nothing is recorded and the values agree.
    For ops whose inputs broadcast (`op.broadcasts`), every combination of broadcastable
    input shapes (BROADCAST_VARIANTS) is checked too. Raises `GradcheckError` for a wrong
    gradient and `OpCheckError` for the rest, naming the op and the shapes. Call it from
    a plain test function, not from inside another @given test.
    """
    op = OPS[op] if isinstance(op, str) else op
    drawn_cases = op_cases(op) if cases is None else cases
    _check_broadcasting(op)

    @settings(max_examples=max_examples)
    @given(data=st.data())
    def check_drawn(data: st.DataObject) -> None:
        case = data.draw(drawn_cases, label=op.name)
        _check_gradient_shapes(case)
        gradcheck(_named(case), case.inputs, order=order)
        _check_float32(_as_float32(case))
        _check_no_grad(case)

    check_drawn()
    return True


def _named(case: OpCase) -> Callable[..., Tensor]:
    """case.run under a name that reports can show: the op and its params."""

    def run(*inputs: Tensor) -> Tensor:
        return case.run(*inputs)

    described = case.op(**case.params).describe_params()
    run.__qualname__ = _call(case.op.name, [], described) if described else case.op.name
    return run


def _shapes_of(tensors: Iterable[Tensor]) -> str:
    return ", ".join(str(t.shape) for t in tensors)


def _check_gradient_shapes(case: OpCase) -> None:
    """Every input that requires grad gets a gradient of a shape the engine can sum back
    to the input's (the engine raises on any other; this adds the case to the message)."""
    inputs = [Tensor(t.data.copy(), t.requires_grad) for t in case.inputs]
    out = case.run(*inputs)
    case_text = f"inputs {_shapes_of(inputs)}, params {case.params}"
    try:
        out.backward(np.random.default_rng(0).standard_normal(out.shape))
    except ValueError as error:
        raise OpCheckError(f"check_op({case.op.name}): {error} ({case_text})") from error
    for position, tensor in enumerate(inputs):
        if tensor.requires_grad and tensor.grad is None:
            raise OpCheckError(
                f"check_op({case.op.name}): backward returned None for input {position} of "
                f"shape {tensor.shape}, which requires grad ({case_text}); return a gradient "
                "for every input the output depends on"
            )


def _as_float32(case: OpCase) -> OpCase:
    inputs = tuple(
        Tensor(t.data.astype(np.float32), t.requires_grad) if t.dtype.kind == "f" else t
        for t in case.inputs
    )
    return OpCase(case.op, inputs, case.params)


def _check_float32(case: OpCase) -> None:
    out = case.run()
    if out.dtype != np.float32:
        raise OpCheckError(
            f"check_op({case.op.name}): float32 inputs {_shapes_of(case.inputs)} gave a "
            f"{out.dtype} output; forward must keep float32 (e.g. cast constants with "
            "a.dtype)"
        )
    out.backward(np.ones(out.shape, dtype=np.float32))
    for position, tensor in enumerate(case.inputs):
        if tensor.requires_grad and tensor.grad.dtype != np.float32:
            raise OpCheckError(
                f"check_op({case.op.name}): the gradient of float32 input {position} "
                f"{tensor.shape} is {tensor.grad.dtype}; backward must keep float32"
            )


def _check_no_grad(case: OpCase) -> None:
    recorded = case.run()
    with no_grad():
        plain = case.run()
    if plain.requires_grad or plain.op is not None:
        raise OpCheckError(
            f"check_op({case.op.name}): under no_grad() the output still records the op; "
            "use Op.apply, which records only when grad mode is on"
        )
    if not (recorded.requires_grad and isinstance(recorded.op, case.op)):
        raise OpCheckError(
            f"check_op({case.op.name}): with inputs that require grad the output does not "
            "record the op; use Op.apply"
        )
    if not np.array_equal(recorded.data, plain.data, equal_nan=True):
        raise OpCheckError(
            f"check_op({case.op.name}): no_grad() changes the output values for inputs "
            f"{_shapes_of(case.inputs)}"
        )


def _spread_values(op: type[Op], position: int, shape: tuple, rng: np.random.Generator):
    """Values inside the op's domain and KINK_MARGIN away from its kinks, without hypothesis."""
    low, high = _interval(op, position)
    array = _off_kinks(rng.uniform(low, high, shape), op(**op.examples).kinks())
    return Tensor(array, requires_grad=True)


def _check_broadcasting(op: type[Op]) -> None:
    """Every combination of broadcastable input shapes: right gradient shapes and values."""
    if not op.broadcasts:
        return
    rng = np.random.default_rng(0)
    for input_shapes in itertools.product(BROADCAST_VARIANTS, repeat=op.arity):
        inputs = tuple(
            _spread_values(op, position, shape, rng) for position, shape in enumerate(input_shapes)
        )
        case = OpCase(op, inputs, dict(op.examples))
        _check_gradient_shapes(case)
        gradcheck(_named(case), inputs)
