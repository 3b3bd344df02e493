"""Functional transforms, as in JAX and torch.func: `grad`, `value_and_grad`, `vjp`,
`jvp`, `jacobian`, `hessian` and `hvp`, each with `argnums` where it takes several
arguments, all built on the one backward executor (`gradients`).

Whenever grad mode is on, the gradients they return are recorded (create_graph), so they
nest: `grad(grad(f))`, `jacobian(grad(f))`. Nothing is written into any `.grad`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad import functional as F
from minigrad.autograd import gradients
from minigrad.grad_mode import is_grad_enabled
from minigrad.ops.base import is_whole
from minigrad.tensor import Tensor


def value_and_grad(
    f: Callable[..., Tensor], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[Tensor, Any]]:
    """Wrap scalar-valued `f` to return (f(*args), df/d args[argnums]).

    The gradient is recorded (create_graph) whenever grad mode is on, so `grad(grad(f))`
    gives second derivatives. Nothing is written into any `.grad`.
    """
    positions = argument_positions("grad", argnums)

    @functools.wraps(f)
    def wrapped(*args: Any) -> tuple[Tensor, Any]:
        args, leaves = _as_leaves("grad", f, args, positions, argnums)
        value = f(*args)
        if not isinstance(value, Tensor) or value.size != 1:
            raise ValueError(
                f"grad: {getattr(f, '__name__', 'f')} must return a scalar Tensor, got "
                f"{getattr(value, 'shape', type(value).__name__)}"
            )
        found = _grads_of(value, leaves)
        return value, found[0] if isinstance(argnums, int) else found

    return wrapped


def argument_positions(caller: str, argnums: Any) -> tuple[int, ...]:
    """argnums as a tuple of positions: an int or a sequence of ints, never a bool (True
    would mean argument 1), a float or a string."""
    many = isinstance(argnums, (tuple, list))
    if not all(is_whole(number) for number in (argnums if many else (argnums,))):
        raise TypeError(
            f"{caller}: argnums must be an int or a tuple of ints counting from 0, "
            f"got {argnums!r:.40}"
        )
    return tuple(int(number) for number in argnums) if many else (int(argnums),)


def _as_leaves(
    caller: str, f: Callable, args: Sequence[Any], positions: Sequence[int], argnums: Any
) -> tuple[list[Any], list[Tensor]]:
    """The arguments with those at `positions` made leaves that require grad.

    A tensor that already requires grad is used as is, so transforms nest (grad(grad(f))),
    also through a computed argument such as grad(f)(2 * x).
    """
    args = list(args)
    leaves = []
    for position in positions:
        if not -len(args) <= position < len(args):
            raise IndexError(
                f"{caller}: argnums {argnums} asks for argument {position} of "
                f"{getattr(f, '__name__', 'f')}, which was called with {len(args)} "
                "argument(s); argnums counts from 0"
            )
        arg = args[position]
        if not (isinstance(arg, Tensor) and arg.requires_grad):
            arg = Tensor(arg, requires_grad=True)
        args[position] = arg
        leaves.append(arg)
    return args, leaves


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


def _zeros_like(tensor: Tensor) -> Tensor:
    return Tensor.wrap(np.zeros(tensor.shape, tensor.dtype))


def _pullback(out: Tensor, leaves: list[Tensor], cotangent: Any) -> tuple[Tensor, ...]:
    """d(out . cotangent)/d leaves, zeros where out does not depend on a leaf."""
    if not out.requires_grad:
        return tuple(_zeros_like(leaf) for leaf in leaves)
    found = gradients(
        out, leaves, grad=cotangent, retain_graph=True, create_graph=is_grad_enabled()
    )
    return tuple(_zeros_like(leaf) if g is None else g for g, leaf in zip(found, leaves))


def vjp(f: Callable[..., Tensor], *primals: Any) -> tuple[Tensor, Callable[[Any], tuple]]:
    """(f(*primals), vjp_fn): vjp_fn(v) is v^T J for each primal, as torch.func.vjp."""
    args, leaves = _as_leaves("vjp", f, primals, range(len(primals)), None)
    out = f(*args)

    def vjp_fn(cotangent: Any) -> tuple[Tensor, ...]:
        return _pullback(out, leaves, cotangent)

    return out, vjp_fn


def jvp(
    f: Callable[..., Tensor], primals: Sequence[Any], tangents: Sequence[Any]
) -> tuple[Tensor, Tensor]:
    """(f(*primals), J t), forward mode by the double-vjp trick: v -> v^T J is linear in v,
    so differentiating v^T J t with respect to v gives J t."""
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp: {len(primals)} primal(s) but {len(tangents)} tangent(s); give one each"
        )
    args, leaves = _as_leaves("jvp", f, primals, range(len(primals)), None)
    out = f(*args)
    if not out.requires_grad:
        return out, _zeros_like(out)
    probe = Tensor(np.zeros(out.shape, out.dtype), requires_grad=True)
    pulled = gradients(out, leaves, grad=probe, retain_graph=True, create_graph=True)
    terms = [(g * t).sum() for g, t in zip(pulled, tangents) if g is not None]
    if not terms:
        return out, _zeros_like(out)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return out, _pullback(total, [probe], None)[0]


def jacobian(f: Callable[..., Tensor], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Wrap `f` to return its Jacobian, shaped f(...).shape + args[argnums].shape (a tuple
    of them for a tuple of argnums), row by row as torch.func.jacrev does."""
    positions = argument_positions("jacobian", argnums)

    @functools.wraps(f)
    def wrapped(*args: Any) -> Any:
        args, leaves = _as_leaves("jacobian", f, args, positions, argnums)
        out = f(*args)
        found = tuple(_jacobian_of(out, leaf) for leaf in leaves)
        return found[0] if isinstance(argnums, int) else found

    return wrapped


def _jacobian_of(out: Tensor, leaf: Tensor) -> Tensor:
    if out.size == 0 or leaf.size == 0 or not out.requires_grad:
        return Tensor.wrap(np.zeros(out.shape + leaf.shape, leaf.dtype))
    rows = []
    for index in range(out.size):
        seed = np.zeros(out.size, out.dtype)
        seed[index] = 1
        rows.append(_pullback(out, [leaf], seed.reshape(out.shape))[0])
    return F.stack(rows).reshape(out.shape + leaf.shape)


def hessian(f: Callable[..., Tensor], argnums: int = 0) -> Callable[..., Tensor]:
    """Wrap scalar-valued `f` to return its Hessian with respect to args[argnums], shaped
    x.shape + x.shape: the Jacobian of the gradient."""
    if not isinstance(argnums, int):
        raise TypeError(
            f"hessian: argnums must be one int, got {argnums!r}; for mixed second "
            "derivatives nest jacobian(grad(f, i), j)"
        )
    return jacobian(grad(f, argnums), argnums)


def hvp(
    f: Callable[..., Tensor], primals: Sequence[Any], tangents: Sequence[Any]
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """(f(*primals), H t) for scalar-valued f, without building H: the gradient of
    grad(f) . t, as torch.autograd.functional.hvp returns it."""
    if len(primals) != len(tangents):
        raise ValueError(
            f"hvp: {len(primals)} primal(s) but {len(tangents)} tangent(s); give one each"
        )
    args, leaves = _as_leaves("hvp", f, primals, range(len(primals)), None)
    value, grads = value_and_grad(f, tuple(range(len(args))))(*args)
    terms = [(g * t).sum() for g, t in zip(grads, tangents)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return value, _pullback(total, leaves, None)
