"""What every op shares: the `Op` base class, the registry `OPS`, and the helpers that
undo broadcasting and normalise axes.

Subclassing `Op` with a `name` registers the op in `OPS`, which the tests, the docs table,
the graph pictures and the exporter enumerate. A backward rule is written once, with
operators and methods that NumPy arrays and Tensors share (`*`, `@`, `.sum`, `.reshape`,
...) and `SomeOp.call(...)` for the rest: a plain backward runs it on arrays, at NumPy
speed, and under `create_graph=True` the same rule runs on Tensors, is recorded, and can
be differentiated again. An op returns each input's gradient in the broadcast shape; the
engine sums it back to the input's shape with `unbroadcast`, so no op deals with
broadcasting itself.

What the property tests need to know sits on the class too:
- `arity`: number of tensor inputs (None: a sequence of tensors, as for concatenate);
- `draw_arguments(case)`: how tests draw its inputs and params (see `minigrad.testing`);
  the default draws `arity` inputs that broadcast together;
- `broadcasts`: True when the inputs broadcast against each other (add, mul, ...);
- `domain`: the interval inputs are drawn from (log needs x > 0), or one per input;
- `kinks(self)`: points where the op is not differentiable (relu at 0);
- `distinct`: True when equal input values are a kink (max picks among ties);
- `examples`: values for params that `draw_arguments` does not draw (clip's bounds);
- `spelling`: how a user writes it, for the code printed for a failing graph;
- `empty_inputs`: False for an op that has no answer for an empty input (max);
- `edges`: values its `draw_arguments` also draws outside the domain (pow's base 0);
- `flags`: the params that must be True or False (a string such as "no" is truthy);
- `reads_inputs`, `reads_output`: False when backward does not read the inputs' values
  (relu, sigmoid, tanh read only the output) or the output's (conv2d, linear); the graph
  then holds an output of the second kind weakly where it feeds an op of the first, so the
  value goes when no one else holds it (see `WeakInput`). tests/test_freed_values.py
  checks every declaration.

How an op exports to ONNX sits in its family module too: a table `ONNX` at the end of the
module maps each op's name to a function `(graph, op, *input_names) -> output_name` that
writes its ONNX nodes through `graph` (a `minigrad.onnx.OnnxGraph`), or to
`NotExportable(why)`. The op modules never import onnx; tests/test_onnx.py fails for a
registered op that has no entry.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from minigrad.checks import check_flag
from minigrad.grad_mode import Recording
from minigrad.tensor import DEFAULT_DTYPE, FreedValue, Tensor, as_operand

OPS: dict[str, type[Op]] = {}


class OpError(ValueError, IndexError, TypeError):
    """An op could not run on its inputs; the message names the op and the shapes.

    It is each of the errors NumPy raises for bad inputs, so `except ValueError` (or
    IndexError, TypeError) around minigrad code keeps working.
    """


# The one place the common arities are spelled out. Building a list of arrays for every
# op and every backward step costs more than the rest of a small op's bookkeeping, so each
# op class picks its pair of callers once, when it is defined. Unpacking `inputs` also
# refuses a wrong number of them.
def _forward_one(op: Op, inputs: Sequence[Tensor]) -> Any:
    (a,) = inputs
    return op.forward(a.data)


def _forward_two(op: Op, inputs: Sequence[Tensor]) -> Any:
    a, b = inputs
    return op.forward(a.data, b.data)


def _forward_any(op: Op, inputs: Sequence[Tensor]) -> Any:
    return op.forward(*[t.data for t in inputs])


def _backward_one(op: Op, grad: Any, out: Tensor) -> Sequence[Any]:
    (a,) = op.inputs
    return op.backward(grad, out.data, a.data)


def _backward_two(op: Op, grad: Any, out: Tensor) -> Sequence[Any]:
    a, b = op.inputs
    return op.backward(grad, out.data, a.data, b.data)


def _backward_any(op: Op, grad: Any, out: Tensor) -> Sequence[Any]:
    return op.backward(grad, out.data, *[t.data for t in op.inputs])


CALLERS_BY_ARITY = {1: (_forward_one, _backward_one), 2: (_forward_two, _backward_two)}


# Values smaller than this stay held: freeing them saves less than their stand-in costs, and
# small graphs (a neuron, a tiny MLP) keep every value to show.
FREED_FROM_BYTES = 2**16

# An op's edge to an input that neither its backward nor its maker's reads is a plain tuple
# (weak reference to the Tensor, maker op, shape, dtype, name) where the other edges are
# Tensors: it gives the Tensor while someone else (a variable, a layer, another op that
# reads it) holds it, and after that a stand-in with the same maker, shape and dtype whose
# value is a `FreedValue`. So a conv's output before a relu is freed once the relu has run,
# and backward still flows through its maker. A tuple because one is made per relu call.
WeakInput = tuple


def held_tensor(edge: WeakInput) -> Tensor:
    """The Tensor a weak edge stands for: itself while alive, else its maker's stand-in."""
    tensor = edge[0]()
    if tensor is None:  # one stand-in per maker op, however many ops held it weakly
        maker = edge[1]
        tensor = maker.stand_in
        if tensor is None:
            tensor = Tensor.wrap(FreedValue.like(edge[2], edge[3]), True)
            tensor.op, tensor.name = maker, edge[4]
            maker.stand_in = tensor
    return tensor


class HeldInputs:
    """`op.inputs` where some inputs are held weakly, in `op.held`. A non-data descriptor:
    an op of the same class that holds all its inputs sets `inputs` itself, and the engine
    reads that at attribute speed."""

    def __get__(self, op: Op | None, owner: Any = None) -> Any:
        if op is None:
            return self
        return tuple(
            [edge if edge.__class__ is not tuple else held_tensor(edge) for edge in op.held]
        )


def freeable(t: Tensor) -> bool:
    """Whether a weak edge may stand for input `t`: its maker's backward does not read it,
    and it is large enough for freeing it to pay."""
    return t.op is not None and not t.op.reads_output and t.data.nbytes >= FREED_FROM_BYTES


def hold_inputs(op: Op, inputs: tuple[Tensor, ...]) -> None:
    """Set op.inputs, or op.held with weak edges where an input's value may be freed."""
    for t in inputs:  # most inputs are small, or read: a plain loop finds that fastest
        if freeable(t):
            break
    else:
        op.inputs = inputs
        return
    if Recording.keep_values or Recording.anomaly is not None:  # anomaly reports the values
        op.inputs = inputs
        return
    op.held = tuple(
        [
            (weakref.ref(t), t.op, t.data.shape, t.data.dtype, t.name) if freeable(t) else t
            for t in inputs
        ]
    )


class Op:
    """One application of an operation: a node of the graph.

    `apply` runs `forward` on the inputs' arrays and, when recording, keeps the input
    Tensors in `inputs`. `backward(grad, out, *inputs)` gets the output's gradient, the
    output and the inputs (arrays on a plain backward, Tensors when the backward is
    recorded) and returns one gradient (or None) per input. `self.inputs[i]` tells
    whether input i `requires_grad`, and its `.data` is a constant either way.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""  # the module it is defined in: elementwise, reductions, ...
    arity: ClassVar[int | None] = 1
    broadcasts: ClassVar[bool] = False
    domain: ClassVar[tuple] = (-2.0, 2.0)
    distinct: ClassVar[bool] = False
    params: ClassVar[tuple[str, ...]] = ()
    examples: ClassVar[dict[str, Any]] = {}
    spelling: ClassVar[str] = ""
    empty_inputs: ClassVar[bool] = True  # tests also draw inputs with a side of 0
    edges: ClassVar[tuple[float, ...]] = ()  # values drawn on purpose outside `domain`
    flags: ClassVar[tuple[str, ...]] = ()  # params that must be bools, checked by `apply`
    reads_inputs: ClassVar[bool] = True  # False: backward reads only `out` (and shapes)
    reads_output: ClassVar[bool] = True  # False: backward never reads `out`

    # forward on the inputs' arrays, and backward on arrays: chosen by arity, once per class
    forward_arrays: ClassVar[Any] = staticmethod(_forward_one)
    backward_arrays: ClassVar[Any] = staticmethod(_backward_one)

    inputs: tuple[Tensor, ...] = ()  # read through `held` where reads_inputs is False
    held: tuple[Tensor | WeakInput, ...] = ()
    stand_in: Tensor | None = None  # the output's stand-in once its value is freed
    arguments: dict[str, Any] = {}  # the params it was applied with, to re-run it
    scope: tuple[str, ...] = ()  # the modules this op was recorded in, outermost first
    number: int = -1  # recording order: an op's inputs were all made by lower numbers
    saved: Any = None
    released: bool = False

    @property
    def label(self) -> str:
        """The op's registered name, or its class name if it has none (for messages)."""
        return self.name or type(self).__name__

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "backward" in cls.__dict__ or "arity" in cls.__dict__:
            check_backward_signature(cls)
        forward, backward = CALLERS_BY_ARITY.get(cls.arity, (_forward_any, _backward_any))
        cls.forward_arrays, cls.backward_arrays = staticmethod(forward), staticmethod(backward)
        if not cls.reads_inputs:
            cls.inputs = HeldInputs()  # type: ignore[assignment]
        elif isinstance(cls.inputs, HeldInputs):  # a subclass that reads them again
            cls.inputs = ()
        if cls.__module__.startswith(__package__ + "."):
            cls.family = cls.__module__.rsplit(".", 1)[1]
        if register and cls.__dict__.get("name"):
            OPS[cls.name] = cls

    def __init__(self, **params: Any) -> None:
        self.__dict__.update(params)
        self.arguments = params
        self.number = next(Recording.numbers)  # so a node attached by hand is ordered too

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        op = cls.__new__(cls)  # what __init__ does, minus a call: this runs for every op
        if params:
            for flag in cls.flags:
                value = params.get(flag, False)
                if value is not False and value is not True:
                    check_flag(cls.name, flag, value)
            op.__dict__.update(params)
            op.arguments = params
        try:
            return op.output(cls.forward_arrays(op, inputs), inputs)
        except OpError:
            raise
        except (ValueError, IndexError, TypeError, AttributeError) as error:
            op.refuse(inputs, error)

    def refuse(self, inputs: Sequence[Any], error: Exception) -> None:
        """Raise the error `apply` should give for inputs its forward could not take."""
        if not all(isinstance(t, Tensor) for t in inputs):
            raise TypeError(
                f"{self.label}.apply takes Tensors; inside a backward rule, "
                f"which may get arrays, write {type(self).__name__}.call(...)"
            ) from error
        if self.arity is not None and len(inputs) != self.arity:
            raise OpError(
                f"{self.label}: takes {self.arity} input(s), got {len(inputs)}"
            ) from error
        if isinstance(error, AttributeError):  # a bug in forward, not bad inputs
            raise error
        raise OpError(self.explain_error([t.shape for t in inputs], error)) from error

    @classmethod
    def call(cls, *inputs: Any, **params: Any) -> Any:
        """`apply` on Tensors; on plain arrays, just the forward's array.

        Backward rules use it for what arrays have no method for (`Exp.call(out)`), so
        one rule serves a plain backward (arrays) and a recorded one (Tensors).
        """
        for value in inputs:
            if isinstance(value, Tensor):  # arrays beside it are constants
                return cls.apply(*[as_operand(v, value) for v in inputs], **params)
        op = cls.__new__(cls)
        op.__dict__.update(params)
        return op.forward(*inputs)

    @classmethod
    def record(cls, data: np.ndarray, *inputs: Any, **params: Any) -> Any:
        """What `call` returns, from a result computed already (no forward is run).

        A fused op's backward uses this to reuse its forward's work, e.g. the softmax
        inside cross-entropy, and still builds a real node under create_graph.
        """
        if not isinstance(inputs[0], Tensor):
            return data
        op = cls.__new__(cls)
        op.__dict__.update(params)
        op.arguments = params
        return op.output(data, inputs)

    def output(self, data: np.ndarray, inputs: tuple[Tensor, ...]) -> Tensor:
        """Wrap `data`, and record this op as its maker when any input needs a gradient."""
        out = Tensor.wrap(data)
        if Recording.enabled:
            for tensor in inputs:
                if tensor.requires_grad:
                    if self.reads_inputs:
                        self.inputs = inputs
                    else:
                        hold_inputs(self, inputs)
                    self.number = next(Recording.numbers)
                    self.scope = Recording.scope
                    out.op = self
                    out.requires_grad = True
                    break
        return out

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: Any, out: Any, *inputs: Any) -> Sequence[Any]:
        raise NotImplementedError

    def kinks(self) -> tuple[float, ...]:
        return ()

    @classmethod
    def draw_arguments(cls, case: Any) -> list[str]:
        """How tests draw this op's inputs; params go into `case.params`.

        `case` is a `minigrad.testing` drawing session (its methods draw values, shapes
        and axes, so an op module needs no Hypothesis import). By default: `arity`
        inputs, each broadcasting with the first.
        """
        if cls.arity is None:
            raise ValueError(
                f"op '{cls.name}' takes any number of inputs, which the default "
                "draw_arguments cannot draw: define draw_arguments(cls, case) on it"
            )
        first = case.operand(0)
        shape = case.values[first].shape
        return [first] + [
            case.operand(position, case.broadcasting_with(shape), case.partner_shape(shape))
            for position in range(1, cls.arity)
        ]

    def describe_params(self) -> dict[str, Any]:
        """The op's arguments (axis, exponent, ...), for graph labels and error reports."""
        return {key: getattr(self, key) for key in self.params}

    def explain_error(self, shapes: list[tuple[int, ...]], error: Exception) -> str:
        shown = ", ".join(str(shape) for shape in shapes)
        return f"{self.label}: cannot apply to input shapes {shown}: {error}"


def check_backward_signature(op: type[Op]) -> None:
    """Refuse, when the class is defined, a backward that cannot take the op's inputs."""
    raw = inspect.getattr_static(op, "backward")
    parameters = list(inspect.signature(op.backward).parameters.values())
    if (
        inspect.isfunction(raw)
        and parameters
        and parameters[0].kind is not parameters[0].VAR_POSITIONAL
    ):
        parameters = parameters[1:]  # self
    kinds = inspect.Parameter
    positional = [
        p for p in parameters if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    ]
    required = [p for p in positional if p.default is p.empty]
    keyword_only = [
        p.name for p in parameters if p.kind is kinds.KEYWORD_ONLY and p.default is p.empty
    ]
    takes_any = any(p.kind is kinds.VAR_POSITIONAL for p in parameters)
    if keyword_only:
        raise TypeError(
            f"{op.__name__}.backward has required keyword-only parameter(s) "
            f"{', '.join(keyword_only)}; the engine passes only (grad, out, *inputs): "
            "give them defaults"
        )
    if op.arity is None:
        fits = takes_any
    else:
        wanted = 2 + op.arity
        fits = len(required) <= wanted and (takes_any or wanted <= len(positional))
    if fits:
        return
    inputs = "*inputs" if op.arity is None else ", ".join("abcdefgh"[: op.arity])
    hint = ""
    if op.arity is not None and len(required) > 2:
        hint = f"; or, if the op takes {len(required) - 2} inputs, set arity = {len(required) - 2}"
    raise TypeError(
        f"{op.__name__}.backward takes {len(required)} arguments after self, but the op has "
        f"arity {op.arity}: write it as backward(self, grad, out, {inputs}), the output's "
        f"gradient and the output, then the inputs{hint}"
    )


def as_floating(array: np.ndarray) -> np.ndarray:
    """The one dtype rule for real-valued results: a floating array keeps its dtype, and
    integers and booleans are computed in float32, minigrad's default (never truncated)."""
    return array if array.dtype.kind == "f" else array.astype(DEFAULT_DTYPE)


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum a gradient over the axes that broadcasting stretched, back to `shape`.

    The one place broadcasting is undone, for every op.
    """
    leading = grad.ndim - len(shape)
    if leading:
        grad = grad.sum(axis=0 if leading == 1 else tuple(range(leading)))
    if 1 not in shape:  # the usual case, a bias: nothing stretched but the leading axes
        return grad
    stretched = tuple(
        axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1
    )
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def is_whole(value: Any) -> bool:
    """An int or NumPy integer, not a bool: True would silently count as 1."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def axis_index(axis: Any, ndim: int) -> int:
    """One axis counted from the start. Out of range is refused, never wrapped round
    (5 % 2 is a real axis), and so is anything but a whole number (1.5, True, "0")."""
    if not is_whole(axis):
        raise TypeError(f"axis must be an int, got {axis!r:.40}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for {ndim} axes: use {-ndim}..{ndim - 1}")
    return int(axis) % ndim


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axis given as None, an int or a tuple, as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted(a % ndim if ndim else a for a in axis))


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a reduction with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class ExportError(ValueError):
    """A traced graph that cannot be written as ONNX; the message names the op and why."""


@dataclass(frozen=True)
class NotExportable:
    """An op's ONNX entry when it has no ONNX form: `reason` says why, in the exporter's
    error."""

    reason: str


def onnx_node(op_type: str, **attributes: Any) -> Callable[..., str]:
    """The ONNX entry of an op that is one ONNX node of `op_type` on the op's inputs."""

    def export(graph: Any, op: Op, *inputs: str) -> str:
        return graph.node(op_type, *inputs, **attributes)

    return export
