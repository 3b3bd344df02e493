"""The seeds' own exercises (Deep Learning from Scratch, chapter 4) as tests: numerical
gradients, gradient descent, and the two-layer net's gradient check."""

import numpy as np
import pytest

import minigrad.functional as F
from minigrad import GradcheckError, Tensor, grad, gradcheck
from minigrad.gradient_check import numerical_gradient
from minigrad.ops import Sigmoid


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


@pytest.mark.parametrize(
    "point, expected",
    [((3.0, 4.0), (6.0, 8.0)), ((0.0, 2.0), (0.0, 4.0)), ((3.0, 0.0), (6.0, 0.0))],
)
def test_numerical_gradient_of_function_2(point, expected):
    np.testing.assert_allclose(numerical_gradient(function_2, np.array(point)), expected, atol=1e-6)


def test_float32_uses_the_books_h():
    # h = 1e-4 on float32 data is good to about three digits: (5.989, 8.001)
    np.testing.assert_allclose(
        numerical_gradient(function_2, np.array([3.0, 4.0], dtype=np.float32)), [6, 8], rtol=5e-3
    )


def gradient_descent(gradient, init_x, lr=0.01, step_num=100):
    x = np.array(init_x, dtype=np.float64)
    for _ in range(step_num):
        x -= lr * gradient(x)
    return x


def autograd_gradient(x):
    return grad(lambda t: (t * t).sum())(Tensor(x)).data


@pytest.mark.parametrize(
    "gradient", [lambda x: numerical_gradient(function_2, x), autograd_gradient]
)
def test_gradient_descent_from_minus_3_4_reaches_the_origin(gradient):
    x = gradient_descent(gradient, [-3.0, 4.0], lr=0.1, step_num=100)
    np.testing.assert_allclose(x, [0.0, 0.0], atol=1e-8)


def test_the_learning_rate_examples_of_the_book():
    too_large = gradient_descent(autograd_gradient, [-3.0, 4.0], lr=10.0)
    too_small = gradient_descent(autograd_gradient, [-3.0, 4.0], lr=1e-10)
    assert np.all(np.abs(too_large) > 1e10)
    np.testing.assert_allclose(too_small, [-3.0, 4.0], atol=1e-6)


def two_layer_loss(x, t, W1, b1, W2, b2):
    """The book's TwoLayerNet loss: affine, sigmoid, affine, softmax, cross_entropy_error."""
    hidden = F.linear(x, W1, b1).sigmoid()
    return F.cross_entropy_error(F.linear(hidden, W2, b2).softmax(axis=1), t)


class TwoLayerNet:
    """The book's TwoLayerNet, its loss written out in two_layer_loss."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, seed=0):
        rng = np.random.default_rng(seed)
        shapes = {
            "W1": (input_size, hidden_size),
            "b1": (hidden_size,),
            "W2": (hidden_size, output_size),
            "b2": (output_size,),
        }
        self.params = {
            name: Tensor(
                weight_init_std * rng.standard_normal(shape) if name[0] == "W" else np.zeros(shape),
                requires_grad=True,
                name=name,
            )
            for name, shape in shapes.items()
        }

    def loss(self, x, t):
        return two_layer_loss(x, t, **self.params)

    def numerical_gradient(self, x, t):
        return {
            name: numerical_gradient(lambda W: self.loss(x, t), param)
            for name, param in self.params.items()
        }

    def gradient(self, x, t):
        for param in self.params.values():
            param.zero_grad()
        self.loss(x, t).backward()
        return {name: param.grad.data for name, param in self.params.items()}


def book_batch(input_size=784):
    """Three images and one-hot labels, as the book's gradient_check uses."""
    rng = np.random.default_rng(1)
    return rng.random((3, input_size)), np.eye(10)[[7, 2, 1]]


def test_two_layer_net_autograd_matches_numerical_gradients_per_parameter():
    # The book checks TwoLayerNet(784, 50, 10) on 3 images; 10 hidden units keep the
    # 2 * 7,850 numerical evaluations of W1 quick.
    net = TwoLayerNet(input_size=784, hidden_size=10, output_size=10)
    x, t = book_batch()
    numeric = net.numerical_gradient(x, t)
    backprop = net.gradient(x, t)
    for name in ("W1", "b1", "W2", "b2"):
        diff = np.mean(np.abs(backprop[name] - numeric[name]))
        assert diff < 1e-9, f"{name}: mean |backprop - numerical| = {diff:.3g}"
        np.testing.assert_allclose(backprop[name], numeric[name], rtol=1e-4, atol=1e-9)
    assert not np.allclose(backprop["W1"], 0)  # the check compared real gradients


def loss_of_the_params(x, t):
    """What gradcheck needs: the loss as a function of the parameters it is handed."""
    return lambda W1, b1, W2, b2: two_layer_loss(x, t, W1, b1, W2, b2)


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_gradcheck_of_the_two_layer_net(mode):
    net = TwoLayerNet(input_size=784, hidden_size=10, output_size=10)
    x, t = book_batch()
    assert gradcheck(loss_of_the_params(x, t), list(net.params.values()), mode=mode) is True


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_gradcheck_catches_a_wrong_backward_in_the_two_layer_net(mode, monkeypatch):
    original = Sigmoid.backward
    monkeypatch.setattr(
        Sigmoid,
        "backward",
        lambda self, grad, out, a: [g * 1.5 for g in original(self, grad, out, a)],
    )
    net = TwoLayerNet(input_size=784, hidden_size=10, output_size=10)
    x, t = book_batch()
    with pytest.raises(GradcheckError) as caught:
        gradcheck(loss_of_the_params(x, t), list(net.params.values()), mode=mode)
    # sigmoid sits between the layers: only the first layer's gradients go through it
    assert {report.input_name for report in caught.value.result.failures} == {"W1", "b1"}


def test_gradcheck_refuses_a_loss_that_ignores_the_tensors_it_is_handed():
    """The book's closure `lambda W: net.loss(x, t)` computes from net.params, not from
    gradcheck's float64 copies: both gradients would be zero and any backward would pass."""
    net = TwoLayerNet(input_size=784, hidden_size=10, output_size=10)
    x, t = book_batch()
    with pytest.raises(ValueError, match="no output of .* depends on the inputs it was given"):
        gradcheck(lambda *ps: net.loss(x, t), list(net.params.values()), mode="fast")
