"""Layers as objects that own their parameters: `Module`, `Linear`, `MLP` and friends.

A module's Parameters and sub-Modules are found from its attributes, so a model is plain
Python. Every parameter is named by its dotted path (`layers.0.weight`), and each call of a
sub-module tags the ops it records with that path, which is what graph pictures group by.
Weights are saved as `.npz` and read without pickle (`minigrad.files`), so a weights file
cannot run code.
"""

from __future__ import annotations

import math
import numbers
import os
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import pairwise, zip_longest
from pathlib import Path
from typing import Any

import numpy as np

from minigrad import functional as F
from minigrad import ops
from minigrad.checks import check_count, check_flag, check_positive, check_range
from minigrad.files import atomic_path, atomic_write, read_npz
from minigrad.grad_mode import module_scope
from minigrad.tensor import HookHandle, Tensor

__all__ = [
    "MLP",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Buffer",
    "Conv2d",
    "Dropout",
    "Flatten",
    "Linear",
    "MaxPool2d",
    "Module",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Seed",
    "StateDictError",
    "Tanh",
    "as_generator",
    "atomic_path",
    "check_numeric",
    "copy_into",
    "init_std",
    "read_npz",
]

Seed = int | np.random.Generator | None


def as_generator(
    seed: Seed, caller: str = "as_generator", name: str = "seed"
) -> np.random.Generator:
    """A NumPy Generator from a seed. A Generator is used as it is, so one generator can feed
    several layers (and a DataLoader) in turn and a whole run repeats from one seed.

    `caller` and `name` say whose argument a bad seed was, in the error."""
    if isinstance(seed, np.random.Generator):
        return seed
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as error:
        problem = TypeError if isinstance(error, TypeError) else ValueError
        raise problem(
            f"{caller}: {name} must be None, an int >= 0 or a np.random.Generator, got {seed!r:.60}"
        ) from error


class Parameter(Tensor):
    """A tensor a Module trains: it always requires grad. Float32 unless given an array."""

    __slots__ = ()

    def __init__(self, data: Any, name: str | None = None) -> None:
        super().__init__(data, requires_grad=True, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__().removeprefix("Tensor")


class Buffer(Tensor):
    """An array a Module keeps and saves but does not train (BatchNorm's running mean and
    variance): it never requires grad, and the module changes its data in place."""

    __slots__ = ()

    def __init__(self, data: Any, name: str | None = None) -> None:
        super().__init__(data, requires_grad=False, name=name)

    def __repr__(self) -> str:
        return "Buffer" + super().__repr__().removeprefix("Tensor")


class StateDictError(ValueError):
    """Weights that do not fit a model; lists every missing, unexpected or wrong-shaped name."""

    def __init__(
        self,
        caller: str,
        missing: list[str],
        unexpected: list[str],
        mismatched: dict[str, tuple[tuple[int, ...], tuple[int, ...]]],
    ) -> None:
        problems = []
        if missing:
            problems.append(f"missing: {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected: {', '.join(unexpected)}")
        for name, (expected, got) in mismatched.items():
            problems.append(f"{name} has shape {got}, the model needs {expected}")
        self.problems = "; ".join(problems)
        super().__init__(
            f"{caller}: the weights do not fit this model ({self.problems}). Build the "
            "model with the sizes the weights were trained with."
        )
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched


def _check_arrays(
    caller: str, expected: Mapping[str, tuple[int, ...]], given: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """`given` as arrays, after checking its names and shapes against `expected`."""
    # np.asarray, not as_array: check_numeric below names the caller and the weight.
    arrays = {
        name: np.asarray(value.data if isinstance(value, Tensor) else value)
        for name, value in given.items()
    }
    mismatched = {
        name: (shape, arrays[name].shape)
        for name, shape in expected.items()
        if name in arrays and arrays[name].shape != shape
    }
    missing = [name for name in expected if name not in arrays]
    unexpected = [name for name in arrays if name not in expected]
    if missing or unexpected or mismatched:
        raise StateDictError(caller, missing, unexpected, mismatched)
    check_numeric(caller, arrays)
    return arrays


def check_numeric(caller: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Refuse arrays of anything but numbers (strings, objects, booleans): weights are numbers."""
    for name, array in arrays.items():
        if array.dtype.kind not in "fiu":
            raise TypeError(f"{caller}: {name} holds {array.dtype} values; weights are numbers")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _adopt(path: str, name: str, value: Any) -> None:
    """Name a Parameter or Buffer, or re-root a sub-Module, held as attribute `name` of
    module `path`."""
    if isinstance(value, (Parameter, Buffer)):
        value.name = _join(path, name)
    elif isinstance(value, Module):
        value._set_path(_join(path, name))


def _refuse_hidden_modules(owner: str, name: str, value: Any) -> None:
    """A Module or Parameter inside a list, tuple or dict attribute would never be found by
    parameters(), state_dict() or train(): an optimizer would silently skip it."""
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        return
    for item in items:
        if isinstance(item, (Module, Parameter, Buffer)):
            raise TypeError(
                f"{owner}: attribute {name!r} is a {type(value).__name__} holding a "
                f"{type(item).__name__}, which parameters(), state_dict() and train() would "
                f"never see; store modules in nn.ModuleList (self.{name} = "
                f"nn.ModuleList([...])), or each Parameter as an attribute of its own"
            )


def copy_into(caller: str, targets: Mapping[str, Tensor], given: Mapping[str, Any]) -> None:
    """Copy `given` into `targets` by name, after checking every name and shape."""
    shapes = {name: parameter.shape for name, parameter in targets.items()}
    for name, array in _check_arrays(caller, shapes, given).items():
        targets[name].data[...] = array


class Module:
    """Base class of layers and models: subclass it and write `forward`.

    Attributes holding a `Parameter`, a `Buffer` or a `Module` are registered by being set:
    they show up in `parameters()` (buffers in `buffers()`), `state_dict()` and
    `train()`/`eval()`, and are named by their dotted path from the model that holds them.
    A list of modules goes in a `ModuleList`.
    """

    training: bool = True
    _forward_hooks: list = []  # the class's empty default: a module gets its own on register
    _path: str = ""  # dotted path from the outermost module; "" for that module itself

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: a Module must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._path:
            output = self.forward(*args, **kwargs)
        else:
            with module_scope(self._path):
                output = self.forward(*args, **kwargs)
        for hook in self._forward_hooks:
            replaced = hook(self, args, output)
            output = output if replaced is None else replaced
        return output

    def register_forward_hook(self, hook: Any) -> HookHandle:
        """Call `hook(module, inputs, output)` after every forward; a hook that returns
        something replaces the output. Returns a handle whose `remove()` unregisters it."""
        if not callable(hook):
            raise TypeError(f"register_forward_hook: hook must be callable, got {hook!r:.60}")
        if "_forward_hooks" not in self.__dict__:
            object.__setattr__(self, "_forward_hooks", [])
        self._forward_hooks.append(hook)
        return HookHandle(self._forward_hooks, hook)

    def __setattr__(self, name: str, value: Any) -> None:
        _refuse_hidden_modules(type(self).__name__, name, value)
        object.__setattr__(self, name, value)
        _adopt(self._path, name, value)

    def _set_path(self, path: str) -> None:
        object.__setattr__(self, "_path", path)
        for name, value in vars(self).items():
            _adopt(path, name, value)

    # ----- what a module holds ------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module inside it, with dotted names ("" for this one)."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(_join(prefix, name))

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Every parameter once, named by its dotted path (`layers.0.weight`)."""
        seen: set[int] = set()
        for path, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield _join(path, name), value

    def parameters(self) -> list[Parameter]:
        return [parameter for _, parameter in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, Buffer]]:
        """Every buffer once (running statistics), named by its dotted path."""
        seen: set[int] = set()
        for path, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Buffer) and id(value) not in seen:
                    seen.add(id(value))
                    yield _join(path, name), value

    def buffers(self) -> list[Buffer]:
        return [buffer for _, buffer in self.named_buffers()]

    def _named_state(self) -> dict[str, Tensor]:
        return {**dict(self.named_parameters()), **dict(self.named_buffers())}

    def zero_grad(self) -> None:
        """Forget the gradients (set them to None, which costs nothing)."""
        for parameter in self.parameters():
            parameter.grad = None

    def train(self, mode: bool = True) -> Module:
        """Switch this module and all inside it to training behaviour (dropout on)."""
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Switch to inference behaviour (dropout off)."""
        return self.train(False)

    # ----- weights --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's and buffer's array, keyed by dotted name."""
        return {name: tensor.data.copy() for name, tensor in self._named_state().items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy arrays into the parameters and buffers (cast to their dtype).

        Nothing is changed unless every name and shape fits; otherwise `StateDictError`
        lists every missing, unexpected and wrong-shaped entry.
        """
        copy_into(f"{type(self).__name__}.load_state_dict", self._named_state(), state)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write `state_dict()` to an `.npz` file, atomically (never a half-written file)."""
        path = Path(path)
        with atomic_write(path) as out:
            np.savez(out, **self.state_dict())
        return path

    def load(self, path: str | os.PathLike[str]) -> Module:
        """Load weights written by `save` (or any `.npz` with the same names and shapes).

        A damaged, truncated or non-`.npz` file raises `NpzError` (`minigrad.files`), which
        names the file and what to do; weights that do not fit raise `StateDictError`.
        """
        self.load_state_dict(read_npz(path))
        return self

    # ----- printing ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        children = "\n".join(f"({name}): {child!r}" for name, child in self.named_children())
        return f"{head}\n{textwrap.indent(children, '  ')}\n)" if children else head + ")"


# ----- layers ---------------------------------------------------------------------------------
INIT_GAINS = {"he": 2.0, "xavier": 1.0}


def _check_init(caller: str, init: Any) -> None:
    if isinstance(init, str) and init in INIT_GAINS:
        return
    if isinstance(init, (bool, np.bool_)) or not isinstance(init, numbers.Real):
        raise ValueError(
            f"{caller}: init must be 'he', 'xavier' or a standard deviation, got {init!r:.60}"
        )
    check_range(caller, "init (a standard deviation)", init, 0.0, math.inf)


def init_std(init: str | float, fan_in: int) -> float:
    """The standard deviation of a layer's normal initial weights.

    "he": sqrt(2 / fan_in), for ReLU; "xavier": sqrt(1 / fan_in), for sigmoid and tanh
    (both as the book defines them); a number is used as is (the book's
    `weight_init_std=0.01`, or 1.0 for Nielsen's `randn`).
    """
    _check_init("Linear", init)
    if isinstance(init, str):
        # A layer with no inputs has no weights to draw: any finite spread will do.
        return float(np.sqrt(INIT_GAINS[init] / max(fan_in, 1)))
    return float(init)


def _check_float_dtype(caller: str, dtype: Any) -> None:
    """Parameters are trained by gradients, so they hold floats."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind != "f":
        shown = repr(dtype) if resolved is None else resolved.name
        raise TypeError(f"{caller}: dtype must be a float type such as np.float32, got {shown}")


class Linear(Module):
    """y = x @ weight + bias, with weight shaped (in_features, out_features) as the book's W1.

    Weights are drawn from a normal distribution (`init`, see `init_std`); biases start at 0.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str | float = "xavier",
        rng: Seed = None,
        dtype: Any = np.float32,
    ) -> None:
        # 0 is a size: with no inputs the output is the bias (an empty sum), with no outputs
        # it is an empty (N, 0) array.
        check_count("Linear", "in_features", in_features, 0)
        check_count("Linear", "out_features", out_features, 0)
        _check_float_dtype("Linear", dtype)
        std = init_std(init, in_features)
        generator = as_generator(rng, "Linear", "rng")
        weight = generator.standard_normal((in_features, out_features)) * std
        self.weight = Parameter(weight.astype(dtype))
        self.bias = Parameter(np.zeros(out_features, dtype=dtype))

    def forward(self, x: Any) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]} -> {self.weight.shape[1]}"


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Dropout(Module):
    """Zero each input with probability p while training, and scale the rest by 1 / (1 - p)
    ("inverted" dropout), so evaluation needs no rescaling: in eval mode it does nothing."""

    def __init__(self, p: float = 0.5, rng: Seed = None) -> None:
        check_range("Dropout", "p", p, 0, 1)
        self.p = p
        self.rng = as_generator(rng, "Dropout", "rng")

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        x = F.tensor(x)
        kept = self.rng.random(x.shape, dtype=np.float32) >= self.p
        scale = np.asarray(1.0 / (1.0 - self.p), dtype=x.dtype)
        return x * Tensor.wrap(kept * scale)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied one after the other; the i-th is named "i" (`layers.0.weight`)."""

    def __init__(self, *modules: Module) -> None:
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                # setattr would store it where named_children() never looks: a silent no-op.
                fix = (
                    "pass the modules themselves: Sequential(*layers)"
                    if isinstance(module, (list, tuple))
                    else "wrap a function in a Module subclass that calls it in forward()"
                )
                raise TypeError(
                    f"Sequential: argument {index} is {module!r:.60} "
                    f"({type(module).__name__}), not a Module; {fix}"
                )
            setattr(self, str(index), module)

    def __len__(self) -> int:
        return sum(1 for _ in self.named_children())

    def __iter__(self) -> Iterator[Module]:
        return (module for _, module in self.named_children())

    def __getitem__(self, index: int | slice) -> Module | list[Module]:
        return list(self)[index]

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x


class ModuleList(Module):
    """A list of modules, each registered under its index ("0", "1", ...) as in Sequential,
    but with no forward of its own: the model's forward says how they are used."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(
                f"ModuleList: can only hold Modules, got {module!r:.60} ({type(module).__name__})"
            )
        setattr(self, str(len(self)), module)
        return self

    def __len__(self) -> int:
        return sum(1 for _ in self.named_children())

    def __iter__(self) -> Iterator[Module]:
        return (module for _, module in self.named_children())

    def __getitem__(self, index: int | slice) -> Module | list[Module]:
        return list(self)[index]


# ----- images ---------------------------------------------------------------------------------
class Conv2d(Module):
    """Convolution of images (N, C, H, W) with `out_channels` filters, weight shaped
    (out_channels, in_channels / groups, kh, kw) as the book's W1 and PyTorch's.

    Weights are drawn from a normal distribution (`init`, see `init_std`; He by default, as
    convolutions feed ReLUs) over a fan-in of in_channels / groups * kh * kw; biases start at 0.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        init: str | float = "he",
        rng: Seed = None,
        dtype: Any = np.float32,
    ) -> None:
        check_count("Conv2d", "in_channels", in_channels, 1)
        check_count("Conv2d", "out_channels", out_channels, 1)
        check_count("Conv2d", "groups", groups, 1)
        check_flag("Conv2d", "bias", bias)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: groups={groups} must divide in_channels={in_channels} and "
                f"out_channels={out_channels}"
            )
        _check_float_dtype("Conv2d", dtype)
        _check_init("Conv2d", init)
        kh, kw = ops.as_pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = ops.as_pair(stride, "stride", "Conv2d", 1)
        self.padding = ops.as_pair(padding, "padding", "Conv2d", 0)
        self.dilation = ops.as_pair(dilation, "dilation", "Conv2d", 1)
        self.groups = groups
        shape = (out_channels, in_channels // groups, kh, kw)
        std = init_std(init, shape[1] * kh * kw)
        weight = as_generator(rng, "Conv2d", "rng").standard_normal(shape) * std
        self.weight = Parameter(weight.astype(dtype))
        self.bias = Parameter(np.zeros(out_channels, dtype=dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        out, per_group, kh, kw = self.weight.shape
        extras = [f"{per_group * self.groups} -> {out}", f"kernel=({kh}, {kw})"]
        for name, value, default in (
            ("stride", self.stride, (1, 1)),
            ("padding", self.padding, (0, 0)),
            ("dilation", self.dilation, (1, 1)),
        ):
            if value != default:
                extras.append(f"{name}={value}")
        if self.groups != 1:
            extras.append(f"groups={self.groups}")
        if self.bias is None:
            extras.append("bias=False")
        return ", ".join(extras)


class MaxPool2d(Module):
    """The largest entry of each kernel window; the stride defaults to the kernel."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Any) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel_size}, stride={self.stride or self.kernel_size}"


class AvgPool2d(MaxPool2d):
    """The mean of each kernel window (padding counted as zeros)."""

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W) in (C, H, W) order, as the book's Affine reshapes."""

    def forward(self, x: Any) -> Tensor:
        return F.flatten(x, 1)


class BatchNorm2d(Module):
    """Normalize each channel by the batch's mean and variance, then scale and shift it:
    y = (x - mean) / sqrt(var + eps) * weight + bias, over (N, H, W) for images (N, C, H, W).

    While training, the running mean and variance (buffers, saved with the weights) move
    towards the batch's by `momentum` (the variance unbiased, as PyTorch keeps it); in eval
    mode they replace the batch's. They change outside the graph, so `minigrad.replay`
    would not repeat that update: train a BatchNorm model with eager steps.
    """

    axes: tuple[int, ...] = (0, 2, 3)
    ndim = 4

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        dtype: Any = np.float32,
    ) -> None:
        caller = type(self).__name__
        check_count(caller, "num_features", num_features, 1)
        check_positive(caller, "eps", eps)
        check_range(caller, "momentum", momentum, 0, 1)
        _check_float_dtype(caller, dtype)
        self.eps, self.momentum = eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=dtype))
        self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        self.running_mean = Buffer(np.zeros(num_features, dtype=dtype))
        self.running_var = Buffer(np.ones(num_features, dtype=dtype))

    def forward(self, x: Any) -> Tensor:
        x = F.tensor(x)
        features = self.weight.shape[0]
        if x.ndim != self.ndim or x.shape[1] != features:
            layout = "(N, C, H, W)" if self.ndim == 4 else "(N, C)"
            raise ValueError(
                f"{type(self).__name__}: expected input {layout} with C={features}, got "
                f"shape {x.shape}"
            )
        shape = (1, features) + (1,) * (self.ndim - 2)  # broadcasts over all but channels
        if self.training:
            mean = x.mean(axis=self.axes, keepdims=True)
            var = x.var(axis=self.axes, keepdims=True)
            self._update_running(mean.data.reshape(-1), var.data.reshape(-1), x.size // features)
        else:
            mean = self.running_mean.reshape(shape)
            var = self.running_var.reshape(shape)
        # x * scale + shift is (x - mean) * scale + bias with one pass over x fewer.
        scale = self.weight.reshape(shape) / (var + self.eps).sqrt()
        return x * scale + (self.bias.reshape(shape) - mean * scale)

    def _update_running(self, mean: np.ndarray, var: np.ndarray, count: int) -> None:
        unbiased = var * (count / max(count - 1, 1))
        for buffer, batch in ((self.running_mean, mean), (self.running_var, unbiased)):
            buffer.data *= 1 - self.momentum
            buffer.data += self.momentum * batch.astype(buffer.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(BatchNorm2d):
    """BatchNorm2d for features (N, C): each feature normalized over the batch."""

    axes = (0,)
    ndim = 2


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": F.relu,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
}


def _check_activation(argument: str, name: str) -> str:
    if name not in ACTIVATIONS:
        raise ValueError(f"MLP: {argument} must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return name


class MLP(Module):
    """A fully connected network from a list of layer sizes, as Nielsen's `Network([784, 30, 10])`.

    Each hidden layer computes h = activation(h @ W + b), then dropout while training; the
    last layer gives scores (logits), or `output_activation` of them (Nielsen's sigmoid
    output). `init` defaults to He for ReLU and Xavier otherwise (see `init_std`).
    """

    def __init__(
        self,
        sizes: list[int] | tuple[int, ...],
        activation: str = "relu",
        output_activation: str | None = None,
        init: str | float | None = None,
        dropout: float = 0.0,
        rng: Seed = None,
    ) -> None:
        if isinstance(sizes, str) or not isinstance(sizes, (Sequence, np.ndarray)):
            raise TypeError(
                f"MLP: sizes must be a list of layer sizes such as [784, 30, 10], got {sizes!r:.60}"
            )
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs an input and an output size, got {sizes}")
        for index, size in enumerate(sizes):
            check_count("MLP", f"sizes[{index}]", size, 0)
        # Checked here, as no Dropout is built (to check it) when there is no hidden layer.
        check_range("MLP", "dropout", dropout, 0, 1)
        rng = as_generator(rng, "MLP", "rng")
        self.sizes = tuple(int(size) for size in sizes)
        self.activation = _check_activation("activation", activation)
        self.output_activation = (
            None
            if output_activation is None
            else _check_activation("output_activation", output_activation)
        )
        init = init if init is not None else ("he" if activation == "relu" else "xavier")
        _check_init("MLP", init)
        self.layers = Sequential(*(Linear(a, b, init, rng) for a, b in pairwise(self.sizes)))
        # One Dropout per hidden layer, and none when p is 0: a step then makes no no-op calls.
        self.dropouts = Sequential(*(Dropout(dropout, rng) for _ in self.sizes[2:] if dropout))

    def forward(self, x: Any) -> Tensor:
        sigma = ACTIVATIONS[self.activation]
        *hidden, last = self.layers
        h = x
        for layer, dropout in zip_longest(hidden, self.dropouts):
            h = sigma(layer(h))
            if dropout is not None:
                h = dropout(h)
        y = last(h)
        return ACTIVATIONS[self.output_activation](y) if self.output_activation else y

    def _book_parameters(self) -> dict[str, Parameter]:
        """The parameters under the book's names: W1, b1, W2, b2, ..."""
        named = {}
        for number, layer in enumerate(self.layers, start=1):
            named[f"W{number}"], named[f"b{number}"] = layer.weight, layer.bias
        return named

    def book_params(self) -> dict[str, np.ndarray]:
        """The weights under the book's names W1, b1, W2, ... (copies), for its code."""
        return {name: p.data.copy() for name, p in self._book_parameters().items()}

    def load_book_params(self, params: Mapping[str, Any]) -> MLP:
        """Load weights stored under the book's names (W1, b1, W2, b2, ...), layer by layer.

        This is how weights trained elsewhere (a NumPy TwoLayerNet's `params`, or the book's
        `sample_weight.pkl` once converted to `.npz`) run in minigrad.
        """
        copy_into("MLP.load_book_params", self._book_parameters(), params)
        return self

    def extra_repr(self) -> str:
        extras = [f"sizes={list(self.sizes)}", f"activation={self.activation!r}"]
        if self.output_activation:
            extras.append(f"output_activation={self.output_activation!r}")
        return ", ".join(extras)
