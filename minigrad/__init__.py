"""minigrad: a small, readable, fast reverse-mode autodiff engine on NumPy."""

from minigrad import data, functional, nn, optim
from minigrad.anomaly import AnomalyError, detect_anomaly
from minigrad.autograd import gradients
from minigrad.grad_mode import (
    enable_grad,
    is_grad_enabled,
    keep_values,
    module_scope,
    no_grad,
    set_grad_enabled,
)
from minigrad.gradient_check import GradcheckError, gradcheck, numerical_gradient
from minigrad.locate import check_nodes, locate_gradient_errors
from minigrad.ops import OPS, Op, OpError
from minigrad.replaying import replay
from minigrad.tensor import Tensor
from minigrad.transforms import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp

__all__ = [
    "AnomalyError",
    "OPS",
    "Op",
    "OpError",
    "GradcheckError",
    "Tensor",
    "check_nodes",
    "data",
    "detect_anomaly",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradients",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "jvp",
    "keep_values",
    "locate_gradient_errors",
    "module_scope",
    "nn",
    "no_grad",
    "numerical_gradient",
    "optim",
    "replay",
    "set_grad_enabled",
    "value_and_grad",
    "vjp",
]
