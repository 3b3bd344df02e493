"""minigrad.optim: each update rule against steps worked out by hand, clipping, schedules."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor, nn, optim
from minigrad.nn import Parameter

START = [1.0, -2.0, 3.0]


def run(make_optimizer, grads, start=START):
    """The parameter after one step per gradient in `grads`."""
    param = Parameter(np.array(start, dtype=np.float64))
    optimizer = make_optimizer([param])
    for grad in grads:
        param.grad = Tensor(np.array(grad, dtype=np.float64))
        optimizer.step()
    return param.data


# The smallest eps allowed in effect: the hand-worked steps below are then exact to ~1e-12.
# (eps=0 is refused: where a gradient is 0 it makes the step 0 / 0 = NaN.)
TINY_EPS = 1e-12

G1 = [0.5, -1.0, 2.0]
G2 = [1.0, 1.0, -1.0]


def test_sgd_steps_against_the_gradient():
    np.testing.assert_allclose(run(lambda p: optim.SGD(p, lr=0.1), [G1]), [0.95, -1.9, 2.8])


def test_sgd_momentum_matches_the_books_velocity_form():
    # The book: v = 0.9 v - lr g; p += v. Step 1: v = -0.1 g1. Step 2: v = -0.09 g1 - 0.1 g2.
    v1 = -0.1 * np.array(G1)
    v2 = 0.9 * v1 - 0.1 * np.array(G2)
    expected = np.array(START) + v1 + v2
    got = run(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), [G1, G2])
    np.testing.assert_allclose(got, expected)


def test_sgd_nesterov_looks_ahead_along_the_velocity():
    # Step 1: v = g1, step along g1 + 0.9 g1. Step 2: v = 0.9 g1 + g2, step along g2 + 0.9 v.
    g1, g2 = np.array(G1), np.array(G2)
    expected = np.array(START) - 0.1 * 1.9 * g1 - 0.1 * (g2 + 0.9 * (0.9 * g1 + g2))
    got = run(lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), [G1, G2])
    np.testing.assert_allclose(got, expected)


def test_sgd_weight_decay_adds_decay_times_param_to_the_gradient():
    # g + 0.5 p = [1.0, -2.0, 3.5], times lr 0.1
    got = run(lambda p: optim.SGD(p, lr=0.1, weight_decay=0.5), [G1])
    np.testing.assert_allclose(got, [0.9, -1.8, 2.65])


def test_adagrad_divides_by_the_root_of_summed_squares():
    # Step 1: h = g1^2, so the step is lr * sign(g1). Step 2: h = g1^2 + g2^2.
    g1, g2 = np.array(G1), np.array(G2)
    step2 = 0.1 * g2 / (np.sqrt(g1**2 + g2**2) + 1e-7)
    expected = np.array(START) - 0.1 * np.sign(g1) - step2
    got = run(lambda p: optim.AdaGrad(p, lr=0.1), [G1, G2])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_rmsprop_divides_by_the_root_of_a_decaying_mean_square():
    # Step 1: h = 0.1 g1^2, so the step is lr * g1 / (sqrt(0.1) |g1|) = lr * sign(g1) / sqrt(0.1)
    got = run(lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, eps=TINY_EPS), [G1])
    np.testing.assert_allclose(got, np.array(START) - 0.01 * np.sign(G1) / math.sqrt(0.1))
    g1, g2 = np.array(G1), np.array(G2)
    h2 = 0.9 * 0.1 * g1**2 + 0.1 * g2**2
    expected = got - 0.01 * g2 / (np.sqrt(h2) + 1e-8)
    got2 = run(lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8), [G1, G2])
    np.testing.assert_allclose(got2, expected, rtol=1e-6)


def test_adam_first_step_is_lr_times_the_sign():
    # Bias correction makes m_hat = g and v_hat = g^2 after one step.
    got = run(lambda p: optim.Adam(p, lr=0.01, eps=TINY_EPS), [G1])
    np.testing.assert_allclose(got, [0.99, -1.99, 2.99])


def test_adam_second_step_uses_bias_corrected_averages():
    g1, g2 = np.array(G1), np.array(G2)
    m = (0.1 * 0.9 * g1 + 0.1 * g2) / (1 - 0.9**2)
    v = (0.001 * 0.999 * g1**2 + 0.001 * g2**2) / (1 - 0.999**2)
    expected = np.array(START) - 0.01 * np.sign(g1) - 0.01 * m / (np.sqrt(v) + 1e-8)
    got = run(lambda p: optim.Adam(p, lr=0.01), [G1, G2])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_adam_weight_decay_is_l2_on_the_gradient():
    # g + 1.0 p = [1.5, -3.0, 5.0]: still lr * sign on the first step, whatever its size.
    got = run(lambda p: optim.Adam(p, lr=0.01, eps=TINY_EPS, weight_decay=1.0), [[0.5, -1.0, 2.0]])
    np.testing.assert_allclose(got, [0.99, -1.99, 2.99])
    got = run(lambda p: optim.Adam(p, lr=0.01, eps=TINY_EPS, weight_decay=1.0), [[-2.0, 0.0, 0.0]])
    np.testing.assert_allclose(got, [1.01, -1.99, 2.99])  # g + p = [-1.0, -2.0, 3.0]


def test_adamw_shrinks_the_weights_then_takes_adams_step():
    # p * (1 - 0.01 * 0.5), then minus lr * sign(g1)
    got = run(lambda p: optim.AdamW(p, lr=0.01, eps=TINY_EPS, weight_decay=0.5), [G1])
    np.testing.assert_allclose(got, np.array(START) * 0.995 - 0.01 * np.sign(G1))


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
        lambda p: optim.AdaGrad(p, lr=0.5),
        lambda p: optim.RMSprop(p, lr=0.05),
        lambda p: optim.Adam(p, lr=0.1),
        lambda p: optim.AdamW(p, lr=0.1, weight_decay=1e-4),
    ],
    ids=["sgd", "adagrad", "rmsprop", "adam", "adamw"],
)
def test_every_optimizer_minimises_a_quadratic_in_float32(make):
    param = Parameter(np.array([5.0, -4.0], dtype=np.float32))
    optimizer = make([param])
    for _ in range(300):
        optimizer.zero_grad()
        ((param - 3.0) * (param - 3.0)).sum().backward()
        optimizer.step()
    assert param.dtype == np.float32
    np.testing.assert_allclose(param.data, [3.0, 3.0], atol=0.05)


def test_step_skips_parameters_without_a_gradient_and_never_writes_into_grads():
    a, b = Parameter([1.0, 1.0]), Parameter([2.0])
    shared = Tensor([0.5, 0.5])
    a.grad = shared
    optimizer = optim.SGD([a, b], lr=1.0, momentum=0.5, weight_decay=0.1)
    optimizer.step()
    optimizer.step()
    np.testing.assert_array_equal(b.data, [2.0])
    np.testing.assert_array_equal(shared.data, [0.5, 0.5])
    optimizer.zero_grad()
    assert a.grad is None


def test_optimizer_arguments_are_checked():
    param = Parameter([1.0])
    with pytest.raises(ValueError, match="SGD: got no parameters"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="Adam: parameter 0 .* must be a leaf Tensor"):
        optim.Adam([Tensor([1.0])])
    with pytest.raises(ValueError, match="SGD: nesterov=True needs a momentum"):
        optim.SGD([param], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be in \[0.0, 1.0\)"):
        optim.Adam([param], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="lr must be in"):
        optim.RMSprop([param], lr=-1.0)


NAN, INF = float("nan"), float("inf")

BAD_HYPERPARAMETERS = [
    (lambda p: optim.SGD(p, lr=None), TypeError, "SGD: lr must be a number, got None"),
    (lambda p: optim.SGD(p, lr="0.1"), TypeError, "SGD: lr must be a number, got '0.1'"),
    (lambda p: optim.SGD(p, lr=True), TypeError, "SGD: lr must be a number, got True"),
    (lambda p: optim.SGD(p, lr=-0.1), ValueError, r"SGD: lr must be in \[0.0, inf\), got -0.1"),
    (lambda p: optim.Adam(p, lr=NAN), ValueError, r"Adam: lr must be in \[0.0, inf\), got nan"),
    (lambda p: optim.AdaGrad(p, lr=INF), ValueError, r"AdaGrad: lr .* got inf"),
    (lambda p: optim.SGD(p, momentum=1.0), ValueError, r"SGD: momentum .* got 1.0"),
    (lambda p: optim.SGD(p, momentum=NAN), ValueError, r"SGD: momentum .* got nan"),
    (
        lambda p: optim.SGD(p, momentum=0.9, nesterov="yes"),
        TypeError,
        "SGD: nesterov must be True or False, got 'yes'",
    ),
    (lambda p: optim.SGD(p, weight_decay=-1e-4), ValueError, "SGD: weight_decay .* got -0.0001"),
    (
        lambda p: optim.Adam(p, eps=NAN),
        ValueError,
        "Adam: eps must be a finite number > 0, got nan",
    ),
    (lambda p: optim.Adam(p, eps=0.0), ValueError, "Adam: eps must be .* > 0, got 0.0"),
    (lambda p: optim.AdamW(p, eps=INF), ValueError, "AdamW: eps .* got inf"),
    (lambda p: optim.AdaGrad(p, eps=-1e-7), ValueError, "AdaGrad: eps .* got -1e-07"),
    (lambda p: optim.RMSprop(p, eps=0), ValueError, "RMSprop: eps .* got 0"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), ValueError, r"RMSprop: alpha .* got -0.1"),
    (lambda p: optim.RMSprop(p, alpha=None), TypeError, "RMSprop: alpha must be a number"),
    (lambda p: optim.Adam(p, betas=0.9), TypeError, r"Adam: betas must be a pair .* got 0.9"),
    (lambda p: optim.Adam(p, betas=(0.9,)), TypeError, r"Adam: betas .* got \(0.9,\)"),
    (lambda p: optim.Adam(p, betas=(-0.1, 0.9)), ValueError, r"Adam: betas\[0\] .* got -0.1"),
    (lambda p: optim.AdamW(p, betas=(0.9, NAN)), ValueError, r"AdamW: betas\[1\] .* got nan"),
    (lambda p: optim.Adam(p, weight_decay=NAN), ValueError, "Adam: weight_decay .* got nan"),
    (
        lambda p: optim.AdamW(p, lr=1.0, weight_decay=2.0),
        ValueError,
        r"AdamW: lr \* weight_decay must be below 1, got 1.0 \* 2.0",
    ),
]


@pytest.mark.parametrize("make, error, message", BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_are_refused_at_construction(make, error, message):
    param = Parameter([1.0, 2.0])
    with pytest.raises(error, match=message):
        make([param])
    np.testing.assert_array_equal(param.data, [1.0, 2.0])


def test_params_must_be_a_list_of_distinct_parameters():
    param = Parameter([1.0])
    with pytest.raises(
        TypeError,
        match="SGD: params must be a list of parameters, got one "
        r"Parameter; pass model.parameters\(\) or \[param\]",
    ):
        optim.SGD(param)
    with pytest.raises(TypeError, match=r"Adam: params .* got one Linear; pass model.parameters"):
        optim.Adam(nn.Linear(2, 3))
    with pytest.raises(TypeError, match="AdaGrad: params must be an iterable .* got 0.1"):
        optim.AdaGrad(0.1)
    with pytest.raises(ValueError, match=r"SGD: parameter 1 \(w\) is parameter 0 again"):
        optim.SGD([Parameter([1.0], name="w")] * 2)


# ----- what a step refuses ------------------------------------------------------------------------
EVERY_OPTIMIZER = [optim.SGD, optim.AdaGrad, optim.RMSprop, optim.Adam, optim.AdamW]


@pytest.mark.parametrize("make", EVERY_OPTIMIZER)
def test_step_refuses_a_gradient_of_another_shape_and_changes_nothing(make):
    model = nn.Linear(3, 2)
    before = model.state_dict()
    optimizer = make(model.parameters())
    model.weight.grad = Tensor(np.ones((3, 2)))
    model.bias.grad = Tensor([1.0])  # NumPy would broadcast this over the (2,) bias
    name = make.__name__
    with pytest.raises(
        ValueError,
        match=rf"{name}.step: parameter 1 \(bias\) has shape \(2,\) but its gradient has "
        r"shape \(1,\); a gradient must have its parameter's shape",
    ):
        optimizer.step()
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])  # the weight took no step either
    assert optimizer.state[0] == {}


@pytest.mark.parametrize("make", EVERY_OPTIMIZER)
def test_step_on_a_read_only_parameter_says_how_to_make_it_writeable(make):
    param = Parameter(np.broadcast_to(np.float32(1.0), (3,)), name="w")  # a read-only view
    optimizer = make([param])
    param.grad = Tensor(np.ones(3))
    with pytest.raises(
        ValueError,
        match=rf"{make.__name__}.step: parameter 0 \(w\) is read-only .* "
        r"param.data = param.data.copy\(\)",
    ):
        optimizer.step()
    param.data = param.data.copy()
    optimizer.step()
    assert (param.data < 1.0).all()


# ----- clipping --------------------------------------------------------------------------------
def test_clip_grad_norm_scales_all_gradients_to_the_global_norm():
    a, b = Parameter([0.0]), Parameter([0.0, 0.0])
    a.grad, b.grad = Tensor([3.0]), Tensor([0.0, 4.0])
    assert optim.clip_grad_norm([a, b], max_norm=1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.data, [0.6], rtol=1e-5)
    np.testing.assert_allclose(b.grad.data, [0.0, 0.8], rtol=1e-5)
    assert optim.clip_grad_norm([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(a.grad.data, [0.6], rtol=1e-5)


def test_clip_grad_norm_checks_its_arguments():
    param = Parameter([0.0])
    param.grad = Tensor([3.0])
    for bad in (-1.0, 0.0, float("nan")):
        with pytest.raises(ValueError, match=f"clip_grad_norm: max_norm must be > 0 .* got {bad}"):
            optim.clip_grad_norm([param], bad)
    with pytest.raises(TypeError, match="clip_grad_norm: max_norm must be a number, got None"):
        optim.clip_grad_norm([param], None)
    # One Tensor instead of a list used to be iterated row by row: norm 0, nothing clipped.
    with pytest.raises(TypeError, match="clip_grad_norm: params .* got one Parameter"):
        optim.clip_grad_norm(param, 1.0)
    with pytest.raises(ValueError, match=r"clip_grad_norm: parameter 1 .* is parameter 0 again"):
        optim.clip_grad_norm([param, param], 1.0)
    assert optim.clip_grad_norm([param], float("inf")) == pytest.approx(3.0)
    np.testing.assert_array_equal(param.grad.data, [3.0])


def test_clip_grad_norm_scales_a_shared_gradient_once():
    a, b = Parameter([0.0, 0.0]), Parameter([0.0, 0.0])
    ((a + b) * Tensor([3.0, 4.0])).sum().backward()
    optim.clip_grad_norm([a, b], max_norm=1.0)
    expected = np.array([3.0, 4.0]) / (5.0 * math.sqrt(2))
    np.testing.assert_allclose(a.grad.data, expected, rtol=1e-5)
    np.testing.assert_allclose(b.grad.data, expected, rtol=1e-5)


# ----- schedules --------------------------------------------------------------------------------
def lrs(schedule, steps):
    values = [schedule.optimizer.lr]
    for _ in range(steps):
        schedule.step()
        values.append(schedule.optimizer.lr)
    return values


def test_step_lr_decays_every_step_size_steps():
    optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    values = lrs(optim.StepLR(optimizer, step_size=2, gamma=0.5), 5)
    np.testing.assert_allclose(values, [1.0, 1.0, 0.5, 0.5, 0.25, 0.25])


def test_cosine_lr_falls_from_the_start_to_min_lr_and_stays():
    optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    values = lrs(optim.CosineLR(optimizer, total_steps=4, min_lr=0.2), 6)
    half_way = 0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi / 2))
    np.testing.assert_allclose(values[0], 1.0)
    np.testing.assert_allclose(values[2], half_way)
    np.testing.assert_allclose(values[4:], [0.2, 0.2, 0.2])


@given(st.integers(1, 50), st.floats(1e-4, 1.0))
def test_cosine_lr_never_rises(total_steps, base_lr):
    optimizer = optim.Adam([Parameter([1.0])], lr=base_lr)
    values = lrs(optim.CosineLR(optimizer, total_steps=total_steps), total_steps + 2)
    assert all(later <= earlier + 1e-12 for earlier, later in zip(values, values[1:]))
    assert values[-1] == pytest.approx(0.0, abs=1e-12)


def test_schedule_arguments_are_checked():
    optimizer = optim.SGD([Parameter([1.0])], lr=0.1)
    with pytest.raises(
        TypeError, match="StepLR: optimizer must be a minigrad.optim optimizer.* got None"
    ):
        optim.StepLR(None, step_size=2)
    with pytest.raises(TypeError, match="StepLR: step_size must be an int, got 2.5"):
        optim.StepLR(optimizer, step_size=2.5)
    with pytest.raises(ValueError, match="StepLR: step_size must be at least 1, got 0"):
        optim.StepLR(optimizer, step_size=0)
    for bad in (-0.5, float("nan")):
        with pytest.raises(ValueError, match=rf"StepLR: gamma must be in \[0.0, inf\), got {bad}"):
            optim.StepLR(optimizer, step_size=2, gamma=bad)
    with pytest.raises(TypeError, match="CosineLR: total_steps must be an int, got None"):
        optim.CosineLR(optimizer, total_steps=None)
    with pytest.raises(ValueError, match="CosineLR: min_lr must be in .* got nan"):
        optim.CosineLR(optimizer, total_steps=3, min_lr=float("nan"))
    with pytest.raises(
        ValueError,
        match=r"CosineLR: min_lr \(1.0\) must be at most the "
        r"optimizer's lr \(0.1\)",
    ):
        optim.CosineLR(optimizer, total_steps=3, min_lr=1.0)
    assert optim.StepLR(optimizer, step_size=np.int64(2)).step_size == 2
