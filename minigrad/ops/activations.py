"""Activation functions: the nonlinearities between layers, and softmax."""

from __future__ import annotations

import numpy as np

from minigrad.ops.base import Op, as_floating
from minigrad.ops.elementwise import Exp


class Sigmoid(Op):
    name = "sigmoid"
    spelling = "{0}.sigmoid()"

    def forward(self, a):
        # 1 / (1 + e^-a) keeps full relative precision far below zero, where the tanh form
        # 0.5 + 0.5 tanh(a / 2) rounds to 0; e^-a overflowing to inf there gives exactly 0.
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-a))

    def backward(self, grad, out, a):
        return (grad * out * (1 - out),)


class Tanh(Op):
    name = "tanh"
    spelling = "{0}.tanh()"

    def forward(self, a):
        return np.tanh(a)

    def backward(self, grad, out, a):
        return (grad * (1 - out * out),)


class Relu(Op):
    name = "relu"
    spelling = "{0}.relu()"

    def forward(self, a):
        return np.maximum(a, 0)

    def backward(self, grad, out, a):
        return (grad * (self.inputs[0].data > 0),)

    def kinks(self):
        return (0.0,)


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
        if not a.size:  # an empty axis has no max; there is nothing to normalise
            return as_floating(a).copy()
        exps = np.exp(a - a.max(axis=self.axis, keepdims=True))
        exps /= exps.sum(axis=self.axis, keepdims=True)
        return exps

    def backward(self, grad, out, a):
        return (out * (grad - (grad * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(AlongAxis):
    name = "log_softmax"
    spelling = "{0}.log_softmax({params})"

    def forward(self, a):
        if not a.size:  # an empty axis has no max; there is nothing to normalise
            return as_floating(a).copy()
        shifted = a - a.max(axis=self.axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, grad, out, a):
        return (grad - Exp.call(out) * grad.sum(axis=self.axis, keepdims=True),)
