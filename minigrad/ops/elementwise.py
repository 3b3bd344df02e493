"""Elementwise arithmetic and functions: each output entry depends on the entries at the
same place in the (broadcast) inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.ops.base import Op, OpError


class Add(Op):
    name = "add"
    arity = 2
    broadcasts = True
    spelling = "{0} + {1}"

    def forward(self, a, b):
        return a + b

    def backward(self, grad, out, a, b):
        return grad, grad


class Sub(Op):
    name = "sub"
    arity = 2
    broadcasts = True
    spelling = "{0} - {1}"

    def forward(self, a, b):
        return a - b

    def backward(self, grad, out, a, b):
        return grad, (-grad if self.inputs[1].requires_grad else None)


class Mul(Op):
    name = "mul"
    arity = 2
    broadcasts = True
    spelling = "{0} * {1}"

    def forward(self, a, b):
        return a * b

    def backward(self, grad, out, a, b):
        needs_a, needs_b = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        return grad * b if needs_a else None, grad * a if needs_b else None


class Div(Op):
    name = "div"
    arity = 2
    broadcasts = True
    domain = ((-2.0, 2.0), (0.5, 2.0))  # keeps the divisor away from 0
    spelling = "{0} / {1}"

    def forward(self, a, b):
        return a / b

    def backward(self, grad, out, a, b):
        grad_a = grad / b
        # d(a/b)/db = -a/b^2 = -(1/b) * (a/b)
        return grad_a, (-grad_a * out if self.inputs[1].requires_grad else None)


class Pow(Op):
    name = "pow"
    arity = 2
    broadcasts = True
    domain = ((0.5, 2.0), (-2.0, 2.0))  # a positive base keeps log(base) real
    edges = (0.0,)
    spelling = "{0} ** {1}"

    def forward(self, base, exponent):
        return base**exponent

    def backward(self, grad, out, base, exponent):
        needs_base, needs_exponent = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        base_data, exponent_data = self.inputs[0].data, self.inputs[1].data
        grad_base = grad_exponent = None
        # At base 0 the formulas meet 0 * inf: e * b^(e-1) at e = 0, and b^e * log(b)
        # wherever e >= 0. Both limits are 0 there (b^0 is flat in b, 0^e flat in e), as
        # PyTorch's are; elsewhere the formulas stand, so second derivatives stay right.
        with np.errstate(divide="ignore", invalid="ignore"):
            if needs_base:
                grad_base = grad * exponent * base ** (exponent - 1)
                flat = (exponent_data == 0) & (base_data == 0)
                if np.any(flat):
                    grad_base = Where.call(np.zeros((), grad_base.dtype), grad_base, condition=flat)
            if needs_exponent:
                grad_exponent = grad * out * Log.call(base)
                flat = (base_data == 0) & (exponent_data >= 0)
                if np.any(flat):
                    grad_exponent = Where.call(
                        np.zeros((), grad_exponent.dtype), grad_exponent, condition=flat
                    )
        return grad_base, grad_exponent

    @classmethod
    def draw_arguments(cls, case):
        """Inside the domain, and one time in four at base 0 with a constant whole
        exponent: the edge where the formulas meet 0 * inf."""
        if case.integer(0, 3):
            return super().draw_arguments(case)
        shape = case.shape()
        base = case.floats(shape, 0.5, 2.0) * case.bools(shape)  # 0 where False
        exponent = np.array(case.choice([0.0, 1.0, 2.0, 3.0]))
        return [case.fresh(base), case.fresh(exponent, constant=True)]


class Neg(Op):
    name = "neg"
    spelling = "-{0}"

    def forward(self, a):
        return -a

    def backward(self, grad, out, a):
        return (-grad,)


class Exp(Op):
    name = "exp"
    spelling = "{0}.exp()"

    def forward(self, a):
        return np.exp(a)

    def backward(self, grad, out, a):
        return (grad * out,)


class Log(Op):
    name = "log"
    domain = (0.1, 10.0)
    spelling = "{0}.log()"

    def forward(self, a):
        return np.log(a)

    def backward(self, grad, out, a):
        return (grad / a,)


class Sqrt(Op):
    name = "sqrt"
    domain = (0.1, 10.0)
    spelling = "{0}.sqrt()"

    def forward(self, a):
        return np.sqrt(a)

    def backward(self, grad, out, a):
        return (grad / (out * 2),)


class Abs(Op):
    name = "abs"
    spelling = "{0}.abs()"

    def forward(self, a):
        return np.abs(a)

    def backward(self, grad, out, a):
        return (grad * np.sign(self.inputs[0].data),)

    def kinks(self):
        return (0.0,)


class Clip(Op):
    """Limit values to [low, high]; either bound may be None."""

    name = "clip"
    params = ("low", "high")
    examples = {"low": -0.5, "high": 0.5}
    spelling = "{0}.clip({params})"
    low: float | None = None
    high: float | None = None

    def forward(self, a):
        return np.clip(a, self.low, self.high)

    def backward(self, grad, out, a):
        a = self.inputs[0].data  # the mask is a constant, also when the backward is recorded
        inside = np.ones(a.shape, dtype=bool)
        if self.low is not None:
            inside &= a >= self.low
        if self.high is not None:
            inside &= a <= self.high
        return (grad * inside,)

    def kinks(self):
        return tuple(bound for bound in (self.low, self.high) if bound is not None)


class Where(Op):
    """Pick from `a` where `condition` holds, else from `b`."""

    name = "where"
    arity = 2
    broadcasts = True
    params = ("condition",)
    # A condition of shape (3,) broadcasts with every input shape check_op tries.
    examples = {"condition": np.array([True, False, True])}
    spelling = "F.where({condition}, {0}, {1})"
    condition: Any = None

    def forward(self, a, b):
        condition = np.asarray(self.condition)
        if condition.dtype != bool:
            raise OpError(
                f"where: condition must be boolean, got {condition.dtype}{condition.shape}; "
                "write condition != 0 (or a comparison such as x > 0)"
            )
        self.condition = condition
        return np.where(condition, a, b)

    def backward(self, grad, out, a, b):
        return grad * self.condition, grad * ~self.condition

    def describe_params(self):
        return {"condition": f"bool{np.shape(self.condition)}"}

    @classmethod
    def draw_arguments(cls, case):
        inputs = super().draw_arguments(case)
        shapes = [case.values[name].shape for name in inputs]
        case.params["condition"] = case.bools(np.broadcast_shapes(*shapes))
        return inputs
