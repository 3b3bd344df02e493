"""The functional form of differentiation: `grad(f)` and `value_and_grad(f)`, as in JAX."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from minigrad.tensor import Tensor, gradients, is_grad_enabled


def value_and_grad(
    f: Callable[..., Tensor], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[Tensor, Any]]:
    """Wrap scalar-valued `f` to return (f(*args), df/d args[argnums]).

    The gradient is recorded (create_graph) whenever grad mode is on, so `grad(grad(f))`
    gives second derivatives. Nothing is written into any `.grad`.
    """
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    @functools.wraps(f)
    def wrapped(*args: Any) -> tuple[Tensor, Any]:
        args = list(args)
        leaves = []
        for position in positions:
            arg = args[position]
            # A tensor that already requires grad is used as is, so grad(grad(f)) nests,
            # also through a computed argument such as grad(f)(2 * x).
            if not (isinstance(arg, Tensor) and arg.requires_grad):
                arg = Tensor(arg, requires_grad=True)
            args[position] = arg
            leaves.append(arg)
        value = f(*args)
        if not isinstance(value, Tensor) or value.size != 1:
            raise ValueError(
                f"grad: {getattr(f, '__name__', 'f')} must return a scalar Tensor, got "
                f"{getattr(value, 'shape', type(value).__name__)}"
            )
        found = _grads_of(value, leaves)
        return value, found[0] if isinstance(argnums, int) else found

    return wrapped


def _grads_of(value: Tensor, leaves: list[Tensor]) -> tuple[Tensor, ...]:
    """Gradients for every argument; zeros where `value` does not depend on one."""
    found = (
        gradients(value, leaves, create_graph=is_grad_enabled())
        if value.requires_grad
        else [None] * len(leaves)
    )
    return tuple(
        g if g is not None else Tensor.wrap(leaf.data * 0) for g, leaf in zip(found, leaves)
    )


def grad(f: Callable[..., Tensor], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Wrap scalar-valued `f` to return its gradient with respect to args[argnums]."""
    with_value = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapped(*args: Any) -> Any:
        return with_value(*args)[1]

    return wrapped
