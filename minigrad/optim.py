"""Optimizers that update parameters in place from their `.grad`, and learning-rate schedules.

Every update is plain NumPy on `param.data`, outside the graph, so a step records nothing
and allocates little. Each rule is written as the formula it implements; the names and
defaults follow PyTorch, and the docstrings say where the book's versions differ.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
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
    "Optimizer",
    "RMSprop",
    "StepLR",
    "clip_grad_norm",
]

State = dict[str, Any]


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


class Optimizer:
    """Holds the parameters and one state dict per parameter; subclasses write `update`."""

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
                data, grad = param.data, param.grad.data
                if grad.shape != data.shape or not data.flags.writeable:
                    raise self._step_error(index, param, grad)
                updates.append((data, grad, state))
        for data, grad, state in updates:
            self.update(data, grad, state)

    def _step_error(self, index: int, param: Tensor, grad: np.ndarray) -> ValueError:
        """Why `param` cannot take a step with `grad` (the checks `step` makes)."""
        where = f"{type(self).__name__}.step: {_describe(index, param)}"
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


class SGD(Optimizer):
    """Stochastic gradient descent: param -= lr * g.

    With momentum: v = momentum * v + g, then step along v (Nesterov: along g + momentum * v).
    weight_decay adds weight_decay * param to g (L2 regularisation). The book's Momentum
    keeps v = momentum * v - lr * g instead: the same steps while lr is constant.
    """

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
        param -= self.lr * grad


class AdaGrad(Optimizer):
    """Per-weight learning rates that shrink with the gradients seen so far (the book's).

    h += g * g;  param -= lr * g / (sqrt(h) + eps)
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01, eps: float = 1e-7) -> None:
        super().__init__(params, lr)
        _check_eps("AdaGrad", eps)
        self.eps = eps

    def update(self, param, grad, state):
        if "sum_sq" not in state:
            state["sum_sq"] = np.zeros_like(param)
        sum_sq = state["sum_sq"]
        sum_sq += grad * grad
        denominator = np.sqrt(sum_sq)
        denominator += self.eps
        param -= self.lr * grad / denominator


class RMSprop(Optimizer):
    """AdaGrad with a forgetting average of squared gradients (the book's decay_rate is alpha).

    h = alpha * h + (1 - alpha) * g * g;  param -= lr * g / (sqrt(h) + eps)
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        check_range("RMSprop", "alpha", alpha, 0.0, 1.0)
        _check_eps("RMSprop", eps)
        self.alpha = alpha
        self.eps = eps

    def update(self, param, grad, state):
        if "mean_sq" not in state:
            state["mean_sq"] = np.zeros_like(param)
        mean_sq = state["mean_sq"]
        mean_sq *= self.alpha
        mean_sq += (1 - self.alpha) * grad * grad
        denominator = np.sqrt(mean_sq)
        denominator += self.eps
        param -= self.lr * grad / denominator


class Adam(Optimizer):
    """Momentum plus RMSprop, with bias correction for the zero-initialised averages.

    m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g * g   (t counts this param's steps)
    param -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)
    weight_decay adds weight_decay * param to g (L2; see AdamW for the decoupled form).
    """

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


class LRSchedule:
    """Sets `optimizer.lr` from the number of `step()` calls (per batch or per epoch)."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: optimizer must be a minigrad.optim optimizer, such as "
                f"SGD(model.parameters()), got {optimizer!r:.60}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        self.optimizer.lr = self.lr_at(self.steps)

    def lr_at(self, steps: int) -> float:
        raise NotImplementedError


class StepLR(LRSchedule):
    """Multiply the learning rate by `gamma` every `step_size` steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        check_count("StepLR", "step_size", step_size, 1)
        check_range("StepLR", "gamma", gamma, 0.0, math.inf)
        super().__init__(optimizer)
        self.step_size = step_size
        self.gamma = gamma

    def lr_at(self, steps: int) -> float:
        return self.base_lr * self.gamma ** (steps // self.step_size)


class CosineLR(LRSchedule):
    """Lower the learning rate along half a cosine, from its start to `min_lr` at
    `total_steps`, then hold it there."""

    def __init__(self, optimizer: Optimizer, total_steps: int, min_lr: float = 0.0) -> None:
        check_count("CosineLR", "total_steps", total_steps, 1)
        check_range("CosineLR", "min_lr", min_lr, 0.0, math.inf)
        super().__init__(optimizer)
        if min_lr > self.base_lr:
            raise ValueError(
                f"CosineLR: min_lr ({min_lr}) must be at most the optimizer's lr "
                f"({self.base_lr}): the schedule only lowers the rate"
            )
        self.total_steps = total_steps
        self.min_lr = min_lr

    def lr_at(self, steps: int) -> float:
        progress = min(steps, self.total_steps) / self.total_steps
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
