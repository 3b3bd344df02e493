"""Bad or unusual input: every call gives the right answer or a minigrad error whose
message names the function and what was wrong.

First the cases found by hand (issue 13), each pinned by a test."""

import numpy as np
import pytest

import minigrad.functional as F
from minigrad import OPS, OpError, Tensor, grad, gradcheck, replay
from minigrad.gradient_check import jacobian


# ----- wrong answers that were silent ----------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 3)])
def test_transpose_with_a_negative_axis_inverts_the_right_permutation(shape):
    x = Tensor(np.arange(float(np.prod(shape))).reshape(shape), requires_grad=True)
    weights = np.arange(x.size, dtype=float).reshape(shape[::-1])
    (x.transpose(-1, 0) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.data, weights.T)


def test_permute_with_negative_axes_matches_positive_ones():
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 4)), requires_grad=True)
    weights = np.arange(24.0).reshape(4, 2, 3)
    (x.permute(-1, 0, -2) * weights).sum().backward()
    negative = x.grad.data
    x.grad = None
    (x.permute(2, 0, 1) * weights).sum().backward()
    np.testing.assert_array_equal(negative, x.grad.data)


def test_pow_gradients_at_base_zero_are_zero_as_in_pytorch():
    x = Tensor(np.array([0.0, 1.0, 2.0]), requires_grad=True)
    (x**0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])
    base = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    exponent = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    (base**exponent).sum().backward()
    np.testing.assert_array_equal(base.grad.data, [0.0, 3.0])
    np.testing.assert_array_equal(exponent.grad.data, [0.0, 0.0])


def test_pow_second_derivative_at_exponent_zero_is_kept():
    base, exponent = Tensor(np.float64(1.5), True), Tensor(np.float64(0.0), True)
    assert gradcheck(lambda b, e: b**e, [base, exponent], order=2)


def test_where_refuses_a_condition_that_is_not_boolean():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    for condition in (np.array([1, 0]), np.array([1.0, 0.0])):
        with pytest.raises(OpError, match=r"where: condition must be boolean, got (int64|float64)"):
            OPS["where"].apply(a, b, condition=condition)


def test_where_function_takes_truthy_conditions_and_sends_the_right_gradients():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    F.where(np.array([1, 0]), a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 1.0])


@pytest.mark.parametrize(
    "target, message",
    [
        (np.array([0, 1, 2]), r"integer labels must have shape \(4,\) .* got \(3,\)"),
        (np.array([[0], [1], [2], [0]]), r"got \(4, 1\); pass labels.reshape\(-1\)"),
        (np.array([0.0, 1.0, 2.0, 0.0]), r"dtype float64: class labels must be integers"),
    ],
)
def test_softmax_cross_entropy_op_refuses_targets_it_cannot_compute(target, message):
    logits = Tensor(np.ones((4, 3)), requires_grad=True)
    with pytest.raises(OpError, match=rf"softmax_cross_entropy: .*{message}"):
        OPS["softmax_cross_entropy"].apply(logits, Tensor(target))


def test_softmax_cross_entropy_op_refuses_3d_logits():
    logits = Tensor(np.ones((2, 2, 3)), requires_grad=True)
    with pytest.raises(OpError, match=r"expected scores of shape \(N, C\), got \(2, 2, 3\)"):
        OPS["softmax_cross_entropy"].apply(logits, Tensor(np.array([0, 1])))


def test_integer_inputs_do_not_truncate_losses():
    loss = F.softmax_cross_entropy(Tensor(np.array([[1, 2], [3, 1]])), np.array([0, 1]))
    assert loss.dtype == np.float32
    expected = np.mean([np.log(np.e + np.e**2) - 1, np.log(np.e**3 + np.e) - 1])
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert F.mean_squared_error(Tensor(np.array([1, 2])), np.array([0, 0])).item() == 2.5


def test_the_books_integer_one_hot_vector_is_a_target():
    y = Tensor(np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]))
    t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    assert F.cross_entropy_error(y, t).item() == pytest.approx(-np.log(0.6 + 1e-7))


@pytest.mark.parametrize(
    "make_grad",
    [
        lambda x: (x * np.ones(3)).sum().backward(),
        lambda x: (x * 2).backward(Tensor(np.ones(3))),
        lambda x: F.mean_squared_error(x, Tensor(np.zeros(3), requires_grad=True)).backward(),
    ],
    ids=["float64 constant", "float64 upstream", "float64 target"],
)
def test_a_float32_leaf_gets_a_float32_gradient(make_grad):
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    make_grad(x)
    assert x.grad.dtype == np.float32


# ----- input that must be refused -----------------------------------------------------------
@pytest.mark.parametrize(
    "data, message",
    [
        (None, "Tensor: got None"),
        ("abc", "Tensor: cannot make an array of str 'abc'"),
        ([[1, 2], [3]], "rows have different lengths"),
        (np.array(["a"]), "Tensor: data of dtype <U1 is not numbers"),
    ],
)
def test_tensor_refuses_what_is_not_numbers(data, message):
    with pytest.raises(TypeError, match=message):
        Tensor(data)


def test_broadcast_to_refuses_dropping_an_axis():
    with pytest.raises(OpError, match=r"broadcast_to: cannot broadcast .* \(1, 1, 3\) to \(1, 3\)"):
        Tensor(np.ones((1, 1, 3))).broadcast_to((1, 3))


def test_flatten_refuses_a_start_axis_out_of_range():
    with pytest.raises(OpError, match=r"flatten: start_axis 2 is out of range .* \(2, 3\)"):
        Tensor(np.ones((2, 3))).flatten(2)


def test_mT_of_a_vector_names_itself():
    with pytest.raises(ValueError, match=r"mT: needs at least 2 axes .* \(3,\)"):
        _ = Tensor(np.ones(3)).mT


def test_apply_on_arrays_names_call():
    with pytest.raises(TypeError, match=r"exp.apply takes Tensors.*Exp.call"):
        OPS["exp"].apply(np.ones(3))


def test_apply_with_too_many_inputs_names_the_arity():
    x = Tensor(np.ones(3))
    with pytest.raises(OpError, match=r"exp: takes 1 input\(s\), got 2"):
        OPS["exp"].apply(x, x)


def test_item_of_many_elements_says_how_to_reduce():
    with pytest.raises(ValueError, match=r"item: only a tensor with one element .* \(2,\)"):
        Tensor([1.0, 2.0]).item()


def test_grad_with_an_argnum_out_of_range_names_it():
    with pytest.raises(IndexError, match="grad: argnums 3 asks for argument 3"):
        grad(lambda x: (x * x).sum(), argnums=3)(Tensor([1.0]))


def test_gradcheck_refuses_a_nan_input_instead_of_calling_it_consistent():
    x = Tensor(np.array([1.0, np.nan]), requires_grad=True)
    with pytest.raises(ValueError, match=r"gradcheck: input 0 of .*<lambda> holds nan at \[1\]"):
        gradcheck(lambda x: (x * x).sum(), [x])


def test_replay_never_freezes_labels_read_outside_the_ops():
    w = Tensor(np.eye(3, dtype=np.float32), requires_grad=True)
    step = replay(lambda x, t: F.cross_entropy((x @ w).softmax(axis=1), t))
    x = np.ones((2, 3), np.float32)
    step(x, np.array([0, 1]))
    with pytest.warns(UserWarning, match="argument 1 reaches no op"):
        step(x, np.array([0, 1]))
    with pytest.raises(OpError, match="cross_entropy: labels must lie in 0..2"):
        step(x, np.array([3, 0]))


# ----- zero-size arrays: an answer exists ---------------------------------------------------
@pytest.mark.parametrize("function", [F.softmax, F.log_softmax])
def test_softmax_over_an_empty_axis_is_empty(function):
    x = Tensor(np.zeros((3, 0)), requires_grad=True)
    out = function(x, axis=1)
    out.sum().backward()
    assert out.shape == (3, 0) and x.grad.shape == (3, 0)


def test_flatten_of_an_empty_batch():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    out = x.flatten(1)
    out.sum().backward()
    assert out.shape == (0, 3) and x.grad.shape == (0, 3)


def test_jacobian_of_an_empty_input_is_empty():
    assert jacobian(lambda x: x * 2, Tensor(np.zeros(0))).shape == (0, 0)


def test_load_mnist_validation_is_a_count_not_a_fraction():
    from minigrad.datasets.mnist import load_mnist

    with pytest.raises(TypeError, match="load_mnist: validation is a number of digits"):
        load_mnist(validation=0.5)
