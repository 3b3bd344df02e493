"""Bad or unusual input: every call gives the right answer or a minigrad error whose
message names the function and what was wrong.

First the cases found by hand (issue 13), each pinned by a test."""

import os
import re
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mnist_fakes import make_fake_mnist
from npz_damage import set_encrypted_flag

import minigrad.functional as F
from minigrad import (
    OPS,
    OpError,
    Tensor,
    data,
    grad,
    gradcheck,
    gradients,
    nn,
    optim,
    replay,
    value_and_grad,
    viz,
)
from minigrad import jacobian as jacobian_transform
from minigrad.datasets import mnist
from minigrad.datasets.mnist import CACHE_NAME, FetchError, Sources, load_arrays, load_mnist
from minigrad.files import NpzError
from minigrad.gradient_check import jacobian
from minigrad.nn import StateDictError
from minigrad.testing import op_cases


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


# ----- found by the drawn suite below (and the earlier attempt), each pinned ------------------
def vector():
    return Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)


def empty_row():
    return Tensor(np.zeros((0, 3)), requires_grad=True)


REFUSED = {
    "Tensor([1.0, None]) was NaN": (lambda: Tensor([1.0, None]), r"Tensor: .*not all numbers"),
    "x + None was NaN": (lambda: vector() + None, r"Tensor: got None"),
    "x * [1, None, 2] was NaN": (lambda: vector() * [1, None, 2], r"Tensor: .*not all numbers"),
    "x + 'a' was NumPy's error": (lambda: vector() + "a", r"Tensor: .*str 'a'"),
    "requires_grad='no' meant True": (
        lambda: Tensor([1.0], requires_grad="no"),
        r"Tensor: requires_grad must be True or False, got 'no'",
    ),
    "dtype='float33' was NumPy's error": (
        lambda: Tensor([1.0], dtype="float33"),
        r"Tensor: dtype 'float33' is not a NumPy dtype",
    ),
    "transpose(0, 5) wrapped round": (
        lambda: Tensor(np.ones((2, 3))).transpose(0, 5),
        r"transpose: .*axis 5 is out of range for 2 axes",
    ),
    "keepdims='no'": (
        lambda: Tensor(np.ones((2, 3))).sum(axis=0, keepdims="no"),
        r"sum: keepdims must be True or False, got 'no'",
    ),
    "unsqueeze(True) meant 1": (
        lambda: vector().unsqueeze(True),
        r"unsqueeze: axis must be an int",
    ),
    "flatten(True) meant 1": (
        lambda: Tensor(np.ones((2, 3))).flatten(True),
        r"flatten: start_axis",
    ),
    "repeat_interleave(True) meant 1": (
        lambda: vector().repeat_interleave(True),
        r"repeat: repeats must be an int",
    ),
    "tile(True) failed in backward": (
        lambda: OPS["tile"].apply(empty_row(), reps=True),
        r"tile: reps must be ints",
    ),
    "clip with a dict bound made objects": (
        lambda: empty_row().clip({"a": 1}, 0.5),
        r"clip: low must be a number",
    ),
    "einsum subscripts a dict: AttributeError": (
        lambda: OPS["einsum"].apply(vector(), subscripts={"i": 1}),
        r"einsum: subscripts must be a string",
    ),
    "softmax axis 'abc' of an empty input": (
        lambda: empty_row().softmax(axis="abc"),
        r"softmax: .*axis must be an int",
    ),
    "log_softmax axis 9 of an empty input": (
        lambda: empty_row().log_softmax(axis=9),
        r"log_softmax: .*axis 9 is out of range",
    ),
    "ignore_index 'abc'": (
        lambda: F.softmax_cross_entropy(vector().reshape(1, 3), np.array([0]), ignore_index="abc"),
        r"softmax_cross_entropy: ignore_index must be an int",
    ),
    "float labels became integers beside integer logits": (
        lambda: F.softmax_cross_entropy(Tensor(np.array([[1, 2]])), np.array([0.0])),
        r"softmax_cross_entropy: .*class labels must be integers",
    ),
    "gradients(out, None): bare TypeError": (
        lambda: gradients((vector() * 2).sum(), None),
        r"gradients: inputs must be a Tensor or a list",
    ),
    "backward(create_graph='yes')": (
        lambda: (vector() * 2).sum().backward(create_graph="yes"),
        r"backward: create_graph must be True or False",
    ),
    "grad(argnums=1.5): bare TypeError": (
        lambda: grad(lambda x: (x * x).sum(), argnums=1.5)(vector()),
        r"grad: argnums must be an int",
    ),
    "grad(argnums=True) meant 1": (
        lambda: grad(lambda x, y: (x * y).sum(), argnums=True)(vector(), vector()),
        r"grad: argnums must be an int",
    ),
    "load_state_dict(None): AttributeError": (
        lambda: nn.Linear(2, 3).load_state_dict(None),
        r"Linear.load_state_dict: takes a dict",
    ),
    "save(None): NumPy's TypeError": (
        lambda: nn.Linear(2, 3).save(None),
        r"Linear.save: path must be a str",
    ),
    "gradcheck eps=0 reported a wrong gradient": (
        lambda: gradcheck(lambda x: (x * x).sum(), [Tensor([1.0], requires_grad=True)], eps=0),
        r"gradcheck: eps must be a finite number > 0, got 0",
    ),
    "gradcheck atol='a': UFuncTypeError": (
        lambda: gradcheck(lambda x: (x * x).sum(), [Tensor([1.0], requires_grad=True)], atol="a"),
        r"gradcheck: atol must be a number",
    ),
    "to_dot(checks='x'): AttributeError": (
        lambda: viz.to_dot((vector() * 2).sum(), checks="x"),
        r"to_dot: checks must be a list of node checks",
    ),
    "to_dot(trace='x'): AttributeError": (
        lambda: viz.to_dot((vector() * 2).sum(), trace="x"),
        r"to_dot: trace must be what trace_backward returns",
    ),
    "to_dot(show_values='no') meant True": (
        lambda: viz.to_dot((vector() * 2).sum(), show_values="no"),
        r"to_dot: show_values must be True or False",
    ),
    "load_mnist(dtype='float33'): NumPy's TypeError": (
        lambda: load_mnist(dtype="float33"),
        r"load_mnist: dtype 'float33' is not a NumPy dtype",
    ),
    "load_mnist(flatten='no') meant True": (
        lambda: load_mnist(flatten="no"),
        r"load_mnist: flatten must be True or False",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_found_bad_input_is_refused_with_its_name(case):
    call, message = REFUSED[case]
    with pytest.raises((TypeError, ValueError), match=message):
        call()


@pytest.mark.parametrize(
    "dtype, op",
    [
        (np.uint8, lambda x: x.sigmoid()),
        (np.uint8, lambda x: x.softmax()),
        (np.uint8, lambda x: F.log_sigmoid(x)),
        (np.bool_, lambda x: x.exp()),
        (np.int64, lambda x: x.tanh()),
        (np.int64, lambda x: F.softplus(x)),
        (np.int64, lambda x: x.mean()),
        (np.int64, lambda x: x / 2),
        (np.int64, lambda x: x.clip(0.5, 1.5)),
        (np.uint8, lambda x: F.mean_squared_error(x, np.full(3, 3, np.uint8))),
    ],
)
def test_integer_inputs_compute_in_float32_not_float16_or_wrapped(dtype, op):
    """uint8 and bool inputs gave float16 (NumPy's smallest float that holds them), int64
    gave float64, and uint8 differences wrapped round below 0 (MSE of [1, 2, 250] against 3
    was 95275, not 30507)."""
    values = np.array([1, 2, 250]) if dtype is np.uint8 else np.array([0, 1, 1])
    got = op(Tensor(values.astype(dtype)))
    expected = op(Tensor(values.astype(np.float64)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.data, expected.data, rtol=1e-6, atol=1e-7)


def test_softmax_cross_entropy_of_integer_rows_is_float32_for_every_reduction():
    logits = Tensor(np.array([[1, 2], [3, 1]]))
    rows = np.array([[0, 1], [1, 0]])
    assert F.softmax_cross_entropy(logits, rows, reduction="none").dtype == np.float32


def test_gradients_of_one_tensor_is_its_gradient_not_its_rows():
    x = vector()
    (found,) = gradients((x * x).sum(), x)  # iterating x gave new tensors: (None, None, None)
    np.testing.assert_array_equal(found.data, 2 * x.data)


def test_losses_take_arrays_for_their_first_argument():
    probs = np.full((2, 3), 1 / 3)
    assert F.cross_entropy(probs, np.array([0, 1])).item() == pytest.approx(np.log(3), rel=1e-6)
    assert F.softmax_cross_entropy(np.ones((2, 3)), np.array([0, 1])).item() == pytest.approx(
        np.log(3)
    )
    np.testing.assert_array_equal(F.reshape(vector(), 3).data, [1.0, 2.0, 3.0])


def test_sgd_steps_with_a_gradient_set_by_hand_as_an_array():
    param = Tensor(np.ones(3, np.float32), requires_grad=True)
    param.grad = np.full(3, 0.5, np.float32)  # an ndarray's .data is a memoryview
    optim.SGD([param], lr=0.1).step()
    np.testing.assert_allclose(param.data, 0.95)


def test_var_with_no_degrees_of_freedom_has_a_nan_gradient_not_a_zero_division():
    x = Tensor(np.array(2.0), requires_grad=True)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x.var(ddof=1).backward()
    assert np.isnan(x.grad.item())


# ===== drawn bad input, area by area ==========================================================
# Each test below draws calls of one area of the public API with Hypothesis and holds every
# call to the promise: the right answer, or a minigrad error whose message names the
# function. TRIED counts the calls per area; conftest.py prints it after the run.
TRIED: Counter = Counter()

NOT_NUMBERS = [
    None,
    "abc",
    "1.5",
    b"xy",
    {"a": 1},
    {1.0, 2.0},
    [1.0, None],
    [[1.0, 2.0], [3.0]],
    [1.0, "2"],
    np.array(["a", "b"]),
    np.array([1.0, None], dtype=object),
    np.array([1 + 2j]),
    np.array(["2026-01-01"], dtype="datetime64[D]"),
    object(),
    1 + 2j,
]
FLAGS_THAT_ARE_NOT_BOOLS = ["no", "", "False", 0, 1, None, 1.0, [True], np.array([True, False])]
RAISED = (TypeError, ValueError, IndexError, RuntimeError)


def assert_names(error: BaseException, *names: str) -> None:
    """A documented error whose message names one of `names` as the caller ("name: ...",
    "name.method", "name(")."""
    assert isinstance(error, RAISED), f"{type(error).__name__}: {error}"
    message = str(error)
    named = any(re.search(rf"(^|[\s'`(]){re.escape(name)}[:.(' ]", message) for name in names)
    assert named, f"{type(error).__name__} names none of {names}: {message}"


def refused_or(call: Callable[[], Any], *names: str) -> Any:
    """call()'s result, or None after checking that its error names the function."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except Exception as error:
        assert_names(error, *names)
        return None


def must_refuse(call: Callable[[], Any], *names: str) -> None:
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
    except Exception as error:
        assert_names(error, *names)
        return
    raise AssertionError(f"accepted, expected an error naming {names}: returned {result!r:.200}")


def op_names(op: type) -> tuple[str, ...]:
    return (op.name, op.__name__)


def backward_runs(out: Tensor, inputs: Sequence[Tensor]) -> None:
    """A forward that accepted its inputs has a backward that runs, with gradients of the
    inputs' shapes and dtypes: an op refuses in forward what it cannot differentiate."""
    if not out.requires_grad:
        return
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out.backward(np.ones(out.shape, out.dtype))
    for position, tensor in enumerate(inputs):
        if tensor.requires_grad:
            assert tensor.grad is not None, f"input {position} got no gradient"
            assert tensor.grad.shape == tensor.shape, (position, tensor.grad.shape, tensor.shape)
            assert tensor.grad.dtype == tensor.dtype, (position, tensor.grad.dtype, tensor.dtype)


# ----- Tensor construction and operators --------------------------------------------------------
good_data = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-(2**31), 2**31),
    st.booleans(),
    st.lists(st.floats(-1e3, 1e3, width=32), max_size=4),
    st.lists(st.lists(st.integers(-5, 5), min_size=2, max_size=2), max_size=3),
    hnp.arrays(
        st.sampled_from(
            [np.bool_, np.uint8, np.int8, np.int64, np.float16, np.float32, np.float64]
        ),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    ),
)


def as_numbers(data: Any, dtype: Any = None) -> np.ndarray:
    """What Tensor(data, dtype=dtype) must hold: the numbers themselves, lists and scalars
    as float32 unless a dtype is given."""
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype)
    return np.asarray(data, dtype=dtype or np.float32)


@settings(max_examples=200)
@given(
    data=st.one_of(good_data, st.sampled_from(NOT_NUMBERS)),
    requires_grad=st.sampled_from([False, True, *FLAGS_THAT_ARE_NOT_BOOLS]),
    dtype=st.sampled_from(
        [None, np.float32, np.float64, np.int64, "float33", object, np.complex64, str]
    ),
)
def test_drawn_tensor_construction(data, requires_grad, dtype):
    TRIED["Tensor construction"] += 1
    numbers = not any(data is bad for bad in NOT_NUMBERS)
    good_dtype = dtype in (None, np.float32, np.float64, np.int64)
    floating = numbers and good_dtype and (np.dtype(dtype or as_numbers(data).dtype).kind == "f")
    fits = (
        numbers and good_dtype and (requires_grad is False or (requires_grad is True and floating))
    )
    if not fits:
        must_refuse(lambda: Tensor(data, requires_grad=requires_grad, dtype=dtype), "Tensor")
        return
    tensor = Tensor(data, requires_grad=requires_grad, dtype=dtype)
    expected = as_numbers(data, dtype)
    assert tensor.dtype == expected.dtype and tensor.requires_grad is requires_grad
    np.testing.assert_array_equal(tensor.data, expected)


operators = {
    "add": lambda x, v: x + v,
    "sub": lambda x, v: v - x,
    "mul": lambda x, v: x * v,
    "div": lambda x, v: x / v,
    "pow": lambda x, v: x**v,
    "matmul": lambda x, v: x @ v,
    "maximum": lambda x, v: x.maximum(v) if isinstance(x, Tensor) else np.maximum(x, v),
}


@settings(max_examples=150)
@given(
    name=st.sampled_from(sorted(operators)),
    other=st.sampled_from(NOT_NUMBERS[:-2] + [np.array([1.0, 2.0, 3.0]), 2.0, 3]),
)
def test_drawn_operands_of_operators(name, other):
    TRIED["Tensor operators"] += 1
    x = Tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    if any(other is bad for bad in NOT_NUMBERS) or (name == "matmul" and np.ndim(other) == 0):
        must_refuse(lambda: operators[name](x, other), "Tensor", name)
        return
    out = operators[name](x, other)
    reference = operators[name](x.data.astype(np.float64), np.asarray(other, np.float64))
    np.testing.assert_allclose(out.data, reference, rtol=1e-6)
    # a number takes the tensor's dtype; an array promotes as in NumPy and PyTorch
    assert out.dtype == (np.float32 if np.ndim(other) == 0 else np.result_type(x.dtype, other))
    backward_runs(out.sum() if out.ndim else out, [x])


tensor_methods = {
    "sum": lambda x, v: x.sum(axis=v),
    "mean": lambda x, v: x.mean(v),
    "max": lambda x, v: x.max(axis=v),
    "softmax": lambda x, v: x.softmax(axis=v),
    "cumsum": lambda x, v: x.cumsum(axis=v),
    "squeeze": lambda x, v: x.squeeze(axis=v),
    "unsqueeze": lambda x, v: x.unsqueeze(v),
    "flatten": lambda x, v: x.flatten(v),
    "transpose": lambda x, v: x.transpose(0, v),
    "sum keepdims": lambda x, v: x.sum(axis=0, keepdims=v),
    "reshape": lambda x, v: x.reshape(v),
    "repeat": lambda x, v: x.repeat_interleave(v, axis=0),
    "tile": lambda x, v: x.tile(v),
    "item": lambda x, v: x[v].item(),
}
bad_axes = st.one_of(
    st.integers(2, 6),
    st.integers(-7, -3),
    st.sampled_from([1.5, "0", True, None, [0, 0], (0, 0), -0.5, np.float64(1.0)]),
)


@settings(max_examples=300)
@given(name=st.sampled_from(sorted(tensor_methods)), value=bad_axes)
def test_drawn_axes_and_sizes_of_tensor_methods(name, value):
    """Methods on a (2, 3) tensor with an axis or size out of range, fractional, a string or
    a bool: the right answer (None means every axis for a reduction), else an error naming
    the op."""
    TRIED["Tensor methods"] += 1
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    op = name.split()[0].replace("item", "getitem").replace("repeat", "repeat")
    out = refused_or(lambda: tensor_methods[name](x, value), op, "item", "getitem", "Tensor")
    if out is None:
        return
    # accepted: only what NumPy itself means the same way, and then the same answer
    reference = {
        "sum": lambda: x.data.sum(axis=value),
        "mean": lambda: x.data.mean(axis=value),
        "max": lambda: x.data.max(axis=value),
        "squeeze": lambda: np.squeeze(x.data, axis=value),
        "reshape": lambda: x.data.reshape(value),
        "tile": lambda: np.tile(x.data, value),
        "repeat": lambda: np.repeat(x.data, value, axis=0),
        "unsqueeze": lambda: np.expand_dims(x.data, value),
        "item": lambda: x.data[value].item(),
        "cumsum": lambda: np.cumsum(x.data, axis=value),
        "sum keepdims": lambda: x.data.sum(axis=0, keepdims=value),
    }
    assert name in reference, f"{name}({value!r}) was accepted: {out!r}"
    wrong_kind = (float, str) if name == "sum keepdims" else (bool, float, str)
    assert not isinstance(value, wrong_kind), f"{name}({value!r}) was accepted"
    np.testing.assert_allclose(out.data if isinstance(out, Tensor) else out, reference[name]())
    if isinstance(out, Tensor):
        backward_runs(out.sum(), [x])


def test_bool_and_len_name_themselves():
    TRIED["Tensor methods"] += 4
    with pytest.raises(ValueError, match=r"bool: only a tensor with one element .* \(2,\)"):
        bool(Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="len: a 0-d tensor has no length"):
        len(Tensor(1.0))
    assert bool(Tensor([0.0])) is False and len(Tensor(np.zeros((4, 2)))) == 4


# ----- every registered op ---------------------------------------------------------------------
ALL_OPS = sorted(OPS)
ODD_DTYPES = [np.bool_, np.int8, np.uint8, np.int64, np.float16]


def whole_values(array: np.ndarray, dtype: Any) -> np.ndarray:
    """The drawn float values moved to numbers `dtype` holds exactly, as float64."""
    if dtype is np.bool_:
        return (array > 0).astype(np.float64)
    if dtype is np.uint8:
        return np.abs(np.round(array))
    if dtype is np.float16:
        return array.astype(np.float16).astype(np.float64)
    return np.round(array)


@pytest.mark.parametrize("name", ALL_OPS)
@settings(max_examples=10)
@given(data=st.data())
def test_drawn_dtypes_for_every_op(name, data):
    """bool, int8, uint8, int64 and float16 inputs: the float64 answer on the same numbers
    (in float32 where integers need a real result, never float16 or float64, never wrapped
    round), or an error naming the op."""
    TRIED["ops: dtypes"] += 1
    dtype = data.draw(st.sampled_from(ODD_DTYPES), label="dtype")
    case = data.draw(op_cases(OPS[name]), label="case")
    floating = [t.dtype.kind == "f" for t in case.inputs]
    whole = [whole_values(t.data, dtype) if f else t.data for t, f in zip(case.inputs, floating)]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = case.op.apply(*[Tensor(w) for w in whole], **case.params).data
        except OpError:
            return  # rounding made the inputs ones the op refuses (a zero step, say)
    odd = [Tensor(w.astype(dtype)) if f else Tensor(w) for w, f in zip(whole, floating)]
    got = refused_or(lambda: case.op.apply(*odd, **case.params), *op_names(case.op))
    if got is None:
        return
    if got.dtype.kind == "f":
        wanted = np.float16 if dtype is np.float16 else np.float32
        assert got.dtype == wanted, f"{name} of {np.dtype(dtype)} gave {got.dtype}"
        tolerance = 2e-2 if dtype is np.float16 else 1e-5
        np.testing.assert_allclose(
            got.data, expected, rtol=tolerance, atol=tolerance, equal_nan=True
        )
    elif got.dtype == np.bool_:
        np.testing.assert_array_equal(got.data, expected.astype(bool))
    elif dtype is np.int64 or got.dtype.itemsize == 8:
        np.testing.assert_array_equal(got.data, expected)
    else:  # integer arithmetic wraps in its own width, as in NumPy and PyTorch
        width = 2 ** (8 * got.dtype.itemsize)
        np.testing.assert_array_equal(
            got.data.astype(np.int64) % width, expected.astype(np.int64) % width
        )


BAD_PARAMS = ["abc", {"a": 1}, object(), [None], np.nan, 1.5, -1.5, 10**6, -(10**6), True, -1, 0]
NEVER_A_PARAM = 4  # the first four are nothing any op's param may be


@pytest.mark.parametrize("name", [name for name in ALL_OPS if OPS[name].params])
@settings(max_examples=12)
@given(data=st.data())
def test_drawn_params_for_every_op(name, data):
    """One param replaced by a wrong kind of value (a string, a dict, NaN, a fraction, a
    huge or negative number, a bool): an error naming the op, or a forward and backward
    that both run; strings, dicts and objects are always refused, and so are non-bools
    for a flag such as keepdims."""
    TRIED["ops: params"] += 1
    op = OPS[name]
    case = data.draw(op_cases(op), label="case")
    param = data.draw(st.sampled_from(op.params), label="param")
    value = data.draw(st.sampled_from(BAD_PARAMS + FLAGS_THAT_ARE_NOT_BOOLS), label="value")
    params = dict(case.params, **{param: value})
    never = any(value is bad for bad in BAD_PARAMS[:NEVER_A_PARAM])
    if never or (param in op.flags and not isinstance(value, bool)):
        must_refuse(lambda: op.apply(*case.inputs, **params), *op_names(op))
        return
    out = refused_or(lambda: op.apply(*case.inputs, **params), *op_names(op))
    if out is not None:
        backward_runs(out, case.inputs)


odd_shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)


@pytest.mark.parametrize("name", ALL_OPS)
@settings(max_examples=12)
@given(data=st.data())
def test_drawn_shapes_and_values_for_every_op(name, data):
    """One input of any shape (0-d, empty sides, more axes), or holding NaN and inf: an
    error naming the op and its shapes, or a forward and a backward that both run."""
    TRIED["ops: shapes and values"] += 1
    op = OPS[name]
    case = data.draw(op_cases(op), label="case")
    inputs = list(case.inputs)
    position = data.draw(st.integers(0, len(inputs) - 1), label="position")
    chosen = inputs[position]
    if data.draw(st.booleans(), label="reshape"):
        shape = data.draw(odd_shapes, label="shape")
        values = np.resize(chosen.data, shape) if chosen.size else np.zeros(shape, chosen.dtype)
    else:
        values = chosen.data.copy()
        if values.size and values.dtype.kind == "f":
            spots = data.draw(st.lists(st.integers(0, values.size - 1), min_size=1, max_size=3))
            values.flat[spots] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    inputs[position] = Tensor(values, requires_grad=chosen.requires_grad)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = op.apply(*inputs, **case.params)
    except Exception as error:
        assert_names(error, *op_names(op))
        if isinstance(error, OpError) and values.shape != chosen.shape:
            assert any(str(t.shape) in str(error) for t in inputs) or "shape" in str(error), str(
                error
            )
        return
    backward_runs(out, inputs)


@pytest.mark.parametrize("name", ALL_OPS)
def test_every_op_refuses_arrays_and_a_wrong_number_of_inputs(name):
    op = OPS[name]
    TRIED["ops: inputs"] += 2
    must_refuse(lambda: op.apply(np.ones(3), **op.examples), op.name, op.__name__)
    if op.arity is not None:
        extra = [Tensor(np.ones(3))] * (op.arity + 1)
        must_refuse(lambda: op.apply(*extra, **op.examples), op.name, op.__name__)


# ----- losses ----------------------------------------------------------------------------------
def good_labels(rows: int, classes: int) -> np.ndarray:
    return np.arange(rows) % classes


bad_targets = st.sampled_from(
    [
        "labels too short",
        "labels too long",
        "labels (N, 1)",
        "float labels",
        "label too large",
        "negative label",
        "rows of the wrong width",
        "NaN rows",
        "3-D rows",
        "None",
        "strings",
        "ragged",
        "good labels",
        "good rows",
    ]
)


def make_target(kind: str, rows: int, classes: int) -> Any:
    labels = good_labels(rows, classes)
    return {
        "labels too short": labels[:-1],
        "labels too long": np.append(labels, 0),
        "labels (N, 1)": labels.reshape(-1, 1),
        "float labels": labels.astype(float),
        "label too large": np.append(labels[:-1], classes),
        "negative label": np.append(labels[:-1], -1),
        "rows of the wrong width": np.full((rows, classes + 1), 1.0 / (classes + 1)),
        "NaN rows": np.full((rows, classes), np.nan),
        "3-D rows": np.full((rows, classes, 1), 1.0 / classes),
        "None": None,
        "strings": ["a"] * rows,
        "ragged": [[0.5, 0.5]] * (rows - 1) + [[1.0]],
        "good labels": labels,
        "good rows": np.eye(classes)[labels],
    }[kind]


label_losses = {
    "softmax_cross_entropy": (F.softmax_cross_entropy, F.softmax_cross_entropy_composed),
    "cross_entropy": (lambda y, t: F.cross_entropy(y.softmax(axis=1), t), None),
    "nll_loss": (lambda y, t: F.nll_loss(y.log_softmax(axis=1), t), None),
}


@settings(max_examples=150)
@given(
    loss=st.sampled_from(sorted(label_losses)),
    kind=bad_targets,
    rows=st.integers(1, 4),
    classes=st.integers(2, 4),
    logits_kind=st.sampled_from(["array", "tensor", "ndarray", "int", "3-D"]),
)
def test_drawn_targets_of_classification_losses(loss, kind, rows, classes, logits_kind):
    """Targets of the wrong length, shape, dtype or range, None and strings: refused with
    the loss's name; good ones give the composed twin's value, whatever the logits arrive
    as (a Tensor, an ndarray, integers)."""
    TRIED["losses"] += 1
    values = np.linspace(-1, 1, rows * classes).reshape(rows, classes)
    logits = {
        "array": Tensor(values, requires_grad=True),
        "tensor": Tensor(values.astype(np.float32), requires_grad=True),
        "ndarray": values,
        "int": Tensor(np.round(values * 3).astype(np.int64)),
        "3-D": Tensor(values[..., None], requires_grad=True),
    }[logits_kind]
    target = make_target(kind, rows, classes)
    function, twin = label_losses[loss]
    # NaN probabilities give a NaN loss, as in PyTorch: the answer, not an error
    fits = kind in ("good labels", "good rows", "NaN rows") and logits_kind != "3-D"
    fits = fits and not (loss == "nll_loss" and kind != "good labels")
    if loss != "softmax_cross_entropy" and logits_kind == "ndarray":
        logits = Tensor(values)  # those two are called on a method's result
    if not fits:
        must_refuse(lambda: function(logits, target), loss, "softmax", "log_softmax", "Tensor")
        return
    out = function(logits, target)
    assert out.dtype.kind == "f" and out.shape == ()
    floats = F.tensor(logits).data.astype(np.float64)
    probs = np.exp(floats - floats.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    rows_target = np.eye(classes)[target] if kind == "good labels" else target
    eps = 1e-7 if loss == "cross_entropy" else 0.0
    expected = -(rows_target * np.log(probs + eps)).sum() / rows
    np.testing.assert_allclose(out.item(), expected, rtol=1e-5)
    if twin is not None:
        np.testing.assert_allclose(out.item(), twin(logits, target).item(), rtol=1e-5)


@settings(max_examples=100)
@given(
    reduction=st.sampled_from(["mean", "sum", "none", "avg", "", None, 1, "MEAN"]),
    target=st.sampled_from(["same", "int same", "labels", "wrong shape", "None", "strings", "NaN"]),
    y_kind=st.sampled_from(["float32", "uint8", "int64", "ndarray", "list"]),
)
def test_drawn_inputs_of_mean_squared_error(reduction, target, y_kind):
    """MSE of uint8 and int inputs is the float answer (no wrapping, no truncation); a
    reduction that is not one of the three, integer labels for rows and None are refused."""
    TRIED["losses"] += 1
    values = np.array([[0.0, 1.0, 2.0], [3.0, 250.0, 1.0]])
    y = {
        "float32": Tensor(values.astype(np.float32), requires_grad=True),
        "uint8": Tensor(values.astype(np.uint8)),
        "int64": Tensor(values.astype(np.int64)),
        "ndarray": values,
        "list": values.tolist(),
    }[y_kind]
    goal = np.array([[1.0, 1.0, 1.0], [5.0, 0.0, 2.0]])
    t = {
        "same": goal,
        "int same": goal.astype(np.uint8),
        "labels": np.array([0, 2]),
        "wrong shape": np.ones((3, 2)),
        "None": None,
        "strings": [["a"] * 3] * 2,
        "NaN": np.full((2, 3), np.nan),
    }[target]
    fits = reduction in ("mean", "sum", "none") and target in ("same", "int same", "NaN")
    if not fits:
        must_refuse(
            lambda: F.mean_squared_error(y, t, reduction=reduction), "mean_squared_error", "Tensor"
        )
        return
    out = F.mean_squared_error(y, t, reduction=reduction)
    per_row = 0.5 * ((values - t.astype(np.float64)) ** 2).sum(axis=1)
    expected = {"none": per_row, "sum": per_row.sum(), "mean": per_row.mean()}[reduction]
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    # integers compute in float32; a float64 array beside them promotes, as in NumPy
    floating = [
        a.dtype if a.dtype.kind == "f" else np.float32 for a in (F.tensor(y), np.asarray(t))
    ]
    wanted = np.float32 if y_kind == "float32" else np.result_type(*floating)
    assert out.dtype == wanted, (out.dtype, wanted)


# ----- backward --------------------------------------------------------------------------------
@settings(max_examples=150)
@given(
    grad=st.one_of(
        st.sampled_from(["none", "ones", "wrong shape", "list", "float64", "NaN"]),
        st.sampled_from(NOT_NUMBERS[:8]),
    ),
    retain_graph=st.sampled_from([None, True, False, "no", 1]),
    create_graph=st.sampled_from([False, True, "yes", 0, None]),
    shape=st.sampled_from([(), (3,), (2, 3)]),
)
def test_drawn_arguments_of_backward(grad, retain_graph, create_graph, shape):
    """backward's gradient: the right one (3 * grad for y = 3x), or an error naming
    backward; flags that are not bools are refused."""
    TRIED["backward"] += 1
    x = Tensor(np.ones(shape, np.float32), requires_grad=True)
    y = x * 3
    given_grad = (
        {
            "none": None,
            "ones": np.ones(shape, np.float32),
            "wrong shape": np.ones(shape + (2,)),
            "list": np.ones(shape).tolist(),
            "float64": np.full(shape, 2.0),
            "NaN": np.full(shape, np.nan),
        }.get(grad, grad)
        if isinstance(grad, str)
        and grad in ("none", "ones", "wrong shape", "list", "float64", "NaN")
        else grad
    )
    fits_grad = (
        isinstance(grad, str)
        and grad in ("ones", "list", "float64", "NaN")
        or (given_grad is None and shape == ())
    )
    fits = fits_grad and retain_graph in (None, True, False) and isinstance(create_graph, bool)
    fits = fits and not (isinstance(retain_graph, int) and not isinstance(retain_graph, bool))
    if not fits:
        must_refuse(
            lambda: y.backward(given_grad, retain_graph=retain_graph, create_graph=create_graph),
            "backward",
            "Tensor",
        )
        return
    y.backward(given_grad, retain_graph=retain_graph, create_graph=create_graph)
    upstream = np.ones(shape) if given_grad is None else np.asarray(given_grad, np.float64)
    np.testing.assert_array_equal(x.grad.data, 3 * upstream.astype(np.float32))
    assert x.grad.dtype == np.float32


@settings(max_examples=60)
@given(inputs=st.sampled_from(["tensor", "list", "tuple", "ndarray", "None", "strings", "mixed"]))
def test_drawn_inputs_of_gradients(inputs):
    TRIED["backward"] += 1
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    out = (x * x).sum()
    given_inputs = {
        "tensor": x,
        "list": [x],
        "tuple": (x,),
        "ndarray": np.ones(3),
        "None": None,
        "strings": ["x"],
        "mixed": [x, np.ones(3)],
    }[inputs]
    if inputs not in ("tensor", "list", "tuple"):
        must_refuse(lambda: gradients(out, given_inputs), "gradients")
        return
    (found,) = gradients(out, given_inputs)
    np.testing.assert_array_equal(found.data, 2 * x.data)


# ----- functional transforms -------------------------------------------------------------------
transforms = {"grad": grad, "value_and_grad": value_and_grad, "jacobian": jacobian_transform}


@settings(max_examples=150)
@given(
    transform=st.sampled_from(sorted(transforms)),
    argnums=st.sampled_from([0, 1, -1, -2, (0, 1), 2, -3, (0, 0), 1.5, "0", None, True, [0]]),
    argument=st.sampled_from(["tensor", "ndarray", "list", "int array", "None", "string"]),
)
def test_drawn_arguments_of_functional_transforms(transform, argnums, argument):
    """grad/value_and_grad/jacobian of f(a, b) = sum(a * a * b): the right derivative for
    every argnums that names arguments (negative ones count from the end), else an error
    naming the transform."""
    TRIED["functional"] += 1
    a_values = np.array([1.0, 2.0])
    a = {
        "tensor": Tensor(a_values),
        "ndarray": a_values,
        "list": [1.0, 2.0],
        "int array": np.array([1, 2]),
        "None": None,
        "string": "ab",
    }[argument]
    b = Tensor(np.array([3.0, 5.0]))

    def f(a, b):
        return (a * a * b).sum()

    derivative = {0: 2 * a_values * b.data, 1: a_values**2}
    whole = [0, 1, -1, -2, (0, 1), (0, 0), [0]]
    fits = any(argnums == w and type(argnums) is type(w) for w in whole)
    picks_a = fits and 0 in [number % 2 for number in np.atleast_1d(argnums)]
    # an argument that is not differentiated reaches f as it is: f's a * a must work on it
    assume(picks_a or not fits or argument in ("tensor", "ndarray", "int array"))
    if picks_a:
        fits = argument in ("tensor", "ndarray", "list")
    call = lambda: transforms[transform](f, argnums=argnums)(a, b)  # noqa: E731
    if not fits:
        must_refuse(call, transform, "grad", "Tensor", "mul")
        return
    result = call()
    if transform == "value_and_grad":
        np.testing.assert_allclose(result[0].item(), (a_values**2 * b.data).sum())
        result = result[1]
    picked = [argnums] if isinstance(argnums, int) else list(argnums)
    found = [result] if isinstance(argnums, int) else list(result)
    assert len(found) == len(picked)
    for number, value in zip(picked, found):
        np.testing.assert_allclose(np.asarray(value.data).reshape(-1), derivative[number % 2])


# ----- nn: layers, state dicts, save and load ----------------------------------------------------
@settings(max_examples=150)
@given(
    in_features=st.sampled_from([0, 1, 3, -1, 2.5, "3", True, None, np.int64(2)]),
    out_features=st.sampled_from([0, 2, -2, 1.0, "2", False]),
    init=st.sampled_from(["xavier", "he", 0.1, "abc", -1.0, None, np.nan, True]),
)
def test_drawn_sizes_of_linear(in_features, out_features, init):
    """Linear's sizes and init: whole numbers >= 0 and a known init build a layer whose
    forward and backward have the right shapes (0 included); the rest is refused naming
    Linear."""
    TRIED["nn layers"] += 1
    whole = lambda n: isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0  # noqa: E731
    fits = whole(in_features) and whole(out_features) and init in ("xavier", "he", 0.1)
    if not fits:
        must_refuse(lambda: nn.Linear(in_features, out_features, init=init), "Linear")
        return
    layer = nn.Linear(in_features, out_features, init=init)
    x = Tensor(np.ones((2, in_features), np.float32), requires_grad=True)
    out = layer(x)
    assert out.shape == (2, out_features)
    backward_runs(out.sum(), [x, *layer.parameters()])


@settings(max_examples=100)
@given(
    sizes=st.sampled_from(
        [[2, 3, 1], [2, 1], [2], [], [2, -1, 1], [2, 2.5, 1], "23", None, [2, "3"]]
    ),
    x=st.sampled_from(["good", "ragged", "None", "wrong width", "strings", "3-D"]),
)
def test_drawn_sizes_and_inputs_of_mlp(sizes, x):
    TRIED["nn layers"] += 1
    data = {
        "good": [[1.0, 2.0], [3.0, 4.0]],
        "ragged": [[1.0, 2.0], [3.0]],
        "None": None,
        "wrong width": np.ones((2, 5)),
        "strings": [["a", "b"]],
        "3-D": np.ones((2, 2, 2), np.float32),
    }[x]
    good_sizes = sizes in ([2, 3, 1], [2, 1])
    if not good_sizes:
        must_refuse(lambda: nn.MLP(sizes), "MLP", "Linear")
        return
    model = nn.MLP(sizes)
    if x not in ("good", "3-D"):
        must_refuse(lambda: model(data), "MLP", "Linear", "linear", "Tensor", "matmul")
        return
    out = model(data)  # a batch of batches for 3-D input, as in PyTorch
    assert out.shape == np.shape(data)[:-1] + (sizes[-1],)


state_kinds = st.sampled_from(
    [
        "good",
        "None",
        "list",
        "missing",
        "extra",
        "wrong shape",
        "strings",
        "object",
        "float64",
        "NaN",
        "Tensor",
    ]
)


@settings(max_examples=100)
@given(kind=state_kinds)
def test_drawn_state_dicts(kind):
    """load_state_dict: a fitting dict (arrays or Tensors, any float width) is copied in,
    cast to the parameters' dtype; anything else is refused naming the method, and leaves
    the weights as they were."""
    TRIED["nn save/load"] += 1
    model = nn.Linear(2, 3)
    before = {name: value.copy() for name, value in model.state_dict().items()}
    good = {name: np.full(value.shape, 0.5) for name, value in before.items()}
    state = {
        "good": good,
        "None": None,
        "list": list(good.values()),
        "missing": dict(list(good.items())[:1]),
        "extra": dict(good, other=np.ones(1)),
        "wrong shape": {name: np.ones(3) for name in good},
        "strings": {name: np.full(value.shape, "a") for name, value in good.items()},
        "object": {name: np.full(value.shape, None) for name, value in good.items()},
        "float64": {name: value.astype(np.float64) for name, value in good.items()},
        "NaN": {name: np.full(value.shape, np.nan) for name, value in good.items()},
        "Tensor": {name: Tensor(value) for name, value in good.items()},
    }[kind]
    if kind not in ("good", "float64", "NaN", "Tensor"):
        must_refuse(lambda: model.load_state_dict(state), "Linear.load_state_dict")
        for name, value in model.state_dict().items():
            np.testing.assert_array_equal(value, before[name])
        return
    model.load_state_dict(state)
    for name, value in model.state_dict().items():
        assert value.dtype == before[name].dtype
        expected = np.nan if kind == "NaN" else 0.5
        np.testing.assert_array_equal(value, np.full(value.shape, expected, value.dtype))


@settings(max_examples=60)
@given(
    damage=st.sampled_from(["flip", "truncate", "encrypted", "empty", "not a path", "directory"]),
    where=st.floats(0, 1),
)
def test_drawn_damage_to_saved_weights(damage, where, tmp_path_factory):
    """Module.load of a damaged copy of its own save: the saved weights exactly, or
    NpzError / StateDictError / a TypeError naming the path or the method."""
    TRIED["nn save/load"] += 1
    folder = tmp_path_factory.mktemp("weights")
    model = nn.Linear(3, 2)
    path = model.save(folder / "weights.npz")
    raw = bytearray(path.read_bytes())
    target: Any = path
    if damage == "flip":
        position = int(where * (len(raw) - 1))
        raw[position] ^= 1 << (position % 8)
        path.write_bytes(bytes(raw))
    elif damage == "truncate":
        path.write_bytes(bytes(raw[: int(where * len(raw))]))
    elif damage == "encrypted":
        set_encrypted_flag(path)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "not a path":
        target = [path]
    else:
        target = folder
    other = nn.Linear(3, 2)
    try:
        other.load(target)
    except (NpzError, StateDictError, IsADirectoryError) as error:
        assert str(target) in str(error) or "Linear.load" in str(error), str(error)
        return
    except TypeError as error:
        assert_names(error, "Linear.load")
        return
    for name, value in other.state_dict().items():
        np.testing.assert_array_equal(value, model.state_dict()[name])


@settings(max_examples=30)
@given(path=st.sampled_from([None, 3, b"", ["w.npz"], "folder", "missing/w.npz"]))
def test_drawn_save_paths(path, tmp_path_factory):
    TRIED["nn save/load"] += 1
    folder = tmp_path_factory.mktemp("save")
    target = folder if path == "folder" else (folder / path if path == "missing/w.npz" else path)
    try:
        nn.Linear(2, 2).save(target)
    except (TypeError, OSError) as error:
        assert "Linear.save" in str(error) or str(folder) in str(error), str(error)
        assert not [name for name in os.listdir(folder) if name.startswith(".")]
        return
    raise AssertionError(f"save to {target!r} was accepted")


# ----- optim -----------------------------------------------------------------------------------
optimizers = {
    "SGD": lambda params, value: optim.SGD(params, lr=value),
    "SGD momentum": lambda params, value: optim.SGD(params, lr=0.1, momentum=value),
    "Adam": lambda params, value: optim.Adam(params, lr=value),
    "Adam eps": lambda params, value: optim.Adam(params, eps=value),
    "Adam betas": lambda params, value: optim.Adam(params, betas=(value, 0.999)),
    "RMSprop": lambda params, value: optim.RMSprop(params, lr=value),
    "AdaGrad": lambda params, value: optim.AdaGrad(params, lr=value),
    "AdamW decay": lambda params, value: optim.AdamW(params, weight_decay=value),
}


@settings(max_examples=200)
@given(
    name=st.sampled_from(sorted(optimizers)),
    value=st.sampled_from([0.1, 0.5, 0.0, -0.1, np.nan, np.inf, None, "0.1", True, [0.1], 1.0]),
)
def test_drawn_options_of_optimizers(name, value):
    """A rate or option that is negative, NaN, inf, None, a string or a bool is refused
    naming the optimizer; one in range gives a finite step."""
    TRIED["optim"] += 1
    param = Tensor(np.ones(3, np.float32), requires_grad=True)
    param.grad = Tensor(np.full(3, 0.5, np.float32))
    kind = name.split()[0]
    try:
        optimizer = optimizers[name]([param], value)
    except Exception as error:
        assert_names(error, kind)
        return
    assert isinstance(value, float) and np.isfinite(value) and value >= 0, f"{name} took {value!r}"
    optimizer.step()
    assert np.all(np.isfinite(param.data)) and param.dtype == np.float32
    if name == "SGD":
        np.testing.assert_allclose(param.data, 1 - value * 0.5, rtol=1e-6)


@settings(max_examples=100)
@given(grad=st.sampled_from(["Tensor", "ndarray", "(1,)", "(3, 1)", "strings", "list", "float64"]))
def test_drawn_gradients_for_a_step(grad):
    """SGD.step takes a Tensor or an array of the parameter's shape (its step is lr * grad);
    other shapes and non-numbers are refused naming SGD.step, and nothing changes."""
    TRIED["optim"] += 1
    param = Tensor(np.ones(3, np.float32), requires_grad=True)
    param.grad = {
        "Tensor": Tensor(np.full(3, 0.5, np.float32)),
        "ndarray": np.full(3, 0.5, np.float32),
        "(1,)": np.full(1, 0.5),
        "(3, 1)": np.full((3, 1), 0.5),
        "strings": np.array(["a"] * 3),
        "list": [0.5] * 3,
        "float64": np.full(3, 0.5),
    }[grad]
    step = optim.SGD([param], lr=0.1)
    if grad in ("(1,)", "(3, 1)", "strings"):
        must_refuse(step.step, "SGD.step")
        np.testing.assert_array_equal(param.data, np.ones(3))
        return
    step.step()
    np.testing.assert_allclose(param.data, np.full(3, 0.95), rtol=1e-6)
    assert param.dtype == np.float32


@settings(max_examples=50)
@given(params=st.sampled_from(["list", "generator", "Tensor", "empty", "None", "arrays", "ints"]))
def test_drawn_parameter_lists(params):
    TRIED["optim"] += 1
    weight = Tensor(np.ones(2, np.float32), requires_grad=True)
    given_params = {
        "list": [weight],
        "generator": (p for p in [weight]),
        "Tensor": weight,
        "empty": [],
        "None": None,
        "arrays": [np.ones(2)],
        "ints": [Tensor(np.array([1, 2]))],
    }[params]
    if params not in ("list", "generator"):
        must_refuse(lambda: optim.SGD(given_params, lr=0.1), "SGD")
        return
    optimizer = optim.SGD(given_params, lr=0.1)
    weight.grad = Tensor(np.ones(2, np.float32))
    optimizer.step()
    np.testing.assert_allclose(weight.data, 0.9)


# ----- DataLoader ------------------------------------------------------------------------------
@settings(max_examples=150)
@given(
    batch_size=st.sampled_from([1, 3, 7, 100, 0, -1, 2.5, "2", None, True, np.int64(2)]),
    shuffle=st.sampled_from([False, True, "no", 1]),
    drop_last=st.sampled_from([False, True, "yes", None]),
    arrays=st.sampled_from(
        ["pair", "one", "none", "lengths differ", "list", "0-d", "empty", "strings"]
    ),
)
def test_drawn_arguments_of_data_loader(batch_size, shuffle, drop_last, arrays):
    """DataLoader's batches cover every example once (less a short last batch with
    drop_last), rows kept together; bad sizes, flags and arrays are refused naming it."""
    TRIED["DataLoader"] += 1
    x, t = np.arange(14.0).reshape(7, 2), np.arange(7)
    given_arrays = {
        "pair": (x, t),
        "one": (x,),
        "none": (),
        "lengths differ": (x, t[:5]),
        "list": (x.tolist(), t),
        "0-d": (np.float64(1.0),),
        "empty": (x[:0], t[:0]),
        "strings": (np.array(["a"] * 7),),
    }[arrays]
    whole = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
    fits = whole and batch_size >= 1 and isinstance(shuffle, bool) and isinstance(drop_last, bool)
    fits = fits and arrays in ("pair", "one", "empty")
    if not fits:
        must_refuse(
            lambda: list(
                data.DataLoader(
                    *given_arrays, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last
                )
            ),
            "DataLoader",
        )
        return
    loader = data.DataLoader(
        *given_arrays, batch_size=batch_size, shuffle=shuffle, seed=0, drop_last=drop_last
    )
    batches = list(loader)
    count = len(given_arrays[0])
    full = count // batch_size if drop_last else -(-count // batch_size)
    assert len(batches) == full == len(loader)
    if batches:
        seen = np.concatenate([batch[0] for batch in batches])
        kept = full * batch_size if drop_last else count
        assert len(seen) == kept and len(np.unique(seen, axis=0)) == kept
        if arrays == "pair":
            for images, labels in batches:
                np.testing.assert_array_equal(images[:, 0] / 2, labels)


# ----- gradcheck -------------------------------------------------------------------------------
def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@settings(max_examples=150)
@given(
    option=st.sampled_from(["eps", "atol", "rtol", "order", "mode", "seed", "raise_exception"]),
    value=st.sampled_from([0, -1e-3, 1e-6, np.nan, np.inf, "a", None, True, 1, 2, 3, 1.5, "fast"]),
)
def test_drawn_options_of_gradcheck(option, value):
    """gradcheck of a right gradient passes for every option in range and refuses the rest
    naming gradcheck; it never reports a wrong gradient for a bad option."""
    TRIED["gradcheck"] += 1
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    fits = {
        "eps": value is None or (is_number(value) and 0 < value < np.inf),
        "atol": value is None or (is_number(value) and 0 <= value < np.inf),
        "rtol": value is None or (is_number(value) and 0 <= value < np.inf),
        "order": value in (1, 2) and not isinstance(value, (bool, float)),
        "mode": value == "fast",
        "seed": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        "raise_exception": value is True,
    }[option]
    call = lambda: gradcheck(lambda x: (x * x).sum(), [x], **{option: value})  # noqa: E731
    if not fits:
        must_refuse(call, "gradcheck")
        return
    assert call()


@settings(max_examples=60)
@given(
    inputs=st.sampled_from(["good", "None", "strings", "list", "int", "NaN", "no grad", "nested"])
)
def test_drawn_inputs_of_gradcheck(inputs):
    TRIED["gradcheck"] += 1
    given_inputs = {
        "good": [Tensor(np.array([0.5, 1.5]), requires_grad=True)],
        "None": None,
        "strings": ["x"],
        "list": [[0.5, 1.5]],
        "int": [Tensor(np.array([1, 2]))],
        "NaN": [Tensor(np.array([np.nan, 1.0]), requires_grad=True)],
        "no grad": [Tensor(np.array([0.5]))],
        "nested": [[Tensor(np.array([0.5]), requires_grad=True)]],
    }[inputs]
    call = lambda: gradcheck(lambda *xs: sum((x * x).sum() for x in xs), given_inputs)  # noqa: E731
    if inputs != "good":
        must_refuse(call, "gradcheck")
        return
    assert call()


# ----- load_mnist on damaged copies ------------------------------------------------------------
FAKE_MNIST = make_fake_mnist()


def offline_sources() -> Sources:
    return Sources(mirrors=(), timeout=0.2, retries=1, retry_delay=0.0, npm=None)


@settings(max_examples=40)
@given(
    damage=st.sampled_from(["flip", "truncate", "encrypted", "empty", "zeros"]),
    where=st.floats(0, 1),
    idx_files=st.booleans(),
)
def test_drawn_damage_to_the_mnist_cache(damage, where, idx_files, tmp_path_factory):
    """A damaged cache: the right digits again, rebuilt from the IDX files when they are
    there; without them, an error naming the file or the loader, never wrong digits."""
    TRIED["load_mnist damaged"] += 1
    folder = tmp_path_factory.mktemp("mnist")
    FAKE_MNIST.write(folder)
    load_arrays(folder, files=FAKE_MNIST.files, sources=offline_sources())
    cache = folder / CACHE_NAME
    raw = bytearray(cache.read_bytes())
    if damage == "flip":
        position = int(where * (len(raw) - 1))
        raw[position] ^= 1 << (position % 8)
    elif damage == "truncate":
        raw = raw[: int(where * len(raw))]
    elif damage == "empty":
        raw = b""
    elif damage == "zeros":
        raw = bytes(len(raw))
    cache.write_bytes(bytes(raw))
    if damage == "encrypted":
        set_encrypted_flag(cache)
    if not idx_files:
        for spec in FAKE_MNIST.files:
            (folder / spec.name).unlink()
    try:
        arrays = load_arrays(folder, files=FAKE_MNIST.files, sources=offline_sources())
    except (FetchError, NpzError) as error:
        assert not idx_files, f"the IDX files were there: {error}"
        assert "mnist" in str(error).lower(), str(error)
        return
    for key, array in FAKE_MNIST.arrays.items():
        np.testing.assert_array_equal(arrays[key], array)


@settings(max_examples=60)
@given(
    option=st.sampled_from(["dtype", "validation", "normalize", "flatten", "one_hot_label"]),
    value=st.sampled_from(
        ["float33", np.int64, object, 0.5, -1, 2, 10**6, "no", None, True, np.float64]
    ),
)
def test_drawn_options_of_load_mnist(option, value):
    """load_mnist's options, on the fake digits: the right number of digits for options
    in range, an error naming load_mnist for the rest."""
    TRIED["load_mnist options"] += 1
    fits = {
        "dtype": value is np.float64 or value is None,  # None is float64, as in NumPy
        "validation": isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 5,
        "normalize": isinstance(value, bool),
        "flatten": isinstance(value, bool),
        "one_hot_label": isinstance(value, bool),
    }[option]
    call = lambda: load_mnist(**{option: value})  # noqa: E731
    with mock.patch.object(mnist, "load_arrays", lambda data_dir: FAKE_MNIST.arrays):
        if not fits:
            must_refuse(call, "load_mnist")
            return
        splits = call()
    assert sum(len(labels) for _, labels in splits) == 8


# ----- replay ----------------------------------------------------------------------------------
@settings(max_examples=80)
@given(
    second=st.sampled_from(
        [
            "same",
            "other values",
            "other batch",
            "float64",
            "None",
            "strings",
            "wrong width",
            "labels out of range",
            "float labels",
        ]
    ),
)
def test_drawn_calls_of_a_replayed_step(second):
    """After a step is recorded, each later call gives the eager loss and gradients on its
    own arguments, or an error naming replay or the op that refuses them."""
    TRIED["replay"] += 1
    w = Tensor(np.linspace(-1, 1, 6).reshape(3, 2).astype(np.float32), requires_grad=True)

    def loss(x, t):
        return F.softmax_cross_entropy(x @ w, t)

    step = replay(loss)
    x0 = np.ones((2, 3), np.float32)
    step(x0, np.array([0, 1]))
    x, t = {
        "same": (x0, np.array([0, 1])),
        "other values": (x0 * 2, np.array([1, 1])),
        "other batch": (np.ones((4, 3), np.float32), np.array([0, 1, 1, 0])),
        "float64": (x0.astype(np.float64), np.array([0, 1])),
        "None": (None, np.array([0, 1])),
        "strings": (np.array([["a"] * 3] * 2), np.array([0, 1])),
        "wrong width": (np.ones((2, 4), np.float32), np.array([0, 1])),
        "labels out of range": (x0, np.array([0, 2])),
        "float labels": (x0, np.array([0.0, 1.0])),
    }[second]
    if second in ("None", "strings", "wrong width", "labels out of range", "float labels"):
        must_refuse(lambda: step(x, t), "replay", "softmax_cross_entropy", "matmul", "Tensor")
        return
    w.grad = None
    got = step(x, t)
    got_grad = w.grad.data.copy()
    w.grad = None
    eager = loss(Tensor(x), t)
    eager.backward()
    np.testing.assert_allclose(got.item(), eager.item(), rtol=1e-5)
    np.testing.assert_allclose(got_grad, w.grad.data, rtol=1e-5, atol=1e-7)


# ----- viz -------------------------------------------------------------------------------------
@settings(max_examples=100)
@given(
    option=st.sampled_from(
        [
            "show_values",
            "show_grads",
            "collapse",
            "show_legend",
            "checks",
            "trace",
            "rankdir",
            "outputs",
        ]
    ),
    value=st.sampled_from([True, False, "no", 1, None, "x", ["x"], "TB", 3]),
)
def test_drawn_options_of_to_dot(option, value):
    """to_dot draws the graph (its DOT names every op) for options of the right kind and
    refuses the rest naming to_dot."""
    TRIED["viz"] += 1
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    out = (x.exp() * x).sum()
    fits = {
        "show_values": isinstance(value, bool),
        "show_grads": isinstance(value, bool),
        "collapse": isinstance(value, bool),
        "show_legend": isinstance(value, bool),
        "checks": value is None,
        "trace": value is None,
        "rankdir": value == "TB",
        "outputs": False,
    }[option]
    if option == "outputs":
        must_refuse(lambda: viz.to_dot(out, value), "to_dot")
        return
    call = lambda: viz.to_dot(out, **{option: value})  # noqa: E731
    if not fits:
        must_refuse(call, "to_dot")
        return
    source = call().source
    for op in ("exp", "mul", "sum"):
        assert op in source
