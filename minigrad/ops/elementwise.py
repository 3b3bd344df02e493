"""Elementwise arithmetic and functions: each output entry depends on the entries at the
same place in the (broadcast) inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.checks import check_number
from minigrad.ops.base import Op, OpError, as_floating, onnx_node


class Add(Op):
    name = "add"
    arity = 2
    broadcasts = True
    reads_output = False
    spelling = "{0} + {1}"

    def forward(self, a, b):
        return a + b

    def backward(self, grad, out, a, b):
        return grad, grad


class Sub(Op):
    name = "sub"
    arity = 2
    broadcasts = True
    reads_output = False
    spelling = "{0} - {1}"

    def forward(self, a, b):
        return a - b

    def backward(self, grad, out, a, b):
        return grad, (-grad if self.inputs[1].requires_grad else None)


class Mul(Op):
    name = "mul"
    arity = 2
    broadcasts = True
    reads_output = False
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
        return as_floating(a) / as_floating(b)

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
        return np.exp(as_floating(a))

    def backward(self, grad, out, a):
        return (grad * out,)


class Log(Op):
    name = "log"
    domain = (0.1, 10.0)
    spelling = "{0}.log()"

    def forward(self, a):
        return np.log(as_floating(a))

    def backward(self, grad, out, a):
        return (grad / a,)


class Sqrt(Op):
    name = "sqrt"
    domain = (0.1, 10.0)
    spelling = "{0}.sqrt()"

    def forward(self, a):
        return np.sqrt(as_floating(a))

    def backward(self, grad, out, a):
        return (grad / (out * 2),)


class Log1p(Op):
    """log(1 + x), exact for small x where log(1 + x) rounds 1 + x."""

    name = "log1p"
    domain = (-0.5, 2.0)  # 1 + x stays away from 0
    spelling = "{0}.log1p()"

    def forward(self, a):
        return np.log1p(as_floating(a))

    def backward(self, grad, out, a):
        return (grad / (a + 1),)


class Expm1(Op):
    """e^x - 1, exact for small x where e^x - 1 cancels."""

    name = "expm1"
    spelling = "{0}.expm1()"

    def forward(self, a):
        return np.expm1(as_floating(a))

    def backward(self, grad, out, a):
        return (grad * (out + 1),)


class Sin(Op):
    name = "sin"
    spelling = "{0}.sin()"

    def forward(self, a):
        return np.sin(as_floating(a))

    def backward(self, grad, out, a):
        return (grad * Cos.call(a),)


class Cos(Op):
    name = "cos"
    spelling = "{0}.cos()"

    def forward(self, a):
        return np.cos(as_floating(a))

    def backward(self, grad, out, a):
        return (-grad * Sin.call(a),)


# NumPy has no erf, and np.vectorize(math.erf) makes a Python call per element. float64
# gets W. J. Cody's rational approximations (Math. Comp. 23, 1969, as in netlib's specfun
# CALERF), one per range of |x|, within 1e-16 relative error; narrower floats get one
# rational function on [-4, 4] (Eigen's for float32, evaluated in float64), within 1e-7 of
# erf and about 3 times faster. tests/test_vocabulary.py measures both against math.erf.
# fmt: off
ERF_SMALL = 0.46875  # below: erf(x) = x P(x^2) / Q(x^2); above: erfc from exp(-x^2) R(|x|)
ERF_P = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
         3.20937758913846947e03, 1.85777706184603153e-1)
ERF_Q = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
         2.84423683343917062e03)
ERFC_MIDDLE_P = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
                 2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
                 2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
ERFC_MIDDLE_Q = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
                 1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
                 3.43936767414372164e03, 1.23033935480374942e03)
ERFC_TAIL_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
               1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
ERFC_TAIL_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
               6.05183413124413191e-2, 2.33520497626869185e-3)
ERF_FAST_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
              -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
              -1.60960333262415e-02)
ERF_FAST_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
              -7.37332916720468e-03, -1.42647390514189e-02)
# fmt: on
SQRT_1_PI = 0.56418958354775628695


def _horner(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """The polynomial with `coefficients`, highest power first, at x (in place: no
    temporaries beyond the result)."""
    result = x * coefficients[0]
    for coefficient in coefficients[1:-1]:
        result += coefficient
        result *= x
    result += coefficients[-1]
    return result


def _erf_small(x: np.ndarray) -> np.ndarray:
    """erf(x) for |x| <= ERF_SMALL, to float64 precision."""
    square = x * x
    numerator = _horner(ERF_P[4:] + ERF_P[:4], square)
    denominator = _horner((1.0,) + ERF_Q, square)
    return x * numerator / denominator


def _erfc_large(y: np.ndarray) -> np.ndarray:
    """erfc(y) for y > ERF_SMALL, to float64 precision (no cancellation in 1 - erf)."""
    y = np.minimum(y, 30)  # erfc(30) underflows to 0 even in float64; so does erfc(inf)
    middle = y <= 4
    ratio = np.empty_like(y)
    m = y[middle]
    ratio[middle] = _horner(ERFC_MIDDLE_P[8:] + ERFC_MIDDLE_P[:8], m) / _horner(
        (1.0,) + ERFC_MIDDLE_Q, m
    )
    tail = y[~middle]
    inverse_square = 1 / (tail * tail)
    correction = _horner(ERFC_TAIL_P[5:] + ERFC_TAIL_P[:5], inverse_square) / _horner(
        (1.0,) + ERFC_TAIL_Q, inverse_square
    )
    ratio[~middle] = (SQRT_1_PI - inverse_square * correction) / tail
    # exp(-y^2) as exp(-r^2) exp(-(y - r)(y + r)), with r = y rounded down to a 16th: r^2 is
    # exact, so erfc keeps its relative precision far out in the tail.
    rounded = np.trunc(y * 16) / 16
    with np.errstate(under="ignore"):
        return np.exp(-rounded * rounded) * np.exp(-(y - rounded) * (y + rounded)) * ratio


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, in x's floating dtype (integers: float32)."""
    x = as_floating(np.asarray(x))
    if x.dtype.itemsize < 8:
        clipped = np.clip(x, -4, 4, dtype=np.float64)  # erf(4) is 1 in float32
        square = clipped * clipped
        result = _horner(ERF_FAST_P, square) * clipped / _horner(ERF_FAST_Q, square)
        return result.astype(x.dtype)
    result = np.empty_like(x)
    small = np.abs(x) <= ERF_SMALL
    result[small] = _erf_small(x[small])
    large = x[~small]
    result[~small] = np.sign(large) * (1 - _erfc_large(np.abs(large)))
    return result


class Erf(Op):
    name = "erf"
    spelling = "{0}.erf()"

    def forward(self, a):
        return erf(a)

    def backward(self, grad, out, a):
        return (grad * Exp.call(-a * a) * (2 * SQRT_1_PI),)


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
        for name, bound in (("low", self.low), ("high", self.high)):
            if bound is not None:
                check_number(self.name, name, bound)
        whole = all(
            bound is None or isinstance(bound, (int, np.integer)) for bound in (self.low, self.high)
        )
        return np.clip(a if whole else as_floating(a), self.low, self.high)

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


class Maximum(Op):
    """The larger of a and b, elementwise, broadcasting. A tie is a kink: it sends half
    the gradient to each side, as PyTorch does, which is also what central differences
    measure there."""

    name = "maximum"
    arity = 2
    broadcasts = True
    distinct = True  # a == b is a kink
    spelling = "{0}.maximum({1})"
    combine = staticmethod(np.maximum)
    wins = staticmethod(np.greater)  # where a wins

    def forward(self, a, b):
        return self.combine(a, b)

    def backward(self, grad, out, a, b):
        a, b = self.inputs[0].data, self.inputs[1].data  # who wins is a constant
        share = self.wins(a, b) + 0.5 * (a == b)
        share = share.astype(grad.dtype)
        needs_a, needs_b = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        return grad * share if needs_a else None, grad * (1 - share) if needs_b else None

    @classmethod
    def draw_arguments(cls, case):
        """a as usual; b of a shape that broadcasts with it, none of its values near one of
        a's (a tie)."""
        first = case.operand(0)
        shape = case.partner_shape(case.values[first].shape)
        return [first, case.fresh(case.apart_from(case.values[first], shape, position=1))]


class Minimum(Maximum):
    name = "minimum"
    spelling = "{0}.minimum({1})"
    combine = staticmethod(np.minimum)
    wins = staticmethod(np.less)


# ----- ONNX export: how each op above is written (see minigrad.onnx) -----------------------
def export_log1p(graph: Any, op: Op, a: str) -> str:
    return graph.node("Log", graph.node("Add", a, graph.constant(1.0)))


def export_expm1(graph: Any, op: Op, a: str) -> str:
    return graph.node("Sub", graph.node("Exp", a), graph.constant(1.0))


def export_clip(graph: Any, op: Op, a: str) -> str:
    bounds = ["" if bound is None else graph.constant(bound) for bound in (op.low, op.high)]
    return graph.node("Clip", a, *bounds)


def export_where(graph: Any, op: Op, a: str, b: str) -> str:
    return graph.node("Where", graph.constant(np.asarray(op.condition)), a, b)


ONNX = {
    "add": onnx_node("Add"),
    "sub": onnx_node("Sub"),
    "mul": onnx_node("Mul"),
    "div": onnx_node("Div"),
    "pow": onnx_node("Pow"),
    "neg": onnx_node("Neg"),
    "exp": onnx_node("Exp"),
    "log": onnx_node("Log"),
    "sqrt": onnx_node("Sqrt"),
    "log1p": export_log1p,
    "expm1": export_expm1,
    "sin": onnx_node("Sin"),
    "cos": onnx_node("Cos"),
    "erf": onnx_node("Erf"),
    "abs": onnx_node("Abs"),
    "clip": export_clip,
    "where": export_where,
    "maximum": onnx_node("Max"),
    "minimum": onnx_node("Min"),
}
