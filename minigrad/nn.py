"""Layers as objects that own their parameters: `Module`, `Linear`, `MLP`, `LSTM` and friends.

A module's Parameters and sub-Modules are found from its attributes, so a model is plain
Python. Every parameter is named by its dotted path (`layers.0.weight`), and each call of a
sub-module tags the ops it records with that path, which is what graph pictures group by.
Weights are saved as `.npz` or `.safetensors` and read without pickle (`minigrad.files`), so
a weights file cannot run code.
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
from minigrad.files import (
    atomic_path,
    file_path,
    read_npz,
    read_weights,
    write_weights,
)
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
    "Embedding",
    "Identity",
    "LSTM",
    "LayerNorm",
    "Flatten",
    "Linear",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "RNN",
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
    if not isinstance(given, Mapping):
        raise TypeError(f"{caller}: takes a dict of arrays by name, got {given!r:.60}")
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
        return self._named_tensors(Parameter)

    def parameters(self) -> list[Parameter]:
        return [parameter for _, parameter in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, Buffer]]:
        """Every buffer once (running statistics), named by its dotted path."""
        return self._named_tensors(Buffer)

    def _named_tensors(self, kind: type) -> Iterator[tuple[str, Any]]:
        """Every attribute of type `kind` in this module and those inside it, once each."""
        seen: set[int] = set()
        for path, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, kind) and id(value) not in seen:
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

    def save(self, path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None) -> Path:
        """Write `state_dict()` atomically (never a half-written file): a `.safetensors`
        file by extension, with string `metadata` in its header, else an `.npz`."""
        path = file_path(f"{type(self).__name__}.save", path)
        return write_weights(path, self.state_dict(), metadata)

    def load(self, path: str | os.PathLike[str]) -> Module:
        """Load weights written by `save` (or any `.npz` or `.safetensors` file with the
        same names and shapes).

        A damaged, truncated or foreign file raises `NpzError` or `SafetensorsFileError`
        (`minigrad.files`), which names the file and what to do; weights that do not fit
        raise `StateDictError`.
        """
        self.load_state_dict(read_weights(file_path(f"{type(self).__name__}.load", path)))
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


class Sequential(ModuleList):
    """A ModuleList whose forward applies its modules one after the other; the i-th is
    named "i" (`layers.0.weight`)."""

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

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x


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


# ----- more layers: normalization, lookup tables, containers, recurrent networks ------------
class Identity(Module):
    """Returns its input: a placeholder where a model has an optional layer."""

    def forward(self, x: Any) -> Any:
        return x


class ModuleDict(Module):
    """Modules by name, as in a dict; `blocks["encoder"]`'s parameters are named
    `blocks.encoder.weight`. It has no forward: the model's forward picks what it calls."""

    def __init__(
        self, modules: Mapping[str, Module] | Sequence[tuple[str, Module]] | None = None
    ) -> None:
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key or key.startswith("_"):
            raise KeyError(
                f"ModuleDict: a key must be a non-empty string without '.' and not starting "
                f"with '_' (it becomes part of dotted names), got {key!r:.60}"
            )
        if hasattr(ModuleDict, key):
            raise KeyError(
                f"ModuleDict: the key {key!r} would hide ModuleDict.{key}; choose another name"
            )
        if not isinstance(module, Module):
            raise TypeError(
                f"ModuleDict: the value for {key!r} is {module!r:.60} "
                f"({type(module).__name__}), not a Module"
            )
        setattr(self, key, module)

    def __getitem__(self, key: str) -> Module:
        module = vars(self).get(key) if isinstance(key, str) else None
        if not isinstance(module, Module):
            raise KeyError(
                f"ModuleDict: no module named {key!r:.60}; it holds: {', '.join(self) or 'none'}"
            )
        return module

    def __delitem__(self, key: str) -> None:
        self[key]  # the KeyError that names what is there
        delattr(self, key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and isinstance(vars(self).get(key), Module)

    def __len__(self) -> int:
        return sum(1 for _ in self.named_children())

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self.named_children())

    def keys(self) -> list[str]:
        return list(self)

    def values(self) -> list[Module]:
        return [module for _, module in self.named_children()]

    def items(self) -> list[tuple[str, Module]]:
        return list(self.named_children())

    def update(self, modules: Mapping[str, Module] | Sequence[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module


class LayerNorm(Module):
    """Each example normalized over its last axes (`normalized_shape`) to mean 0 and
    variance 1, then scaled by `weight` and shifted by `bias`, as torch.nn.LayerNorm. It uses
    no batch statistics, so training and evaluation compute the same thing."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        shape = (
            (normalized_shape,)
            if isinstance(normalized_shape, numbers.Integral)
            else tuple(normalized_shape)
        )
        for index, size in enumerate(shape):
            check_count("LayerNorm", f"normalized_shape[{index}]", size, 1)
        check_positive("LayerNorm", "eps", eps)
        check_flag("LayerNorm", "elementwise_affine", elementwise_affine)
        _check_float_dtype("LayerNorm", dtype)
        self.normalized_shape = tuple(int(size) for size in shape)
        self.eps = float(eps)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
        else:
            self.weight = self.bias = None

    def forward(self, x: Any) -> Tensor:
        x = F.tensor(x) if self.weight is None else F.data_like(x, self.weight, "LayerNorm")
        count = len(self.normalized_shape)
        if x.shape[x.ndim - count :] != self.normalized_shape:
            raise ValueError(
                f"LayerNorm: an input of shape {x.shape} does not end in normalized_shape "
                f"{self.normalized_shape}; build nn.LayerNorm(x.shape[-{count}:]) for this "
                "input, or reshape it so that its last axes are the ones to normalize"
            )
        axes = tuple(range(-count, 0))
        centred = x - x.mean(axis=axes, keepdims=True)
        normalized = centred / F.sqrt(x.var(axis=axes, keepdims=True) + self.eps)
        if self.weight is None:
            return normalized
        return normalized * self.weight + self.bias

    def extra_repr(self) -> str:
        affine = "" if self.weight is not None else ", elementwise_affine=False"
        return f"{self.normalized_shape}, eps={self.eps}{affine}"


class Embedding(Module):
    """A lookup table: row i of `weight` (num_embeddings, embedding_dim) is the vector of
    index i, drawn from N(0, 1) as in PyTorch. Looking up is indexing, `weight[indices]`,
    whose backward adds each lookup's gradient into its row, repeated indices included."""

    def __init__(
        self, num_embeddings: int, embedding_dim: int, rng: Seed = None, dtype: Any = np.float32
    ) -> None:
        check_count("Embedding", "num_embeddings", num_embeddings, 1)
        check_count("Embedding", "embedding_dim", embedding_dim, 1)
        _check_float_dtype("Embedding", dtype)
        generator = as_generator(rng, "Embedding", "rng")
        weight = generator.standard_normal((num_embeddings, embedding_dim))
        self.weight = Parameter(weight.astype(dtype))

    def forward(self, indices: Any) -> Tensor:
        array = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
        count = self.weight.shape[0]
        if array.dtype.kind not in "iu":
            raise TypeError(
                f"Embedding: indices must be integers (row numbers), got {array.dtype} values "
                f"of shape {array.shape}; convert them with .astype(np.int64)"
            )
        if array.size and (array.min() < 0 or array.max() >= count):
            raise IndexError(
                f"Embedding: indices must lie in 0..{count - 1} (num_embeddings={count}), got "
                f"values from {array.min()} to {array.max()}; build nn.Embedding with "
                "num_embeddings above the largest index"
            )
        return self.weight[array]

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"


class Recurrent(Module):
    """What RNN and LSTM share: weights named and shaped as PyTorch's (`weight_ih_l0` is
    (gates * hidden_size, input_size)), so a torch state_dict loads as it is, and the loop
    over time steps and layers. A subclass says how many gates it has and what one step
    of its cell computes from z = x_t W_ih^T + b_ih + h W_hh^T + b_hh."""

    gates: int = 1
    state_names: tuple[str, ...] = ("h0",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        rng: Seed = None,
        dtype: Any = np.float32,
    ) -> None:
        caller = type(self).__name__
        check_count(caller, "input_size", input_size, 1)
        check_count(caller, "hidden_size", hidden_size, 1)
        check_count(caller, "num_layers", num_layers, 1)
        check_flag(caller, "bias", bias)
        check_flag(caller, "batch_first", batch_first)
        _check_float_dtype(caller, dtype)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first = batch_first
        generator = as_generator(rng, caller, "rng")
        bound = 1.0 / math.sqrt(hidden_size)  # PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for all

        def uniform(*shape: int) -> Parameter:
            return Parameter(generator.uniform(-bound, bound, shape).astype(dtype))

        rows = self.gates * hidden_size
        for layer in range(num_layers):
            fan_in = input_size if layer == 0 else hidden_size
            setattr(self, f"weight_ih_l{layer}", uniform(rows, fan_in))
            setattr(self, f"weight_hh_l{layer}", uniform(rows, hidden_size))
            if bias:
                setattr(self, f"bias_ih_l{layer}", uniform(rows))
                setattr(self, f"bias_hh_l{layer}", uniform(rows))
        self.bias = bias

    def cell(self, z: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Any]:
        """Outputs (N, T, hidden_size) with batch_first, else (T, N, hidden_size): the last
        layer's h at every step; and the final state, each part (num_layers, N, hidden_size)."""
        x = F.data_like(x, self.weight_ih_l0, type(self).__name__)
        self.check_input(x)
        time_axis = 1 if self.batch_first else 0
        steps = [x[:, t] if self.batch_first else x[t] for t in range(x.shape[time_axis])]
        finals = []
        for layer, initial in enumerate(self.initial_states(state, x.shape[1 - time_axis])):
            w_ih = getattr(self, f"weight_ih_l{layer}").T  # transposed once, not per step
            w_hh = getattr(self, f"weight_hh_l{layer}").T
            bias = (
                getattr(self, f"bias_ih_l{layer}") + getattr(self, f"bias_hh_l{layer}")
                if self.bias
                else None
            )
            layer_state, outputs = initial, []
            for x_t in steps:
                inputs = x_t @ w_ih if bias is None else F.linear(x_t, w_ih, bias)
                layer_state = self.cell(inputs + layer_state[0] @ w_hh, layer_state)
                outputs.append(layer_state[0])
            steps = outputs
            finals.append(layer_state)
        final = tuple(F.stack(list(part), axis=0) for part in zip(*finals))
        return F.stack(steps, axis=time_axis), final if len(final) > 1 else final[0]

    def check_input(self, x: Tensor) -> None:
        layout = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
        caller = type(self).__name__
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(
                f"{caller}: the input must be {layout} with input_size={self.input_size}, got "
                f"shape {x.shape}; reshape it (one row of {self.input_size} features per time "
                f"step), or build {caller}({x.shape[-1]}, ...) for {x.shape[-1]} features"
            )
        if x.shape[1 if self.batch_first else 0] == 0:
            raise ValueError(f"{caller}: the input of shape {x.shape} has no time steps")

    def initial_states(self, state: Any, batch: int) -> list[tuple[Tensor, ...]]:
        """Each layer's starting state: zeros, or that layer's slice of the given state."""
        caller, names = type(self).__name__, self.state_names
        expected = (self.num_layers, batch, self.hidden_size)
        if state is None:
            zeros = Tensor.wrap(np.zeros(expected[1:], dtype=self.weight_ih_l0.dtype))
            return [(zeros,) * len(names)] * self.num_layers
        parts = (state,) if len(names) == 1 else tuple(state)
        if len(parts) != len(names):
            raise ValueError(
                f"{caller}: the state must be ({', '.join(names)}), got {len(parts)} parts"
            )
        parts = tuple(F.data_like(part, self.weight_ih_l0, caller) for part in parts)
        for name, part in zip(names, parts):
            if part.shape != expected:
                raise ValueError(
                    f"{caller}: {name} must have shape (num_layers, N, hidden_size) = "
                    f"{expected} for this input, got {part.shape}"
                )
        return [tuple(part[layer] for part in parts) for layer in range(self.num_layers)]

    def extra_repr(self) -> str:
        extras = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            extras.append(f"num_layers={self.num_layers}")
        if self.batch_first:
            extras.append("batch_first=True")
        return ", ".join(extras)


class RNN(Recurrent):
    """Elman's recurrent network: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
    (or relu), as torch.nn.RNN. Returns (outputs, h_n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        rng: Seed = None,
        dtype: Any = np.float32,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, rng, dtype)
        self.nonlinearity = nonlinearity

    def cell(self, z: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return (ACTIVATIONS[self.nonlinearity](z),)


class LSTM(Recurrent):
    """Long short-term memory, as torch.nn.LSTM: the gates z = [i, f, g, o] in PyTorch's
    order, c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g), h_t = sigmoid(o) * tanh(c_t).
    Returns (outputs, (h_n, c_n))."""

    gates = 4
    state_names = ("h0", "c0")

    def cell(self, z: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        size = self.hidden_size
        input_gate = F.sigmoid(z[:, :size])
        forget_gate = F.sigmoid(z[:, size : 2 * size])
        candidate = F.tanh(z[:, 2 * size : 3 * size])
        output_gate = F.sigmoid(z[:, 3 * size :])
        c = forget_gate * state[1] + input_gate * candidate
        return output_gate * F.tanh(c), c
