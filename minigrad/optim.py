"""Optimizers that update parameters in place from their `.grad`, and learning-rate schedules.

Every update is plain NumPy on `param.data`, outside the graph, so a step records nothing
and allocates little. Each rule is written as the formula it implements; the names and
defaults follow PyTorch, and the docstrings say where the book's versions differ.

`state_dict()` of an optimizer or schedule is a flat dict of NumPy arrays and numbers, so
`np.savez` stores it and `minigrad.files.read_npz` reads it back without pickle:

    type.Adam: 1                      the class, in the name (an .npz holds no text)
    lr, betas, eps, weight_decay      the constructor's options; a text option such as
                                      mode="min" is stored as the entry `mode.min: 1`
    shape.0, shape.1, ...             each parameter's shape
    state.0.m, state.0.step, ...      each parameter's state, if it has taken a step
    steps, base_lr, best, ...         a schedule's counters

`load_state_dict` restores all of it (options included, as in PyTorch), so the next step is
bit for bit the one the saved object would have taken, and refuses with a `StateError` a
state of another class, of other parameters, or with options the constructor refuses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from minigrad.checks import check_count, check_flag, check_number, check_positive, check_range
from minigrad.tensor import Tensor

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "AdamW",
    "CosineLR",
    "ExponentialLR",
    "LRSchedule",
    "OneCycleLR",
    "Optimizer",
    "RMSprop",
    "ReduceLROnPlateau",
    "StateError",
    "StepLR",
    "Warmup",
    "clip_grad_norm",
    "clip_grad_value",
]

State = dict[str, Any]  # one parameter's state, as `update` keeps it
StateDict = dict[str, Any]  # flat names to arrays and numbers (see the module docstring)
COUNTS = ("step",)  # per-parameter state entries that are whole numbers, not arrays


def _describe(index: int, param: Any) -> str:
    """A parameter as messages name it: `parameter 1 (layers.0.bias)`, or its repr if unnamed."""
    return f"parameter {index} ({getattr(param, 'name', None) or repr(param)[:60]})"


def _parameter_list(caller: str, params: Iterable[Tensor]) -> list[Tensor]:
    """`params` as a list, after checking that it holds each trainable leaf Tensor once."""
    if isinstance(params, Tensor) or hasattr(params, "parameters"):
        raise TypeError(
            f"{caller}: params must be a list of parameters, got one {type(params).__name__}; "
            "pass model.parameters() or [param]"
        )
    if not isinstance(params, Iterable):
        raise TypeError(
            f"{caller}: params must be an iterable of parameters such as model.parameters(), "
            f"got {params!r:.60}"
        )
    params = list(params)
    first_index: dict[int, int] = {}
    for index, param in enumerate(params):
        if not (isinstance(param, Tensor) and param.requires_grad and param.is_leaf):
            raise TypeError(
                f"{caller}: {_describe(index, param)} must be a leaf Tensor with "
                "requires_grad=True, such as model.parameters()"
            )
        first = first_index.setdefault(id(param), index)
        if first != index:
            # Listed twice, it would be stepped (or counted in the norm) twice.
            raise ValueError(
                f"{caller}: {_describe(index, param)} is parameter {first} again; "
                "pass each parameter once (model.parameters() lists shared ones once)"
            )
    return params


def _check_eps(caller: str, eps: Any) -> None:
    """eps keeps a division by sqrt(h) finite: with eps = 0, a zero gradient gives 0 / 0 = NaN."""
    check_positive(caller, "eps", eps)


class StateError(ValueError):
    """A state_dict that does not fit the optimizer or schedule it is loaded into; the
    message names the entry, what it holds, what was expected and what to do."""


class Stateful:
    """What `state_dict` and `load_state_dict` share: the class name, the constructor's
    `options` (keyword names, kept as attributes of the same names) and what changes as the
    object steps: `counts` (whole numbers) and `numbers`."""

    options: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()

    def state_dict(self) -> StateDict:
        """Everything the next step depends on, as flat names to arrays and numbers."""
        state: StateDict = {f"type.{type(self).__name__}": 1}
        for name in self.options + self.counts + self.numbers:
            state.update(_encode(name, getattr(self, name)))
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned (or `read_npz` of the file it was saved to).

        Nothing is changed unless all of it fits; otherwise `StateError` says what does not.
        """
        caller = f"{type(self).__name__}.load_state_dict"
        entries = _entries(caller, self, state)
        options = {
            name: _take_option(caller, entries, name, getattr(self, name)) for name in self.options
        }
        progress = _take_progress(caller, entries, self.counts, self.numbers)
        try:
            # The constructor is where options are checked: one built from the saved options
            # refuses exactly what it would refuse from a caller.
            checked = self._rebuilt(options, progress)
        except (TypeError, ValueError) as error:
            raise StateError(f"{caller}: the saved options are refused: {error}") from error
        extra = self._take_extra(caller, checked, entries)
        if entries:
            raise StateError(
                f"{caller}: unexpected entries {', '.join(sorted(entries))}; pass the "
                f"state_dict() of a {type(self).__name__} as it was returned"
            )
        for name in self.options:
            setattr(self, name, getattr(checked, name))
        for name, value in {**progress, **extra}.items():
            setattr(self, name, value)

    def _rebuilt(self, options: dict[str, Any], progress: dict[str, Any]) -> Stateful:
        """A new object of this class from saved options, leaving this one untouched."""
        raise NotImplementedError

    def _take_extra(self, caller: str, checked: Any, entries: dict[str, Any]) -> dict[str, Any]:
        """Check and take out of `entries` what the options and counters leave (an
        optimizer's per-parameter state); return the attributes to set from it."""
        return {}


def _encode(name: str, value: Any) -> StateDict:
    if isinstance(value, str):
        return {f"{name}.{value}": 1}  # an .npz holds numbers only: the text goes in the name
    if isinstance(value, tuple):
        return {name: np.array(value)}
    return {name: value}


def _scalar(value: Any) -> Any:
    """A 0-d array (as `read_npz` gives back a saved number) as the Python number it holds."""
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value.item()
    return value


def _entries(caller: str, target: Stateful, state: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `state` without its `type.<class>` entry, once that names `target`'s class."""
    if not isinstance(state, Mapping):
        raise TypeError(
            f"{caller}: state must be a dict such as state_dict() returns, got {state!r:.60}"
        )
    entries = dict(state)
    expected = type(target).__name__
    kinds = [key.removeprefix("type.") for key in entries if key.startswith("type.")]
    if kinds == [expected]:
        del entries[f"type.{expected}"]
        return entries
    if not kinds:
        problem = "has no type.<class> entry, so it is no optimizer's or schedule's state_dict()"
    else:
        problem = f"comes from optim.{' and '.join(kinds)}, not optim.{expected}"
    raise StateError(
        f"{caller}: the state {problem}; load a state into the class that saved it, built "
        "with the same parameters"
    )


def _take_option(caller: str, entries: dict[str, Any], name: str, current: Any) -> Any:
    """Take option `name` out of `entries`, in the kind of its `current` value."""
    if isinstance(current, str):
        keys = [key for key in entries if key.startswith(f"{name}.")]
        if len(keys) == 1:
            entries.pop(keys[0])
            return keys[0].removeprefix(f"{name}.")
        raise StateError(
            f"{caller}: the state needs one {name}.<choice> entry, got "
            f"{', '.join(keys) or 'none'}; pass a whole state_dict()"
        )
    if name not in entries:
        raise StateError(f"{caller}: the state has no {name!r} entry; pass a whole state_dict()")
    value = entries.pop(name)
    if isinstance(current, tuple) and np.ndim(value) == 1:
        return tuple(np.asarray(value).tolist())
    return _scalar(value)


def _take_progress(
    caller: str, entries: dict[str, Any], counts: tuple[str, ...], numbers: tuple[str, ...]
) -> dict[str, Any]:
    progress = {}
    for name in counts + numbers:
        if name not in entries:
            raise StateError(
                f"{caller}: the state has no {name!r} entry; pass a whole state_dict()"
            )
        value = _scalar(entries.pop(name))
        if name in counts:
            _check_saved(check_count, caller, name, value, 0)
        else:
            _check_saved(check_number, caller, name, value)
        progress[name] = value
    return progress


def _check_saved(check: Callable[..., None], caller: str, name: str, *args: Any) -> None:
    """Run a `minigrad.checks` check on a saved value, raising its message as a StateError."""
    try:
        check(caller, name, *args)
    except (TypeError, ValueError) as error:
        raise StateError(f"{error} (in the state)") from error


class Optimizer(Stateful):
    """Holds the parameters and one state dict per parameter; subclasses write `update`
    and name their constructor's options and what a stepped parameter's state holds."""

    options = ("lr",)

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        caller = type(self).__name__
        self.params = _parameter_list(caller, params)
        if not self.params:
            raise ValueError(f"{caller}: got no parameters to optimize")
        check_range(caller, "lr", lr, 0.0, math.inf)
        self.lr = lr
        self.state: list[State] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget the gradients (None, so the next backward stores fresh arrays)."""
        for param in self.params:
            param.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient.

        Every parameter is checked before any is changed, so a refused step changes nothing.
        """
        updates = []
        for index, (param, state) in enumerate(zip(self.params, self.state)):
            if param.grad is not None:
                # .grad set by hand may be an array (an ndarray's .data is a memoryview)
                grad = param.grad.data if isinstance(param.grad, Tensor) else np.asarray(param.grad)
                data = param.data
                if (
                    grad.shape != data.shape
                    or grad.dtype.kind not in "fiu"
                    or not data.flags.writeable
                ):
                    raise self._step_error(index, param, grad)
                updates.append((data, grad, state))
        for data, grad, state in updates:
            self.update(data, grad, state)

    def _step_error(self, index: int, param: Tensor, grad: np.ndarray) -> ValueError | TypeError:
        """Why `param` cannot take a step with `grad` (the checks `step` makes)."""
        where = f"{type(self).__name__}.step: {_describe(index, param)}"
        if grad.dtype.kind not in "fiu":
            return TypeError(
                f"{where} has a gradient of dtype {grad.dtype}, which is not numbers; "
                "set .grad by backward(), or to a float array of the parameter's shape"
            )
        if grad.shape != param.data.shape:
            # NumPy would broadcast a (1,) gradient over a (3,) parameter without a word.
            return ValueError(
                f"{where} has shape {param.data.shape} but its gradient has shape {grad.shape}; "
                "a gradient must have its parameter's shape (set .grad by backward(), or to "
                f"an array of shape {param.data.shape})"
            )
        return ValueError(
            f"{where} is read-only (its .data array is not writeable), so it cannot be updated "
            "in place; give it a writeable copy first: param.data = param.data.copy()"
        )

    def update(self, param: np.ndarray, grad: np.ndarray, state: State) -> None:
        """Change `param` in place; never write into `grad` (it may be shared)."""
        raise NotImplementedError

    def state_names(self) -> tuple[str, ...]:
        """What `update` keeps in the state of a parameter it has stepped, with these options."""
        return ()

    # ----- saving and restoring -------------------------------------------------------------
    def state_dict(self) -> StateDict:
        """The options, then each parameter's shape and state (copies), as flat names."""
        state = super().state_dict()
        for index, (param, param_state) in enumerate(zip(self.params, self.state)):
            state[f"shape.{index}"] = np.array(param.shape, dtype=np.int64)
            for name, value in param_state.items():
                saved = value.copy() if isinstance(value, np.ndarray) else value
                state[f"state.{index}.{name}"] = saved
        return state

    def _rebuilt(self, options: dict[str, Any], progress: dict[str, Any]) -> Optimizer:
        return type(self)(self.params, **options)

    def _take_extra(
        self, caller: str, checked: Optimizer, entries: dict[str, Any]
    ) -> dict[str, Any]:
        shapes = {key: entries.pop(key) for key in list(entries) if key.startswith("shape.")}
        if set(shapes) != {f"shape.{index}" for index in range(len(self.params))}:
            raise StateError(
                f"{caller}: the state is of {len(shapes)} parameters, this optimizer has "
                f"{len(self.params)}; load it into an optimizer of the same model's parameters"
            )
        names = checked.state_names()
        states = [
            _take_param_state(caller, index, param, shapes[f"shape.{index}"], names, entries)
            for index, param in enumerate(self.params)
        ]
        return {"state": states}


def _take_param_state(
    caller: str,
    index: int,
    param: Tensor,
    saved_shape: Any,
    names: tuple[str, ...],
    entries: dict[str, Any],
) -> State:
    """Parameter `index`'s state taken out of `entries`, checked against `param`, as copies."""
    saved_shape = tuple(np.asarray(saved_shape).tolist())
    if saved_shape != param.shape:
        raise StateError(
            f"{caller}: {_describe(index, param)} has shape {param.shape}, but the state's "
            f"parameter {index} had shape {saved_shape}; load it into an optimizer of the same "
            "model's parameters, in the same order"
        )
    prefix = f"state.{index}."
    saved = {
        key.removeprefix(prefix): entries.pop(key)
        for key in list(entries)
        if key.startswith(prefix)
    }
    if saved and set(saved) != set(names):
        raise StateError(
            f"{caller}: state.{index} holds {', '.join(sorted(saved))}, but with these options "
            f"the optimizer keeps {', '.join(names) or 'nothing'} per parameter"
        )
    state: State = {}
    for name, value in saved.items():
        where = f"state.{index}.{name}"
        if name in COUNTS:
            state[name] = _scalar(value)
            _check_saved(check_count, caller, where, state[name], 1)
            continue
        array = np.asarray(value)
        if array.shape != param.shape or array.dtype.kind != "f":
            raise StateError(
                f"{caller}: {where} holds {array.dtype} values of shape {array.shape}; "
                f"{_describe(index, param)} needs floats of shape {param.shape}"
            )
        state[name] = array.astype(param.dtype)  # a copy: steps update it in place
    return state


# `param -= lr * grad` on a large weight writes a temporary as large as the weight and reads
# it back: twice the memory traffic of one pass. Done a slice at a time, the temporary stays
# in cache; 128 KB slices were fastest here (a 784x1024 float32 weight: 0.71 ms -> 0.31 ms,
# PyTorch's fused `add_` 0.33 ms). Below about 768 KB the whole temporary stays in cache
# anyway, and one pass is faster (784x100: 15 us, against 20 us in slices). The result is the
# same, bit for bit.
UPDATE_SLICE = 32768  # elements
SLICED_FROM = 6 * UPDATE_SLICE  # elements


def subtract_scaled(param: np.ndarray, scale: float, grad: np.ndarray) -> None:
    """param -= scale * grad, in place (`step` has checked that the shapes are equal)."""
    if param.size < SLICED_FROM or not (param.flags.c_contiguous and grad.flags.c_contiguous):
        param -= scale * grad
        return
    flat_param, flat_grad = param.reshape(-1), grad.reshape(-1)
    scratch = np.empty(UPDATE_SLICE, np.result_type(grad, scale))
    for start in range(0, flat_param.size, UPDATE_SLICE):
        part = flat_grad[start : start + UPDATE_SLICE]
        flat_param[start : start + UPDATE_SLICE] -= np.multiply(
            part, scale, out=scratch[: part.size]
        )


class SGD(Optimizer):
    """Stochastic gradient descent: param -= lr * g.

    With momentum: v = momentum * v + g, then step along v (Nesterov: along g + momentum * v).
    weight_decay adds weight_decay * param to g (L2 regularisation). The book's Momentum
    keeps v = momentum * v - lr * g instead: the same steps while lr is constant.
    """

    options = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        check_range("SGD", "momentum", momentum, 0.0, 1.0)
        check_flag("SGD", "nesterov", nesterov)
        check_range("SGD", "weight_decay", weight_decay, 0.0, math.inf)
        if nesterov and momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay

    def update(self, param, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            if "velocity" not in state:
                state["velocity"] = grad.copy()
            else:
                state["velocity"] *= self.momentum
                state["velocity"] += grad
            velocity = state["velocity"]
            grad = grad + self.momentum * velocity if self.nesterov else velocity
        subtract_scaled(param, self.lr, grad)

    def state_names(self):
        return ("velocity",) if self.momentum else ()


class AdaGrad(Optimizer):
    """Per-weight learning rates that shrink with the gradients seen so far (the book's).

    h += g * g;  param -= lr * g / (sqrt(h) + eps)
    weight_decay adds weight_decay * param to g first (L2, as PyTorch's Adagrad). eps
    defaults to the book's 1e-7 (PyTorch: 1e-10).
    """

    options = ("lr", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        eps: float = 1e-7,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        _check_eps("AdaGrad", eps)
        check_range("AdaGrad", "weight_decay", weight_decay, 0.0, math.inf)
        self.eps = eps
        self.weight_decay = weight_decay

    def update(self, param, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if "sum_sq" not in state:
            state["sum_sq"] = np.zeros_like(param)
        sum_sq = state["sum_sq"]
        sum_sq += grad * grad
        denominator = np.sqrt(sum_sq)
        denominator += self.eps
        param -= self.lr * grad / denominator

    def state_names(self):
        return ("sum_sq",)


class RMSprop(Optimizer):
    """AdaGrad with a forgetting average of squared gradients (the book's decay_rate is alpha).

    h = alpha * h + (1 - alpha) * g * g;  param -= lr * g / (sqrt(h) + eps)
    With momentum (PyTorch's): v = momentum * v + g / (sqrt(h) + eps), then param -= lr * v.
    weight_decay adds weight_decay * param to g first (L2).
    """

    options = ("lr", "alpha", "eps", "weight_decay", "momentum")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        check_range("RMSprop", "alpha", alpha, 0.0, 1.0)
        _check_eps("RMSprop", eps)
        check_range("RMSprop", "weight_decay", weight_decay, 0.0, math.inf)
        check_range("RMSprop", "momentum", momentum, 0.0, 1.0)
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum

    def update(self, param, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if "mean_sq" not in state:
            state["mean_sq"] = np.zeros_like(param)
        mean_sq = state["mean_sq"]
        mean_sq *= self.alpha
        mean_sq += (1 - self.alpha) * grad * grad
        denominator = np.sqrt(mean_sq)
        denominator += self.eps
        if not self.momentum:
            param -= self.lr * grad / denominator
            return
        if "velocity" not in state:
            state["velocity"] = np.zeros_like(param)
        velocity = state["velocity"]
        velocity *= self.momentum
        velocity += grad / denominator
        subtract_scaled(param, self.lr, velocity)

    def state_names(self):
        return ("mean_sq", "velocity") if self.momentum else ("mean_sq",)


class Adam(Optimizer):
    """Momentum plus RMSprop, with bias correction for the zero-initialised averages.

    m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g * g   (t counts this param's steps)
    param -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)
    weight_decay adds weight_decay * param to g (L2; see AdamW for the decoupled form).
    """

    options = ("lr", "betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        caller = type(self).__name__
        if isinstance(betas, str) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise TypeError(
                f"{caller}: betas must be a pair (beta1, beta2) such as (0.9, 0.999), "
                f"got {betas!r:.60}"
            )
        check_range(caller, "betas[0]", betas[0], 0.0, 1.0)
        check_range(caller, "betas[1]", betas[1], 0.0, 1.0)
        _check_eps(caller, eps)
        check_range(caller, "weight_decay", weight_decay, 0.0, math.inf)
        self.betas = tuple(betas)
        self.eps = eps
        self.weight_decay = weight_decay

    def update(self, param, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        self.adam_step(param, grad, state)

    def adam_step(self, param: np.ndarray, grad: np.ndarray, state: State) -> None:
        beta1, beta2 = self.betas
        if "step" not in state:
            state.update(step=0, m=np.zeros_like(param), v=np.zeros_like(param))
        state["step"] += 1
        m, v, step = state["m"], state["v"], state["step"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        denominator = np.sqrt(v)
        denominator /= math.sqrt(1 - beta2**step)
        denominator += self.eps
        param -= (self.lr / (1 - beta1**step)) * m / denominator

    def state_names(self):
        return ("step", "m", "v")


class AdamW(Adam):
    """Adam with decoupled weight decay: param -= lr * weight_decay * param, then Adam's step.

    Unlike L2 in Adam, the decay is not divided by sqrt(v), so every weight shrinks alike.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
        if lr * weight_decay >= 1:
            raise ValueError(
                f"AdamW: lr * weight_decay must be below 1, got {lr} * {weight_decay}: each step "
                "multiplies the weights by 1 - lr * weight_decay, which would zero or flip them"
            )

    def update(self, param, grad, state):
        if self.weight_decay:
            param *= 1 - self.lr * self.weight_decay
        self.adam_step(param, grad, state)


def clip_grad_norm(params: Iterable[Tensor], max_norm: float) -> float:
    """Scale all gradients together so their global L2 norm is at most `max_norm`.

    Returns the norm before clipping. Gradients are replaced, not scaled in place, since
    two parameters may share one gradient array.
    """
    check_number("clip_grad_norm", "max_norm", max_norm)
    if not max_norm > 0:
        raise ValueError(
            f"clip_grad_norm: max_norm must be > 0 (inf only measures the norm), got {max_norm}"
        )
    params = _parameter_list("clip_grad_norm", params)
    with_grad = [param for param in params if param.grad is not None]
    total = math.sqrt(sum(float(np.vdot(p.grad.data, p.grad.data)) for p in with_grad))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for param in with_grad:
            param.grad = Tensor.wrap(param.grad.data * np.asarray(scale, param.grad.dtype))
    return total


def clip_grad_value(params: Iterable[Tensor], value: float) -> None:
    """Clip every gradient element into [-value, value] (PyTorch's `clip_grad_value_`).

    Gradients are replaced, not clipped in place, since two parameters may share one array.
    """
    check_positive("clip_grad_value", "value", value)
    for param in _parameter_list("clip_grad_value", params):
        if param.grad is not None:
            grad = param.grad.data
            bound = np.asarray(value, grad.dtype)  # a float64 bound would make a float64 copy
            param.grad = Tensor.wrap(np.clip(grad, -bound, bound))


def _check_optimizer(caller: str, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{caller}: optimizer must be a minigrad.optim optimizer, such as "
            f"SGD(model.parameters()), got {optimizer!r:.60}"
        )


def _stand_in(lr: float) -> Optimizer:
    """An optimizer of one parameter at `lr`: a schedule rebuilt from saved options drives it,
    since building a schedule sets its optimizer's lr."""
    return SGD([Tensor(np.zeros(1), requires_grad=True)], lr=lr)


class LRSchedule(Stateful):
    """Sets `optimizer.lr` from the number of `step()` calls (per batch or per epoch).

    Building one sets the lr of the first step. With `warmup_steps`, the rate rises by equal
    steps from base_lr / (warmup_steps + 1) to the optimizer's lr (base_lr) at step
    `warmup_steps` (PyTorch's LinearLR with start_factor 1 / (warmup_steps + 1)); the
    schedule's own course (`decayed_lr`) starts there.
    """

    counts = ("steps",)
    numbers = ("base_lr",)

    def __init__(self, optimizer: Optimizer, warmup_steps: int = 0) -> None:
        caller = type(self).__name__
        _check_optimizer(caller, optimizer)
        check_count(caller, "warmup_steps", warmup_steps, 0)
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.warmup_steps = int(warmup_steps)
        self.steps = 0
        self.check_fit()
        optimizer.lr = self.lr_at(0)

    def step(self) -> None:
        self.steps += 1
        self.optimizer.lr = self.lr_at(self.steps)

    def lr_at(self, steps: int) -> float:
        """The rate after `steps` calls of `step()`."""
        if steps < self.warmup_steps:
            return self.base_lr * (steps + 1) / (self.warmup_steps + 1)
        return self.decayed_lr(steps - self.warmup_steps)

    def decayed_lr(self, steps: int) -> float:
        """The rate `steps` steps after the warmup."""
        raise NotImplementedError

    def check_fit(self) -> None:
        """Refuse options that do not fit the optimizer's lr or the warmup (subclasses)."""

    def _rebuilt(self, options: dict[str, Any], progress: dict[str, Any]) -> LRSchedule:
        return type(self)(_stand_in(progress["base_lr"]), **options)


class Warmup(LRSchedule):
    """A linear warmup over `warmup_steps` steps (see LRSchedule), then the optimizer's lr."""

    options = ("warmup_steps",)

    def __init__(self, optimizer: Optimizer, warmup_steps: int) -> None:
        check_count("Warmup", "warmup_steps", warmup_steps, 1)
        super().__init__(optimizer, warmup_steps)

    def decayed_lr(self, steps: int) -> float:
        return self.base_lr


class StepLR(LRSchedule):
    """Multiply the learning rate by `gamma` every `step_size` steps."""

    options = ("step_size", "gamma", "warmup_steps")

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, warmup_steps: int = 0
    ) -> None:
        check_count("StepLR", "step_size", step_size, 1)
        check_range("StepLR", "gamma", gamma, 0.0, math.inf)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, warmup_steps)

    def decayed_lr(self, steps: int) -> float:
        return self.base_lr * self.gamma ** (steps // self.step_size)


class ExponentialLR(LRSchedule):
    """Multiply the learning rate by `gamma` every step: base_lr * gamma**steps."""

    options = ("gamma", "warmup_steps")

    def __init__(self, optimizer: Optimizer, gamma: float, warmup_steps: int = 0) -> None:
        check_range("ExponentialLR", "gamma", gamma, 0.0, math.inf)
        self.gamma = gamma
        super().__init__(optimizer, warmup_steps)

    def decayed_lr(self, steps: int) -> float:
        return self.base_lr * self.gamma**steps


class CosineLR(LRSchedule):
    """Lower the learning rate along half a cosine, from its start to `min_lr` at
    `total_steps` (counted from the first step, warmup included), then hold it there."""

    options = ("total_steps", "min_lr", "warmup_steps")

    def __init__(
        self,
        optimizer: Optimizer,
        total_steps: int,
        min_lr: float = 0.0,
        warmup_steps: int = 0,
    ) -> None:
        check_count("CosineLR", "total_steps", total_steps, 1)
        check_range("CosineLR", "min_lr", min_lr, 0.0, math.inf)
        self.total_steps = total_steps
        self.min_lr = min_lr
        super().__init__(optimizer, warmup_steps)

    def check_fit(self) -> None:
        if self.min_lr > self.base_lr:
            raise ValueError(
                f"CosineLR: min_lr ({self.min_lr}) must be at most the optimizer's lr "
                f"({self.base_lr}): the schedule only lowers the rate"
            )
        if self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"CosineLR: warmup_steps ({self.warmup_steps}) must be below total_steps "
                f"({self.total_steps}), which count the warmup too"
            )

    def decayed_lr(self, steps: int) -> float:
        length = self.total_steps - self.warmup_steps
        progress = min(steps, length) / length
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def _cosine_between(start: float, end: float, progress: float) -> float:
    """From `start` (progress 0) to `end` (progress 1) along half a cosine."""
    return end + (start - end) / 2 * (math.cos(math.pi * progress) + 1)


class OneCycleLR(LRSchedule):
    """Smith's one cycle, as PyTorch's OneCycleLR with cycle_momentum=False: the rate rises
    along half a cosine from max_lr / div_factor to `max_lr` at step pct_start * total_steps
    - 1, then falls to max_lr / (div_factor * final_div_factor) at step total_steps - 1, and
    stays there (PyTorch raises past total_steps). The optimizer's own lr is not used.
    """

    options = ("max_lr", "total_steps", "pct_start", "div_factor", "final_div_factor")

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        caller = "OneCycleLR"
        check_positive(caller, "max_lr", max_lr)
        check_count(caller, "total_steps", total_steps, 2)
        check_range(caller, "pct_start", pct_start, 0.0, 1.0)
        check_positive(caller, "div_factor", div_factor)
        check_positive(caller, "final_div_factor", final_div_factor)
        if not pct_start * total_steps > 1:
            raise ValueError(
                f"OneCycleLR: pct_start * total_steps must be above 1 (the rise needs more "
                f"than one step), got {pct_start} * {total_steps}; raise pct_start or total_steps"
            )
        self.max_lr = max_lr
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        super().__init__(optimizer)

    def decayed_lr(self, steps: int) -> float:
        initial = self.max_lr / self.div_factor
        peak = self.pct_start * self.total_steps - 1  # PyTorch's: the step at max_lr
        if steps <= peak:
            return _cosine_between(initial, self.max_lr, steps / peak)
        progress = min(1.0, (steps - peak) / (self.total_steps - 1 - peak))
        return _cosine_between(self.max_lr, initial / self.final_div_factor, progress)


class ReduceLROnPlateau(Stateful):
    """Divide the learning rate by 1 / `factor` once a metric has not improved for more than
    `patience` calls of `step(metric)` (PyTorch's, call for call).

    Improving means beating the best so far by `threshold`: relative (best * (1 - threshold)
    for mode "min", best * (1 + threshold) for "max") or absolute with threshold_mode="abs".
    After a reduction, `cooldown` calls pass before bad ones count again. The rate never
    goes below `min_lr`, and a change smaller than `eps` is skipped.
    """

    options = (
        "mode",
        "factor",
        "patience",
        "threshold",
        "threshold_mode",
        "cooldown",
        "min_lr",
        "eps",
    )
    counts = ("steps", "bad_steps", "cooldown_left")
    numbers = ("best",)

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        caller = "ReduceLROnPlateau"
        _check_optimizer(caller, optimizer)
        _check_choice(caller, "mode", mode, ("min", "max"))
        check_range(caller, "factor", factor, 0.0, 1.0)
        check_count(caller, "patience", patience, 0)
        check_range(caller, "threshold", threshold, 0.0, math.inf)
        _check_choice(caller, "threshold_mode", threshold_mode, ("rel", "abs"))
        check_count(caller, "cooldown", cooldown, 0)
        check_range(caller, "min_lr", min_lr, 0.0, math.inf)
        check_range(caller, "eps", eps, 0.0, math.inf)
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor, self.threshold, self.min_lr, self.eps = factor, threshold, min_lr, eps
        self.patience, self.cooldown = patience, cooldown
        self.best = math.inf if mode == "min" else -math.inf
        self.steps = self.bad_steps = self.cooldown_left = 0

    def step(self, metric: float) -> None:
        """Count one more measurement of the metric (a validation loss, say), once per epoch."""
        check_number("ReduceLROnPlateau.step", "metric", metric)
        self.steps += 1
        if self.improves(metric):
            self.best = float(metric)
            self.bad_steps = 0
        else:
            self.bad_steps += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_steps = 0
        if self.bad_steps > self.patience:
            lowered = max(self.optimizer.lr * self.factor, self.min_lr)
            if self.optimizer.lr - lowered > self.eps:
                self.optimizer.lr = lowered
            self.cooldown_left = self.cooldown
            self.bad_steps = 0

    def improves(self, metric: float) -> bool:
        """Whether `metric` beats the best so far by the threshold (PyTorch's test, which for
        a relative threshold scales the best as it is, even when it is negative)."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return metric < self.best * (1 - self.threshold)
            return metric < self.best - self.threshold
        if self.threshold_mode == "rel":
            return metric > self.best * (1 + self.threshold)
        return metric > self.best + self.threshold

    def _rebuilt(self, options: dict[str, Any], progress: dict[str, Any]) -> ReduceLROnPlateau:
        return type(self)(_stand_in(self.optimizer.lr), **options)


def _check_choice(caller: str, name: str, value: Any, choices: tuple[str, ...]) -> None:
    if not (isinstance(value, str) and value in choices):
        raise ValueError(
            f"{caller}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r:.60}"
        )
