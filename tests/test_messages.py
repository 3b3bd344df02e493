"""Error messages and warnings that say what to do, found by trying minigrad as a new
learner would (issue 16). Each case asserts the new message."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import OpError, Tensor, nn

ROOT = Path(__file__).parents[1]


def test_float_labels_are_blamed_on_their_dtype_with_the_cast_to_write():
    logits = Tensor(np.ones((4, 3)), requires_grad=True)
    with pytest.raises(OpError, match=r"dtype float64: class labels must be integers, so pass "):
        F.softmax_cross_entropy(logits, np.array([0.0, 1.0, 2.0, 0.0]))


def test_matmul_suggests_the_transpose_that_fits():
    with pytest.raises(OpError, match=r"a @ b.mT fits, giving \(2, 2\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3)))
    with pytest.raises(OpError, match=r"a.mT @ b fits, giving \(3, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 5)))


def test_linear_on_images_suggests_flattening():
    layer = nn.Linear(784, 10, rng=0)
    with pytest.raises(
        OpError, match=r"looks like images: flatten them to \(4, 784\) .*flatten=True"
    ):
        layer(Tensor(np.ones((4, 1, 28, 28), np.float32)))


def test_linear_with_a_pytorch_layout_weight_suggests_the_transpose():
    weight, bias = Tensor(np.ones((10, 784), np.float32), True), Tensor(np.ones(10, np.float32))
    with pytest.raises(
        OpError, match=r"weight is \(in, out\) here: .* needs .T, giving \(784, 10\)"
    ):
        F.linear(Tensor(np.ones((4, 784), np.float32)), weight, bias)


def test_abs_and_numerical_gradient_are_where_a_learner_looks():
    np.testing.assert_array_equal(abs(Tensor([-1.5, 2.0])).data, [1.5, 2.0])
    slope = minigrad.numerical_gradient(lambda x: np.sum(x**2), np.array([3.0, 4.0]))
    np.testing.assert_allclose(slope, [6.0, 8.0], rtol=1e-6)


def test_lists_and_integer_data_keep_a_float32_model_float32():
    model = nn.MLP([2, 3, 2], rng=0)
    out = model([[1, 2], [3, 4]])
    out.sum().backward()
    assert out.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_float64_parameters_with_float32_data_warn_and_say_how_to_fix():
    model = nn.MLP([2, 3, 2], rng=0)
    for parameter in model.parameters():
        parameter.data = np.random.default_rng(0).standard_normal(parameter.shape)  # book-style
    with pytest.warns(
        UserWarning,
        match=r"linear: the input is float32 but the weight is float64.*astype\(np.float32\)",
    ):
        model(np.ones((1, 2), np.float32))


def test_matching_float_widths_do_not_warn():
    model = nn.MLP([2, 3, 2], rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(np.ones((1, 2), np.float32))


def test_the_documented_planted_bug_benchmark_runs_and_finds_the_bug():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.gradcheck_speed",
            "--planted-bug",
            "--batch",
            "4",
            "--hidden",
            "8",
            "--repeat",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert (
        "is wrong for input 2 'W1'" in done.stdout and "the backward rule is wrong" in done.stdout
    )
