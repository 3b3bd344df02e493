"""minigrad.optim: each update rule against steps worked out by hand and against
torch.optim, clipping, schedules against torch.optim.lr_scheduler, and state_dict round trips
through an .npz file that continue bit for bit."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor, nn, optim
from minigrad.files import atomic_write, read_npz
from minigrad.nn import Parameter

try:
    import torch
except ImportError:  # the tests against PyTorch then fail, saying what to install
    torch = None

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


def test_adagrad_weight_decay_adds_decay_times_param_to_the_gradient():
    # g + 1.0 p = [1.5, -3.0, 5.0]; the first step is lr * sign of that.
    got = run(lambda p: optim.AdaGrad(p, lr=0.1, eps=TINY_EPS, weight_decay=1.0), [G1])
    np.testing.assert_allclose(got, [0.9, -1.9, 2.9])


def test_rmsprop_momentum_accumulates_the_scaled_steps():
    g1, g2 = np.array(G1), np.array(G2)
    h1 = 0.1 * g1**2
    v1 = g1 / (np.sqrt(h1) + 1e-8)
    h2 = 0.9 * h1 + 0.1 * g2**2
    v2 = 0.5 * v1 + g2 / (np.sqrt(h2) + 1e-8)
    expected = np.array(START) - 0.01 * v1 - 0.01 * v2
    got = run(lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5), [G1, G2])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_rmsprop_weight_decay_adds_decay_times_param_to_the_gradient():
    # g + 1.0 p = [1.5, -3.0, 5.0]: the step is lr * sign(g + p) / sqrt(1 - alpha)
    got = run(lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, eps=TINY_EPS, weight_decay=1.0), [G1])
    np.testing.assert_allclose(got, np.array(START) - 0.01 * np.sign(G1) / math.sqrt(0.1))


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
        lambda p: optim.AdaGrad(p, lr=0.5, weight_decay=1e-4),
        lambda p: optim.RMSprop(p, lr=0.05),
        lambda p: optim.RMSprop(p, lr=0.01, momentum=0.9, weight_decay=1e-4),
        lambda p: optim.Adam(p, lr=0.1),
        lambda p: optim.AdamW(p, lr=0.1, weight_decay=1e-4),
    ],
    ids=["sgd", "adagrad", "rmsprop", "rmsprop-momentum", "adam", "adamw"],
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
    (lambda p: optim.RMSprop(p, momentum=1.0), ValueError, r"RMSprop: momentum .* got 1.0"),
    (lambda p: optim.RMSprop(p, momentum="0.9"), TypeError, "RMSprop: momentum must be a number"),
    (lambda p: optim.RMSprop(p, weight_decay=-1.0), ValueError, "RMSprop: weight_decay .* -1.0"),
    (lambda p: optim.AdaGrad(p, weight_decay=NAN), ValueError, "AdaGrad: weight_decay .* nan"),
    (lambda p: optim.AdaGrad(p, weight_decay=None), TypeError, "AdaGrad: weight_decay must be a"),
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


def test_clip_grad_value_clips_each_element_and_keeps_the_dtype():
    a, b = Parameter(np.zeros(3, np.float32)), Parameter([0.0])
    a.grad = Tensor(np.array([-3.0, 0.25, 2.0], np.float32))
    optim.clip_grad_value([a, b], np.float64(0.5))  # b has no gradient: left alone
    np.testing.assert_array_equal(a.grad.data, [-0.5, 0.25, 0.5])
    assert a.grad.dtype == np.float32 and b.grad is None


def test_clip_grad_value_replaces_a_shared_gradient_instead_of_writing_into_it():
    a, b = Parameter([0.0, 0.0]), Parameter([0.0, 0.0])
    shared = Tensor([3.0, -0.25])
    a.grad = b.grad = shared
    optim.clip_grad_value([a, b], 1.0)
    np.testing.assert_array_equal(shared.data, [3.0, -0.25])
    np.testing.assert_array_equal(a.grad.data, [1.0, -0.25])
    np.testing.assert_array_equal(b.grad.data, [1.0, -0.25])


def test_clip_grad_value_checks_its_arguments():
    param = Parameter([0.0])
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=f"clip_grad_value: value must be a finite .* {bad}"):
            optim.clip_grad_value([param], bad)
    with pytest.raises(TypeError, match="clip_grad_value: value must be a number, got None"):
        optim.clip_grad_value([param], None)
    with pytest.raises(TypeError, match="clip_grad_value: params .* got one Parameter"):
        optim.clip_grad_value(param, 1.0)


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


def test_warmup_rises_by_equal_steps_to_the_optimizers_lr_and_holds_it():
    optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    values = lrs(optim.Warmup(optimizer, warmup_steps=3), 5)
    np.testing.assert_allclose(values, [0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_a_warmup_comes_before_the_schedules_own_course():
    optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    values = lrs(optim.StepLR(optimizer, step_size=2, gamma=0.5, warmup_steps=1), 5)
    np.testing.assert_allclose(values, [0.5, 1.0, 1.0, 0.5, 0.5, 0.25])
    optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    values = lrs(optim.CosineLR(optimizer, total_steps=3, warmup_steps=1), 4)
    np.testing.assert_allclose(values, [0.5, 1.0, 0.5, 0.0, 0.0], atol=1e-15)


def test_exponential_lr_multiplies_by_gamma_every_step():
    optimizer = optim.SGD([Parameter([1.0])], lr=2.0)
    np.testing.assert_allclose(lrs(optim.ExponentialLR(optimizer, 0.5), 3), [2.0, 1.0, 0.5, 0.25])


def test_new_schedule_arguments_are_checked():
    optimizer = optim.SGD([Parameter([1.0])], lr=0.1)
    cases = [
        (lambda: optim.Warmup(optimizer, 0), ValueError, "Warmup: warmup_steps must be at least 1"),
        (lambda: optim.StepLR(optimizer, 2, warmup_steps=-1), ValueError, "StepLR: warmup_steps"),
        (lambda: optim.ExponentialLR(optimizer, NAN), ValueError, "ExponentialLR: gamma .* nan"),
        (
            lambda: optim.CosineLR(optimizer, 5, warmup_steps=5),
            ValueError,
            r"CosineLR: warmup_steps \(5\) must be below total_steps \(5\)",
        ),
        (lambda: optim.OneCycleLR(optimizer, 0.0, 10), ValueError, "OneCycleLR: max_lr must be"),
        (lambda: optim.OneCycleLR(optimizer, 1.0, 1), ValueError, "total_steps must be at least 2"),
        (
            lambda: optim.OneCycleLR(optimizer, 1.0, 10, pct_start=0.1),
            ValueError,
            r"OneCycleLR: pct_start \* total_steps must be above 1 .* got 0.1 \* 10",
        ),
        (lambda: optim.OneCycleLR(optimizer, 1.0, 10, pct_start=1.0), ValueError, "pct_start"),
        (lambda: optim.OneCycleLR(optimizer, 1.0, 10, div_factor=0), ValueError, "div_factor"),
        (
            lambda: optim.ReduceLROnPlateau(optimizer, mode="lowest"),
            ValueError,
            "ReduceLROnPlateau: mode must be one of 'min', 'max', got 'lowest'",
        ),
        (lambda: optim.ReduceLROnPlateau(optimizer, factor=1.0), ValueError, "factor .* got 1.0"),
        (lambda: optim.ReduceLROnPlateau(optimizer, patience=1.5), TypeError, "patience must be"),
        (
            lambda: optim.ReduceLROnPlateau(optimizer, threshold_mode="x"),
            ValueError,
            "'rel', 'abs'",
        ),
        (lambda: optim.ReduceLROnPlateau(optimizer, cooldown=-1), ValueError, "cooldown must be"),
        (lambda: optim.ReduceLROnPlateau(optimizer, min_lr=NAN), ValueError, "min_lr .* nan"),
        (lambda: optim.ReduceLROnPlateau(None), TypeError, "optimizer must be a minigrad.optim"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=message):
            make()
        assert optimizer.lr == 0.1  # a refused schedule does not touch the optimizer
    plateau = optim.ReduceLROnPlateau(optimizer)
    with pytest.raises(TypeError, match="ReduceLROnPlateau.step: metric must be a number"):
        plateau.step(None)


# ----- against torch.optim and torch.optim.lr_scheduler -----------------------------------------
@pytest.fixture
def torch_installed():
    """A comparison that cannot run must fail, not pass or skip unnoticed."""
    if torch is None:
        pytest.fail('PyTorch is not installed: pip install -e ".[test-torch]"', pytrace=False)


# name: (minigrad class, torch.optim class name, options both take)
AGAINST_TORCH = {
    "sgd": (optim.SGD, "SGD", dict(lr=0.1)),
    "sgd-momentum": (optim.SGD, "SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    "sgd-nesterov": (
        optim.SGD,
        "SGD",
        dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    "adagrad": (optim.AdaGrad, "Adagrad", dict(lr=0.5, eps=1e-10, weight_decay=0.1)),
    "rmsprop": (optim.RMSprop, "RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    "rmsprop-momentum": (
        optim.RMSprop,
        "RMSprop",
        dict(lr=0.01, alpha=0.9, momentum=0.8, weight_decay=0.1),
    ),
    "adam": (optim.Adam, "Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)),
    "adamw": (optim.AdamW, "AdamW", dict(lr=0.05, weight_decay=0.1)),
}
TORCH_STEPS = 40


def gradient(params, step):
    """The gradient of a fixed bowl at the current parameters, plus noise fixed per step, so
    each side's trajectory feeds its own next gradient."""
    noise = np.random.default_rng(step)
    return [3.0 * (p - 0.5) + noise.normal(size=p.shape) for p in params]


def start_values():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3,)), rng.normal(size=(2, 2))]


@pytest.mark.usefixtures("torch_installed")
@pytest.mark.parametrize("name", AGAINST_TORCH)
def test_each_optimizer_follows_torchs_trajectory(name):
    make, torch_name, options = AGAINST_TORCH[name]
    ours = [Parameter(value) for value in start_values()]
    theirs = [torch.tensor(value, requires_grad=True) for value in start_values()]
    our_optimizer = make(ours, **options)
    their_optimizer = getattr(torch.optim, torch_name)(theirs, **options)
    for step in range(TORCH_STEPS):
        for param, grad in zip(ours, gradient([p.data for p in ours], step)):
            param.grad = Tensor(grad)
        for param, grad in zip(theirs, gradient([p.detach().numpy() for p in theirs], step)):
            param.grad = torch.tensor(grad)
        our_optimizer.step()
        their_optimizer.step()
        for mine, reference in zip(ours, theirs):
            np.testing.assert_allclose(
                mine.data, reference.detach().numpy(), rtol=1e-10, atol=1e-12
            )


@pytest.mark.usefixtures("torch_installed")
def test_clip_grad_value_clips_as_torch_does():
    grad = np.random.default_rng(1).normal(size=(4, 5))
    ours, theirs = (
        Parameter(np.zeros((4, 5))),
        torch.zeros((4, 5), dtype=torch.float64, requires_grad=True),
    )
    ours.grad, theirs.grad = Tensor(grad), torch.tensor(grad)
    optim.clip_grad_value([ours], 0.7)
    torch.nn.utils.clip_grad_value_([theirs], 0.7)
    np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


def torch_lrs(make_schedule, steps, lr=1.0):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    schedule = make_schedule(optimizer)
    values = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        schedule.step()
        values.append(optimizer.param_groups[0]["lr"])
    return values


def torch_warmup_then(optimizer, warmup_steps, make_next):
    """PyTorch's spelling of a `warmup_steps` option."""
    scheduler = torch.optim.lr_scheduler
    warmup = scheduler.LinearLR(optimizer, 1 / (warmup_steps + 1), total_iters=warmup_steps)
    return scheduler.SequentialLR(optimizer, [warmup, make_next(optimizer)], [warmup_steps])


def torch_schedule(name, *args, **options):
    return lambda optimizer: getattr(torch.optim.lr_scheduler, name)(optimizer, *args, **options)


# (minigrad schedule, the torch schedule, steps compared)
SCHEDULES_AGAINST_TORCH = {
    "step": (
        lambda o: optim.StepLR(o, step_size=3, gamma=0.5),
        lambda: torch_schedule("StepLR", step_size=3, gamma=0.5),
        12,
    ),
    "exponential": (
        lambda o: optim.ExponentialLR(o, gamma=0.9),
        lambda: torch_schedule("ExponentialLR", gamma=0.9),
        30,
    ),
    "cosine": (
        lambda o: optim.CosineLR(o, total_steps=10, min_lr=0.1),
        lambda: torch_schedule("CosineAnnealingLR", T_max=10, eta_min=0.1),
        10,  # after T_max PyTorch's cosine climbs again; minigrad's holds min_lr
    ),
    "warmup": (
        lambda o: optim.Warmup(o, warmup_steps=4),
        lambda: torch_schedule("LinearLR", start_factor=1 / 5, total_iters=4),
        10,
    ),
    "cosine-warmup": (
        lambda o: optim.CosineLR(o, total_steps=12, min_lr=0.05, warmup_steps=4),
        lambda: (
            lambda o: torch_warmup_then(
                o, 4, torch_schedule("CosineAnnealingLR", T_max=8, eta_min=0.05)
            )
        ),
        12,
    ),
    "step-warmup": (
        lambda o: optim.StepLR(o, step_size=2, gamma=0.3, warmup_steps=3),
        lambda: lambda o: torch_warmup_then(o, 3, torch_schedule("StepLR", step_size=2, gamma=0.3)),
        12,
    ),
    "one-cycle": (
        lambda o: optim.OneCycleLR(o, max_lr=2.0, total_steps=20, pct_start=0.25),
        lambda: torch_schedule(
            "OneCycleLR", max_lr=2.0, total_steps=20, pct_start=0.25, cycle_momentum=False
        ),
        19,  # PyTorch refuses to step past total_steps - 1
    ),
    "one-cycle-defaults": (
        lambda o: optim.OneCycleLR(o, max_lr=0.1, total_steps=37),
        lambda: torch_schedule("OneCycleLR", max_lr=0.1, total_steps=37, cycle_momentum=False),
        36,
    ),
}


@pytest.mark.usefixtures("torch_installed")
@pytest.mark.filterwarnings("ignore:The epoch parameter:UserWarning")  # SequentialLR's own call
@pytest.mark.parametrize("name", SCHEDULES_AGAINST_TORCH)
def test_each_schedule_sets_the_rates_torch_sets(name):
    make, make_torch, steps = SCHEDULES_AGAINST_TORCH[name]
    ours = lrs(make(optim.SGD([Parameter([1.0])], lr=1.0)), steps)
    np.testing.assert_allclose(ours, torch_lrs(make_torch(), steps), rtol=1e-12, atol=1e-15)


def plateau_metrics():
    """A noisy loss that falls, stalls, then wanders, through zero into negative values."""
    noise = np.random.default_rng(2).normal(scale=0.05, size=60)
    trend = np.concatenate(
        [np.linspace(1.0, 0.3, 15), np.full(20, 0.3), np.linspace(0.3, -0.5, 25)]
    )
    return (trend + noise).tolist()


PLATEAU_OPTIONS = [
    dict(factor=0.5, patience=2),
    dict(factor=0.5, patience=1, cooldown=2, min_lr=0.05),
    dict(mode="max", factor=0.7, patience=3, threshold=0.02),
    dict(factor=0.3, patience=0, threshold=0.05, threshold_mode="abs", eps=0.01),
    dict(mode="max", patience=2, threshold=0.1, threshold_mode="abs", cooldown=1),
]


@pytest.mark.usefixtures("torch_installed")
@pytest.mark.parametrize("options", PLATEAU_OPTIONS, ids=str)
def test_reduce_lr_on_plateau_reduces_when_torchs_does(options):
    ours = optim.SGD([Parameter([1.0])], lr=1.0)
    plateau = optim.ReduceLROnPlateau(ours, **options)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    their_plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **options)
    our_lrs, their_lrs = [], []
    for metric in plateau_metrics():
        plateau.step(metric)
        their_plateau.step(metric)
        our_lrs.append(ours.lr)
        their_lrs.append(theirs.param_groups[0]["lr"])
    assert our_lrs == their_lrs
    assert len(set(our_lrs)) > 2  # it did reduce, more than once


# ----- state_dict and load_state_dict -----------------------------------------------------------
ROUND_TRIPS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd-nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adagrad": lambda p: optim.AdaGrad(p, lr=0.5, weight_decay=0.1),
    "rmsprop-momentum": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.8, weight_decay=0.1),
    "adam": lambda p: optim.Adam(p, lr=0.05, weight_decay=0.1),
    "adamw": lambda p: optim.AdamW(p, lr=0.05),
}


def saved_and_read(state, folder):
    """`state` through an .npz file, written and read as minigrad writes and reads weights."""
    with atomic_write(folder / "state.npz") as out:
        np.savez(out, **state)
    return read_npz(folder / "state.npz")


class Run:
    """Float32 parameters, one that never gets a gradient, an optimizer and a cosine schedule
    with warmup, stepped on `gradient`."""

    def __init__(self, make_optimizer):
        self.params = [
            Parameter(value.astype(np.float32), name=name)
            for value, name in zip(start_values(), ("w", "v"))
        ]
        self.params.append(Parameter(np.ones(2, np.float32), name="unused"))  # an empty state
        self.optimizer = make_optimizer(self.params)
        self.schedule = optim.CosineLR(self.optimizer, total_steps=20, warmup_steps=3)
        self.steps = 0

    def step(self, count):
        for _ in range(count):
            grads = gradient([p.data for p in self.params[:2]], self.steps)
            for param, grad in zip(self.params, grads):
                param.grad = Tensor(grad.astype(np.float32))
            self.optimizer.step()
            self.schedule.step()
            self.steps += 1
        return self


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_a_state_saved_to_npz_continues_bit_for_bit(name, tmp_path):
    make = ROUND_TRIPS[name]
    uninterrupted = Run(make).step(15)
    first = Run(make).step(6)
    optimizer_state = saved_and_read(first.optimizer.state_dict(), tmp_path)
    schedule_state = saved_and_read(first.schedule.state_dict(), tmp_path)
    second = Run(make)
    for param, saved in zip(second.params, first.params):
        param.data[...] = saved.data
    second.optimizer.load_state_dict(optimizer_state)
    second.schedule.load_state_dict(schedule_state)
    second.steps = 6
    second.step(9)
    for mine, reference in zip(second.params, uninterrupted.params):
        np.testing.assert_array_equal(mine.data, reference.data)
    assert second.optimizer.lr == uninterrupted.optimizer.lr
    assert second.optimizer.state[2] == {}


def test_a_state_dict_is_flat_numbers_and_arrays_named_by_parameter():
    run = Run(ROUND_TRIPS["adam"]).step(2)
    state = run.optimizer.state_dict()
    assert set(state) == {
        "type.Adam",
        "lr",
        "betas",
        "eps",
        "weight_decay",
        *(f"shape.{index}" for index in range(3)),
        *(f"state.{index}.{name}" for index in range(2) for name in ("step", "m", "v")),
    }
    assert state["state.1.step"] == 2 and state["state.1.m"].shape == (2, 2)
    np.testing.assert_array_equal(state["shape.1"], [2, 2])
    np.testing.assert_array_equal(state["betas"], [0.9, 0.999])
    state["state.0.m"][...] = 0.0  # a copy: the optimizer's own array is untouched
    assert run.optimizer.state[0]["m"].any()
    assert run.schedule.state_dict() == {
        "type.CosineLR": 1,
        "total_steps": 20,
        "min_lr": 0.0,
        "warmup_steps": 3,
        "steps": 2,
        "base_lr": 0.05,
    }


def test_loading_restores_the_options_as_torch_does():
    saved = optim.RMSprop([Parameter([1.0])], lr=0.01, alpha=0.5, momentum=0.9).state_dict()
    optimizer = optim.RMSprop([Parameter([1.0])], lr=0.3)
    optimizer.load_state_dict(saved)
    assert (optimizer.lr, optimizer.alpha, optimizer.momentum) == (0.01, 0.5, 0.9)
    saved = optim.ReduceLROnPlateau(optimizer, mode="max", threshold_mode="abs").state_dict()
    assert saved["mode.max"] == 1 and saved["threshold_mode.abs"] == 1 and saved["best"] == -INF
    plateau = optim.ReduceLROnPlateau(optimizer)
    plateau.load_state_dict(saved)
    assert (plateau.mode, plateau.threshold_mode, plateau.best) == ("max", "abs", -INF)


@pytest.mark.parametrize(
    "make", list(SCHEDULES_AGAINST_TORCH.values()), ids=list(SCHEDULES_AGAINST_TORCH)
)
def test_every_schedule_continues_from_its_state(make, tmp_path):
    make_schedule = make[0]
    uninterrupted = make_schedule(optim.SGD([Parameter([1.0])], lr=1.0))
    expected = lrs(uninterrupted, 12)
    first_optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    first = make_schedule(first_optimizer)
    values = lrs(first, 5)
    optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    schedule = make_schedule(optimizer)
    optimizer.load_state_dict(saved_and_read(first_optimizer.state_dict(), tmp_path))
    schedule.load_state_dict(saved_and_read(first.state_dict(), tmp_path))
    assert values + lrs(schedule, 7)[1:] == expected


def test_reduce_lr_on_plateau_continues_from_its_state(tmp_path):
    metrics = plateau_metrics()
    options = dict(factor=0.5, patience=1, cooldown=2)
    optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    uninterrupted = optim.ReduceLROnPlateau(optimizer, **options)
    expected = []
    for metric in metrics:
        uninterrupted.step(metric)
        expected.append(optimizer.lr)
    first_optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    first = optim.ReduceLROnPlateau(first_optimizer, **options)
    got = []
    for metric in metrics[:23]:
        first.step(metric)
        got.append(first_optimizer.lr)
    optimizer = optim.SGD([Parameter([1.0])], lr=1.0)
    plateau = optim.ReduceLROnPlateau(optimizer)
    optimizer.load_state_dict(saved_and_read(first_optimizer.state_dict(), tmp_path))
    plateau.load_state_dict(saved_and_read(first.state_dict(), tmp_path))
    for metric in metrics[23:]:
        plateau.step(metric)
        got.append(optimizer.lr)
    assert got == expected


def refusal(load, state, message):
    with pytest.raises(optim.StateError, match=message):
        load(state)


def test_a_state_of_another_class_or_of_other_parameters_is_refused_and_changes_nothing():
    run = Run(ROUND_TRIPS["adam"]).step(3)
    state = run.optimizer.state_dict()
    adamw = optim.AdamW(run.params, lr=0.1)
    refusal(
        adamw.load_state_dict,
        state,
        r"AdamW.load_state_dict: the state comes from optim.Adam, not optim.AdamW",
    )
    refusal(adamw.load_state_dict, run.schedule.state_dict(), "comes from optim.CosineLR")
    model = nn.Linear(2, 3)
    refusal(
        optim.SGD(model.parameters()).load_state_dict,
        model.state_dict(),
        "has no type.<class> entry",
    )
    adam = optim.Adam(run.params[:2], lr=0.1)
    refusal(
        adam.load_state_dict,
        state,
        "Adam.load_state_dict: the state is of 3 parameters, this optimizer has 2; load it "
        "into an optimizer of the same model's parameters",
    )
    reordered = optim.Adam([run.params[1], run.params[0], run.params[2]], lr=0.1)
    refusal(
        reordered.load_state_dict,
        state,
        r"Adam.load_state_dict: parameter 0 \(v\) has shape \(2, 2\), but the state's parameter 0 "
        r"had shape \(3,\)",
    )
    for optimizer in (adamw, adam, reordered):
        assert optimizer.lr == 0.1 and optimizer.state[0] == {}


def test_a_damaged_state_is_refused_with_the_entry_that_is_wrong():
    run = Run(ROUND_TRIPS["sgd-nesterov"]).step(2)
    state = run.optimizer.state_dict()
    load = optim.SGD(run.params, lr=0.3, momentum=0.5).load_state_dict
    cases = [
        (
            {"momentum": 1.5},
            r"the saved options are refused: SGD: momentum must be in \[0.0, 1.0\)",
        ),
        ({"nesterov": "yes"}, "SGD: nesterov must be True or False, got 'yes'"),
        ({"momentum": 0.0}, "SGD: nesterov=True needs a momentum"),
        (
            {"state.0.velocity": np.zeros(4)},
            r"state.0.velocity holds float64 values of shape \(4,\)",
        ),
        ({"state.1.velocity": np.zeros((2, 2), int)}, "state.1.velocity holds int64 values"),
        (
            {"state.0.m": np.zeros(3)},
            "state.0 holds m, velocity, but with these options the optimizer keeps velocity",
        ),
        ({"extra": 1}, "unexpected entries extra"),
        ({"state.7.velocity": np.zeros(3)}, "unexpected entries state.7.velocity"),
    ]
    for change, message in cases:
        refusal(load, {**state, **change}, message)
    refusal(load, {k: v for k, v in state.items() if k != "lr"}, "the state has no 'lr' entry")
    without_velocity = {**state, "momentum": 0.0, "nesterov": False}
    refusal(
        load,
        without_velocity,
        "state.0 holds velocity, but with these options the optimizer keeps nothing",
    )
    adam_state = Run(ROUND_TRIPS["adam"]).step(1).optimizer.state_dict()
    adam = optim.Adam(run.params)
    refusal(
        adam.load_state_dict,
        {**adam_state, "state.0.step": 0},
        "state.0.step must be at least 1, got 0",
    )
    refusal(
        adam.load_state_dict,
        {**adam_state, "betas": np.array([0.9])},
        r"Adam: betas must be a pair",
    )
    schedule = optim.StepLR(optim.SGD(run.params), step_size=2)
    schedule_state = schedule.state_dict()
    refusal(
        schedule.load_state_dict,
        {**schedule_state, "steps": -1},
        "StepLR.load_state_dict: steps must be at least 0",
    )
    refusal(
        schedule.load_state_dict,
        {**schedule_state, "step_size": 0},
        "StepLR: step_size must be at least 1",
    )
    plateau = optim.ReduceLROnPlateau(optim.SGD(run.params))
    plateau_state = plateau.state_dict()
    del plateau_state["mode.min"]
    refusal(plateau.load_state_dict, plateau_state, "needs one mode.<choice> entry, got none")
    refusal(
        plateau.load_state_dict,
        {**plateau_state, "mode.min": 1, "mode.max": 1},
        "got mode.min, mode.max",
    )
    with pytest.raises(TypeError, match="SGD.load_state_dict: state must be a dict"):
        load([1, 2])


@pytest.mark.parametrize(
    "shape, dtypes",
    [
        ((784, 1024), (np.float32, np.float32)),  # sliced: a whole number of slices
        ((optim.SLICED_FROM + 5,), (np.float32, np.float32)),  # sliced, a short tail
        ((optim.SLICED_FROM + 5,), (np.float32, np.float64)),  # a float64 gradient
        ((10, 3), (np.float64, np.float32)),  # small: one plain pass
    ],
)
def test_a_large_weight_updated_in_slices_is_the_plain_update_bit_for_bit(shape, dtypes):
    rng = np.random.default_rng(0)
    param = rng.standard_normal(shape).astype(dtypes[0])
    grad = rng.standard_normal(shape).astype(dtypes[1])
    expected = param.copy()
    expected -= 0.0123 * grad
    optim.subtract_scaled(param, 0.0123, grad)
    np.testing.assert_array_equal(param, expected)


def test_a_non_contiguous_weight_is_updated_in_place_too():
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((1024, 784)).astype(np.float32).T  # a transposed view
    grad = rng.standard_normal((784, 1024)).astype(np.float32)
    expected = weight - 0.5 * grad
    layer_weight = Parameter(weight)
    layer_weight.grad = Tensor(grad)
    optim.SGD([layer_weight], lr=0.5).step()
    np.testing.assert_array_equal(layer_weight.data, expected)
    assert np.shares_memory(layer_weight.data, weight)  # updated where it lives
