"""Activation functions: the nonlinearities between layers, and softmax."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.ops.base import Op, as_floating, axis_index, onnx_node
from minigrad.ops.elementwise import Erf, Exp, Where, erf
from minigrad.tensor import Tensor


class Sigmoid(Op):
    name = "sigmoid"
    spelling = "{0}.sigmoid()"
    reads_inputs = False

    def forward(self, a):
        # 1 / (1 + e^-a) keeps full relative precision far below zero, where the tanh form
        # 0.5 + 0.5 tanh(a / 2) rounds to 0; e^-a overflowing to inf there gives exactly 0.
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-as_floating(a)))

    def backward(self, grad, out, a):
        return (grad * out * (1 - out),)


class Tanh(Op):
    name = "tanh"
    spelling = "{0}.tanh()"
    reads_inputs = False

    def forward(self, a):
        return np.tanh(as_floating(a))

    def backward(self, grad, out, a):
        return (grad * (1 - out * out),)


class Relu(Op):
    name = "relu"
    spelling = "{0}.relu()"
    reads_inputs = False

    def forward(self, a):
        return np.maximum(a, 0)

    def backward(self, grad, out, a):
        # out > 0 exactly where a > 0; taken as a constant mask, an array on either path
        return (grad * ((out.data if isinstance(out, Tensor) else out) > 0),)

    def kinks(self):
        return (0.0,)


class LeakyRelu(Op):
    """x where x > 0, else negative_slope * x."""

    name = "leaky_relu"
    params = ("negative_slope",)
    spelling = "F.leaky_relu({0}, {params})"
    negative_slope: float = 0.01

    def forward(self, a):
        a = as_floating(a)
        return np.where(a > 0, a, a * self.negative_slope)

    def backward(self, grad, out, a):
        positive = self.inputs[0].data > 0
        return (grad * np.where(positive, 1, self.negative_slope).astype(grad.dtype),)

    def kinks(self):
        return (0.0,)

    @classmethod
    def draw_arguments(cls, case):
        case.params["negative_slope"] = case.choice([0.01, 0.2, 1.5])
        return [case.operand(0)]


class Elu(Op):
    """x where x > 0, else alpha * (e^x - 1)."""

    name = "elu"
    params = ("alpha",)
    spelling = "F.elu({0}, {params})"
    alpha: float = 1.0

    def forward(self, a):
        a = as_floating(a)
        return np.where(a > 0, a, np.expm1(np.minimum(a, 0)) * self.alpha)

    def backward(self, grad, out, a):
        # alpha e^x is out + alpha on the negative side, so it differentiates again.
        positive = self.inputs[0].data > 0
        slope = Where.call(np.ones((), grad.dtype), out + self.alpha, condition=positive)
        return (grad * slope,)

    def kinks(self):
        return (0.0,)  # the slope jumps there unless alpha is 1; the curvature always does

    @classmethod
    def draw_arguments(cls, case):
        case.params["alpha"] = case.choice([1.0, 0.5])
        return [case.operand(0)]


SQRT_HALF = math.sqrt(0.5)
INVERSE_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class Gelu(Op):
    """x * Phi(x), Phi the standard normal CDF 0.5 (1 + erf(x / sqrt 2)): PyTorch's
    gelu(approximate="none"). With minigrad's own erf (`ops.elementwise.erf`) it matches
    torch's within 1e-15 in float64, and is within 6e-7 of the exact value in float32
    (tests/test_vocabulary.py)."""

    name = "gelu"
    spelling = "F.gelu({0})"

    def forward(self, a):
        a = as_floating(a)
        self.saved = erf(a * SQRT_HALF)  # backward needs it again
        return a * (1 + self.saved) * 0.5

    def backward(self, grad, out, a):
        cdf = (Erf.record(self.saved, a * SQRT_HALF) + 1) * 0.5
        density = Exp.call(a * a * -0.5) * INVERSE_SQRT_2PI
        return (grad * (cdf + a * density),)


GELU_TANH_SCALE = math.sqrt(2 / math.pi)
GELU_TANH_CUBIC = 0.044715


class GeluTanh(Op):
    """gelu's tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))):
    PyTorch's gelu(approximate="tanh"), within 5e-4 of the exact one."""

    name = "gelu_tanh"
    spelling = "F.gelu({0}, approximate='tanh')"

    def forward(self, a):
        a = as_floating(a)
        return a * (1 + np.tanh((a + a * a * a * GELU_TANH_CUBIC) * GELU_TANH_SCALE)) * 0.5

    def backward(self, grad, out, a):
        inner = (a + a * a * a * GELU_TANH_CUBIC) * GELU_TANH_SCALE
        t = Tanh.call(inner)
        inner_slope = (a * a * (3 * GELU_TANH_CUBIC) + 1) * GELU_TANH_SCALE
        return (grad * ((t + 1) * 0.5 + a * (1 - t * t) * inner_slope * 0.5),)


class Silu(Op):
    """x * sigmoid(x), also called swish."""

    name = "silu"
    spelling = "F.silu({0})"

    def forward(self, a):
        a = as_floating(a)
        return a * Sigmoid.call(a)

    def backward(self, grad, out, a):
        s = Sigmoid.call(a)
        return (grad * s * (1 + a * (1 - s)),)


class Softplus(Op):
    """log(1 + e^x), a smooth relu; np.logaddexp keeps it finite for large x."""

    name = "softplus"
    spelling = "F.softplus({0})"

    def forward(self, a):
        a = as_floating(a)
        return np.logaddexp(np.zeros((), a.dtype), a)

    def backward(self, grad, out, a):
        return (grad * Sigmoid.call(a),)


class LogSigmoid(Op):
    """log(sigmoid(x)) = -softplus(-x), finite where sigmoid(x) rounds to 0."""

    name = "log_sigmoid"
    spelling = "F.log_sigmoid({0})"

    def forward(self, a):
        a = as_floating(a)
        return -np.logaddexp(np.zeros((), a.dtype), -a)

    def backward(self, grad, out, a):
        return (grad * Sigmoid.call(-a),)


class AlongAxis(Op, register=False):
    """An op that normalises along one axis (softmax and its log)."""

    params = ("axis",)
    axis: int = -1

    @classmethod
    def draw_arguments(cls, case):
        x = case.operand(0, case.at_least_1d, case.shape(min_dims=1))
        ndim = case.values[x].ndim
        case.params["axis"] = case.integer(-ndim, ndim - 1)
        return [x]


class Softmax(AlongAxis):
    name = "softmax"
    spelling = "{0}.softmax({params})"

    def forward(self, a):
        a = as_floating(a)
        axis_index(self.axis, a.ndim)  # also where an empty input never reads it
        if not a.size:  # an empty axis has no max; there is nothing to normalise
            return a.copy()
        exps = np.exp(a - a.max(axis=self.axis, keepdims=True))
        exps /= exps.sum(axis=self.axis, keepdims=True)
        return exps

    def backward(self, grad, out, a):
        return (out * (grad - (grad * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(AlongAxis):
    name = "log_softmax"
    spelling = "{0}.log_softmax({params})"

    def forward(self, a):
        a = as_floating(a)
        axis_index(self.axis, a.ndim)
        if not a.size:  # an empty axis has no max; there is nothing to normalise
            return a.copy()
        shifted = a - a.max(axis=self.axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, grad, out, a):
        return (grad - Exp.call(out) * grad.sum(axis=self.axis, keepdims=True),)


# ----- ONNX export: how each op above is written (see minigrad.onnx) -----------------------
def export_leaky_relu(graph: Any, op: Op, a: str) -> str:
    return graph.node("LeakyRelu", a, alpha=float(op.negative_slope))


def export_elu(graph: Any, op: Op, a: str) -> str:
    return graph.node("Elu", a, alpha=float(op.alpha))


def export_gelu(graph: Any, op: Op, a: str) -> str:
    """x (1 + erf(x / sqrt 2)) / 2 (ONNX has Gelu only from opset 20)."""
    cdf = graph.node(
        "Add",
        graph.node("Erf", graph.node("Mul", a, graph.constant(SQRT_HALF))),
        graph.constant(1.0),
    )
    return graph.node("Mul", graph.node("Mul", a, cdf), graph.constant(0.5))


def export_gelu_tanh(graph: Any, op: Op, a: str) -> str:
    cube = graph.node("Mul", graph.node("Mul", a, a), a)
    inner = graph.node("Add", a, graph.node("Mul", cube, graph.constant(GELU_TANH_CUBIC)))
    tanh = graph.node("Tanh", graph.node("Mul", inner, graph.constant(GELU_TANH_SCALE)))
    half = graph.node("Mul", a, graph.constant(0.5))
    return graph.node("Mul", half, graph.node("Add", tanh, graph.constant(1.0)))


def export_silu(graph: Any, op: Op, a: str) -> str:
    return graph.node("Mul", a, graph.node("Sigmoid", a))


def export_log_sigmoid(graph: Any, op: Op, a: str) -> str:
    return graph.node("Neg", graph.node("Softplus", graph.node("Neg", a)))


def export_softmax(graph: Any, op: Op, a: str) -> str:
    return graph.node("Softmax", a, axis=int(op.axis))


def export_log_softmax(graph: Any, op: Op, a: str) -> str:
    return graph.node("LogSoftmax", a, axis=int(op.axis))


ONNX = {
    "sigmoid": onnx_node("Sigmoid"),
    "tanh": onnx_node("Tanh"),
    "relu": onnx_node("Relu"),
    "leaky_relu": export_leaky_relu,
    "elu": export_elu,
    "gelu": export_gelu,
    "gelu_tanh": export_gelu_tanh,
    "silu": export_silu,
    "softplus": onnx_node("Softplus"),
    "log_sigmoid": export_log_sigmoid,
    "softmax": export_softmax,
    "log_softmax": export_log_softmax,
}
