"""minigrad: a small, readable, fast reverse-mode autodiff engine on NumPy."""

from minigrad import data, functional, nn, optim
from minigrad.autograd import grad, value_and_grad
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.locate import check_nodes, locate_gradient_errors
from minigrad.ops import OPS, Op, OpError
from minigrad.replay import replay
from minigrad.tensor import (
    Tensor,
    enable_grad,
    gradients,
    is_grad_enabled,
    module_scope,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "OPS",
    "Op",
    "OpError",
    "GradcheckError",
    "Tensor",
    "check_nodes",
    "data",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradients",
    "is_grad_enabled",
    "locate_gradient_errors",
    "module_scope",
    "nn",
    "no_grad",
    "optim",
    "replay",
    "set_grad_enabled",
    "value_and_grad",
]
