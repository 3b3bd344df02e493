"""The Tensor: an array that remembers the op that made it.

Every op lives in `minigrad.ops` and the backward engine in `minigrad.autograd`; the
operators and methods below only dispatch to them.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.checks import check_flag

DEFAULT_DTYPE = np.float32


def as_array(data: Any, dtype: Any = None, caller: str = "Tensor") -> np.ndarray:
    """NumPy arrays keep their dtype; Python numbers and lists become float32.

    Anything that is not numbers in a rectangular layout is refused with the reason:
    NumPy would make None a NaN (also inside a list), and give strings or ragged lists
    its own bare errors. The array is built before any dtype is applied, so a None or a
    string shows as what it is instead of being converted.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) and dtype is None and data.dtype.kind in NUMERIC_KINDS:
        return data
    if data is None:
        raise TypeError(f"{caller}: got None; pass a number, a list of numbers or an array")
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as error:
        reason = str(error).split(".")[0]
        if "sequence" in reason:
            reason = "its rows have different lengths (a ragged list)"
        raise TypeError(
            f"{caller}: cannot make an array of {type(data).__name__} {_preview(data)}: "
            f"{reason}. Pass numbers, lists of equal-length rows, or a NumPy array"
        ) from error
    if array.dtype.kind not in NUMERIC_KINDS:
        if isinstance(data, np.ndarray):
            raise TypeError(
                f"{caller}: data of dtype {array.dtype} is not numbers; pass a numeric array "
                "(bool, int or float)"
            )
        raise TypeError(
            f"{caller}: cannot make an array of {type(data).__name__} {_preview(data)}: "
            f"its entries are not all numbers (NumPy makes it dtype {array.dtype}). Pass "
            "numbers (bool, int or float), lists of them, or a numeric NumPy array"
        )
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        dtype = DEFAULT_DTYPE
    return array if dtype is None else array.astype(_numeric_dtype(dtype), copy=False)


def _numeric_dtype(dtype: Any) -> np.dtype:
    """`dtype` as a NumPy dtype of numbers, or a TypeError naming it."""
    try:
        wanted = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"Tensor: dtype {dtype!r:.40} is not a NumPy dtype") from error
    if wanted.kind not in NUMERIC_KINDS:
        raise TypeError(f"Tensor: dtype {wanted} is not numbers; pass bool, int or float")
    return wanted


NUMERIC_KINDS = "biuf"


def _preview(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 40 else text[:37] + "..."


class FreedValue(np.ndarray):
    """Stands for a value the graph let go (see `minigrad.ops.base.WeakInput`): it has the
    value's shape and dtype, and any computation on it raises, naming what to change."""

    @classmethod
    @functools.lru_cache(maxsize=256)  # read-only and entry-less, so shared: made once
    def like(cls, shape: tuple[int, ...], dtype: np.dtype) -> FreedValue:
        one = np.zeros(1, dtype)
        strides = (0,) * len(shape)
        return np.lib.stride_tricks.as_strided(one, shape, strides, writeable=False).view(cls)

    def refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"this {self.dtype}{self.shape} value was freed after forward, because the op it "
            "feeds declares reads_inputs = False (its backward reads only its output): set "
            "reads_inputs = True on an op whose backward reads its inputs, or build the "
            "graph inside `with minigrad.keep_values():` to keep every value"
        )

    __array_ufunc__ = __array_function__ = __getitem__ = __float__ = refuse

    def __repr__(self) -> str:
        return f"<freed {self.dtype}{self.shape}>"

    __str__ = __repr__


class Tensor:
    """An n-dimensional array that records the op that produced it.

    `op` is None for a leaf (an input or a parameter); otherwise it is the `Op`
    instance whose `inputs` are this tensor's parents in the graph.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "op", "retains_grad", "__weakref__")
    # Make NumPy hand `ndarray + Tensor` to Tensor.__radd__ instead of building an object array.
    __array_ufunc__ = None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        array = as_array(data, dtype)
        if requires_grad is not False:
            check_flag("Tensor", "requires_grad", requires_grad)
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f"Tensor: requires_grad=True needs a floating dtype, got {array.dtype}. "
                "Integer tensors hold labels and indices, which have no gradient; "
                "pass dtype=np.float32 for a trainable tensor."
            )
        self.data = array
        self.grad: Tensor | None = None
        self.requires_grad = requires_grad
        self.name = name
        self.op = None
        self.retains_grad = False

    @classmethod
    def wrap(cls, array: np.ndarray, requires_grad: bool = False) -> Tensor:
        """Wrap an array the engine made itself, skipping the constructor's checks."""
        tensor = cls.__new__(cls)
        tensor.data = array
        tensor.grad = None
        tensor.requires_grad = requires_grad
        tensor.name = None
        tensor.op = None
        tensor.retains_grad = False
        return tensor

    # ----- plain properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    @property
    def T(self) -> Tensor:
        axes = (1, 0) if self.data.ndim == 2 else tuple(reversed(range(self.data.ndim)))
        return ops.Transpose.apply(self, axes=axes)

    @property
    def mT(self) -> Tensor:
        """Swap the last two axes (the transpose of a batch of matrices)."""
        if self.ndim < 2:
            raise ValueError(
                f"mT: needs at least 2 axes (a matrix or a batch of them), got shape "
                f"{self.shape}; a 1-D tensor is its own transpose"
            )
        axes = list(range(self.ndim))
        axes[-2], axes[-1] = axes[-1], axes[-2]
        return ops.Transpose.apply(self, axes=tuple(axes))

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(
                f"item: only a tensor with one element has a single value, got shape "
                f"{self.shape}; reduce it first (.sum(), .mean()) or index one element"
            )
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor.wrap(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient after backward (leaves always keep theirs)."""
        self.retains_grad = True

    def register_hook(self, hook: Any) -> Any:
        """Call `hook(grad)` with this tensor's full gradient whenever backward computes
        it; a hook that returns a Tensor or an array replaces the gradient. Returns a
        handle whose `remove()` unregisters it."""
        return HOOKS.add(self, hook)

    @property
    def hooks(self) -> list:
        return HOOKS.of(self)

    @property
    def is_freed(self) -> bool:
        """Whether this tensor stands for a value its graph freed (`FreedValue`)."""
        return isinstance(self.data, FreedValue)

    def __repr__(self) -> str:
        if self.is_freed:
            body = repr(self.data)
        else:
            body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=20)
        extras = [f"dtype={self.dtype}"]
        if self.requires_grad:
            extras.append("requires_grad=True")
        if self.op is not None:
            extras.append(f"op={self.op.name}")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"Tensor({body}, {', '.join(extras)})"

    def __len__(self) -> int:
        if not self.data.ndim:
            raise TypeError("len: a 0-d tensor has no length; its value is .item()")
        return len(self.data)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"bool: only a tensor with one element is True or False, got shape "
                f"{self.shape}; reduce it first, e.g. (x > 0).all() or .any()"
            )
        return bool(self.data)

    __hash__ = object.__hash__

    # ----- autodiff ---------------------------------------------------------------------
    def backward(
        self,
        grad: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` that requires grad.

        Leaf gradients add up across calls (call `zero_grad()` between steps). The graph's
        saved state is released afterwards unless `retain_graph=True`. With
        `create_graph=True` the backward pass is itself recorded, so gradients can be
        differentiated again (the graph is then retained unless retain_graph=False).
        """
        autograd.backpropagate(self, grad, retain_graph, create_graph)

    # ----- operators (each dispatches to one op in minigrad.ops) ------------------------
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, as_operand(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(as_operand(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, as_operand(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(as_operand(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, as_operand(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(as_operand(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, as_operand(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(as_operand(other, self), self)

    def __pow__(self, exponent: Any) -> Tensor:
        return ops.Pow.apply(self, as_operand(exponent, self))

    def __rpow__(self, base: Any) -> Tensor:
        return ops.Pow.apply(as_operand(base, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.Matmul.apply(self, as_operand(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.Matmul.apply(as_operand(other, self), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, index=_plain_index(index))

    # Comparisons give boolean tensors outside the graph: they have no gradient.
    def __lt__(self, other: Any) -> Tensor:
        return Tensor.wrap(self.data < _operand_data(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor.wrap(self.data <= _operand_data(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor.wrap(self.data > _operand_data(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor.wrap(self.data >= _operand_data(other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor.wrap(self.data == _operand_data(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor.wrap(self.data != _operand_data(other))

    # Indices of the largest or smallest entries: integers, outside the graph (no gradient).
    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index of the largest entry (of the flattened tensor if axis is None); the first
        one where several tie, as in NumPy and PyTorch."""
        return Tensor.wrap(np.argmax(self.data, axis=axis, keepdims=keepdims))

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index of the smallest entry; the first one where several tie."""
        return Tensor.wrap(np.argmin(self.data, axis=axis, keepdims=keepdims))

    # ----- ops as methods ---------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """Variance, divided by count - ddof: ddof=0 as in NumPy (torch's var defaults to 1)."""
        return ops.Var.apply(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """Standard deviation, ddof=0 as in NumPy (torch's std defaults to 1)."""
        return ops.Std.apply(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Prod.apply(self, axis=axis, keepdims=keepdims)

    def norm(self, ord: int = 2, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002
        """The vector norm over axis (all entries by default): ord=2 Euclidean, ord=1 sum of |x|."""
        return ops.Norm.apply(self, ord=ord, axis=axis, keepdims=keepdims)

    def cumsum(self, axis: int | None = None) -> Tensor:
        return ops.Cumsum.apply(self, axis=axis)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if shape == self.data.shape:
            return self
        return ops.Reshape.apply(self, shape=shape)

    view = reshape  # PyTorch's name; minigrad's reshape never needs contiguous memory

    def squeeze(self, axis: Any = None) -> Tensor:
        return ops.Squeeze.apply(self, axis=axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return ops.Unsqueeze.apply(self, axis=axis)

    def repeat_interleave(self, repeats: int, axis: int | None = None) -> Tensor:
        """np.repeat: each entry `repeats` times in a row (torch's repeat is `tile`)."""
        return ops.Repeat.apply(self, repeats=repeats, axis=axis)

    def tile(self, *reps: Any) -> Tensor:
        if len(reps) == 1 and isinstance(reps[0], (tuple, list)):
            reps = tuple(reps[0])
        return ops.Tile.apply(self, reps=reps)

    def flatten(self, start_axis: int = 0) -> Tensor:
        return ops.Flatten.apply(self, start_axis=start_axis)

    def transpose(self, *axes: int) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or tuple(reversed(range(self.ndim))))

    permute = transpose

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return ops.BroadcastTo.apply(self, shape=tuple(shape))

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def log1p(self) -> Tensor:
        return ops.Log1p.apply(self)

    def expm1(self) -> Tensor:
        return ops.Expm1.apply(self)

    def sin(self) -> Tensor:
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return ops.Cos.apply(self)

    def erf(self) -> Tensor:
        return ops.Erf.apply(self)

    def maximum(self, other: Any) -> Tensor:
        return ops.Maximum.apply(self, as_operand(other, self))

    def minimum(self, other: Any) -> Tensor:
        return ops.Minimum.apply(self, as_operand(other, self))

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.LogSoftmax.apply(self, axis=axis)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        return ops.Clip.apply(self, low=low, high=high)


class Hooks(dict):
    """Gradient hooks by id(tensor) for a leaf and by id(tensor.op) for an op's output
    (whose Tensor the graph may trade for a stand-in, `WeakInput`, when its value is
    freed), kept beside the tensors so a Tensor keeps its slots.
    The backward executor asks only when some tensor has one: `if HOOKS` is a dict's
    C-level truth test, free on the hot path."""

    @property
    def by_tensor(self) -> dict[int, tuple[Any, list]]:
        return self

    def add(self, tensor: Tensor, hook: Any) -> HookHandle:
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {hook!r:.60}")
        owner = tensor if tensor.op is None else tensor.op
        key = id(owner)
        if key not in self.by_tensor:  # forget the hooks when their owner is gone
            self.by_tensor[key] = (weakref.finalize(owner, self.by_tensor.pop, key, None), [])
        self.by_tensor[key][1].append(hook)
        return HookHandle(self.by_tensor[key][1], hook)

    def of(self, tensor: Tensor) -> list:
        entry = self.by_tensor.get(id(tensor if tensor.op is None else tensor.op))
        return list(entry[1]) if entry else []


class HookHandle:
    def __init__(self, hooks: list, hook: Any) -> None:
        self.hooks, self.hook = hooks, hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


HOOKS = Hooks()


def as_operand(value: Any, like: Tensor) -> Tensor:
    """Turn the other side of an operator into a constant Tensor.

    A Python or NumPy scalar (or 0-d array) takes the dtype of the floating tensor it
    meets, so `x * 2.0` stays float32; an array keeps its own dtype. None, strings and
    other non-numbers are refused as `Tensor(...)` refuses them (NumPy would make None
    a NaN).
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in NUMERIC_KINDS:
            as_array(value)  # raises, naming the dtype
        if value.ndim:
            return Tensor.wrap(value)
    elif not isinstance(value, (float, int)):  # None, strings, lists, NumPy scalars
        as_array(value)  # refuses what is not numbers; a list is then read as before
    if like.data.dtype.kind == "f":
        return Tensor.wrap(np.asarray(value, dtype=like.data.dtype))
    return Tensor.wrap(np.asarray(value))


def _operand_data(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def _plain_index(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays (an index is never differentiated)."""
    if isinstance(index, tuple):
        return tuple(_operand_data(part) for part in index)
    return _operand_data(index)


from minigrad import autograd, ops  # noqa: E402  (both need Tensor defined first)
