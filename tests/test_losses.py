"""The losses' semantics, against torch.nn.functional in float64 on drawn inputs: values and
gradients, every reduction and option. (tests/test_torch_differential.py checks each op
alone, to second order; these check the functions users call, and the edges.)"""

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_functional
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad.functional as F
from minigrad import Tensor

REDUCTIONS = ["mean", "sum", "none"]


def leaf(values, dtype=np.float64):
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def torch_leaf(values):
    return torch.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def uneven(shape):
    """Weights for a sum of losses: a plain sum would hide a permuted gradient."""
    return np.asarray(1.5 + np.cos(np.arange(np.prod(shape, dtype=int)))).reshape(shape)


def assert_same_loss_and_gradients(ours, inputs, theirs, torch_inputs):
    """Values, then the gradients of the weighted sum of the losses, input by input."""
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = uneven(ours.shape)
    (ours * Tensor(weights)).sum().backward()
    (theirs * torch.from_numpy(weights)).sum().backward()
    for mine, torch_input in zip(inputs, torch_inputs):
        np.testing.assert_allclose(mine.grad.data, torch_input.grad.numpy(), rtol=1e-10, atol=1e-12)


# ----- mean_squared_error: the book's cost ------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (4,), ()])
def test_quadratic_cost_per_example_adds_up_to_sum_and_mean(shape):
    rng = np.random.default_rng(0)
    y, target = rng.normal(size=shape), rng.normal(size=shape)
    per_example = F.mean_squared_error(Tensor(y), target, reduction="none")
    assert per_example.shape == shape[:1]
    total = F.mean_squared_error(Tensor(y), target, reduction="sum")
    mean = F.mean_squared_error(Tensor(y), target, reduction="mean")
    np.testing.assert_allclose(per_example.data.sum(), total.data)
    np.testing.assert_allclose(per_example.data.mean(), mean.data)
    twin = F.mean_squared_error_composed(Tensor(y), target, reduction="none")
    np.testing.assert_allclose(per_example.data, twin.data, rtol=1e-12)


def test_quadratic_cost_sum_is_half_of_torchs_summed_mse_loss():
    y, target = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([[0.0, 2.5], [1.0, 1.0]])
    expected = 0.5 * torch_functional.mse_loss(
        torch.tensor(y), torch.tensor(target), reduction="sum"
    )
    np.testing.assert_allclose(F.mean_squared_error(Tensor(y), target).data, expected.numpy())


# ----- drawn inputs -------------------------------------------------------------------------
@st.composite
def classification(draw, max_examples=5, max_classes=5):
    """Scores (N, C), integer labels, class weights or None, and an ignore_index or None
    (some labels set to it, never all of them)."""
    batch = draw(st.integers(1, max_examples))
    classes = draw(st.integers(2, max_classes))
    scores = draw(hnp.arrays(np.float64, (batch, classes), elements=st.floats(-5, 5)))
    labels = draw(hnp.arrays(np.int64, (batch,), elements=st.integers(0, classes - 1)))
    weight = None
    if draw(st.booleans()):
        weight = draw(hnp.arrays(np.float64, (classes,), elements=st.floats(0.1, 3)))
    ignore_index = None
    if draw(st.booleans()):
        ignore_index = draw(st.sampled_from([-100, -1, classes, 0]))
        if labels[0] == ignore_index:  # a valid class as ignore_index: not the first
            labels[0] = (ignore_index + 1) % classes
        ignored = draw(hnp.arrays(bool, (batch,)))
        ignored[0] = False
        labels = np.where(ignored, ignore_index, labels)
    return scores, labels, weight, ignore_index


def torch_ignore_index(ignore_index):
    return -100 if ignore_index is None else ignore_index


def torch_constant(array):
    return None if array is None else torch.from_numpy(array)


# ----- nll_loss ------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=30)
@given(drawn=classification())
def test_nll_loss_is_torchs(reduction, drawn):
    scores, labels, weight, ignore_index = drawn
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    ours_in, theirs_in = leaf(log_probs), torch_leaf(log_probs)
    ours = F.nll_loss(ours_in, labels, weight, reduction=reduction, ignore_index=ignore_index)
    theirs = torch_functional.nll_loss(
        theirs_in,
        torch.from_numpy(labels),
        torch_constant(weight),
        ignore_index=torch_ignore_index(ignore_index),
        reduction=reduction,
    )
    assert_same_loss_and_gradients(ours, [ours_in], theirs, [theirs_in])


def test_nll_loss_weighted_mean_divides_by_the_weights_picked():
    log_probs = np.log(np.array([[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]]))
    weight = np.array([1.0, 3.0])
    loss = F.nll_loss(Tensor(log_probs), np.array([0, 1, 1]), weight)
    expected = -(1 * np.log(0.5) + 3 * np.log(0.75) + 3 * np.log(0.1)) / (1 + 3 + 3)
    np.testing.assert_allclose(loss.data, expected)


def test_nll_loss_ignores_only_what_it_is_told_to():
    log_probs = Tensor(np.log(np.full((3, 2), 0.5)), requires_grad=True)
    with pytest.raises(ValueError, match=r"nll_loss: labels must lie in 0\.\.1, got -100\.\.1"):
        F.nll_loss(log_probs, np.array([0, -100, 1]))
    loss = F.nll_loss(log_probs, np.array([0, -100, 1]), ignore_index=-100)
    loss.backward()
    np.testing.assert_allclose(loss.data, np.log(2))
    np.testing.assert_allclose(log_probs.grad.data, [[-0.5, 0], [0, 0], [0, -0.5]])


def test_nll_loss_with_every_example_ignored_is_nan_with_zero_gradients_as_in_torch():
    log_probs = Tensor(np.log(np.full((2, 3), 1 / 3)), requires_grad=True)
    loss = F.nll_loss(log_probs, np.array([-100, -100]), ignore_index=-100)
    loss.backward()
    assert np.isnan(loss.data)
    np.testing.assert_array_equal(log_probs.grad.data, np.zeros((2, 3)))


@pytest.mark.parametrize(
    "labels, weight, message",
    [
        (np.eye(3)[[0, 1]], None, r"got float64\(2, 3\): for one-hot rows pass labels\.argmax"),
        (np.array([0.0, 1.0]), None, r"got float64\(2,\): pass labels\.astype\(np\.int64\)"),
        (np.array([[0], [1]]), None, r"got int64\(2, 1\): pass labels\.reshape\(-1\)"),
        (np.array([0, 1]), np.ones(2), r"weight must hold one number per class, shape \(3,\)"),
    ],
)
def test_nll_loss_refuses_what_it_cannot_compute(labels, weight, message):
    with pytest.raises(ValueError, match=rf"nll_loss: .*{message}"):
        F.nll_loss(Tensor(np.zeros((2, 3))), labels, weight)


def test_a_weight_that_requires_grad_is_refused():
    weight = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"nll_loss: weight is a constant .* weight\.detach\(\)"):
        F.nll_loss(Tensor(np.zeros((2, 3))), np.array([0, 1]), weight)


# ----- binary_cross_entropy and binary_cross_entropy_with_logits ----------------------------
@st.composite
def binary(draw, low, high):
    """Inputs in [low, high] of a small shape, targets in [0, 1] of that shape, and element
    weights and a pos_weight that broadcast to it (or None)."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    inputs = draw(hnp.arrays(np.float64, shape, elements=st.floats(low, high)))
    targets = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
    weights = []
    for _ in range(2):
        within = shape[draw(st.integers(0, len(shape))) :]
        within = tuple(draw(st.sampled_from([1, side])) for side in within)
        weights.append(draw(st.none() | hnp.arrays(np.float64, within, elements=st.floats(0.1, 3))))
    return inputs, targets, *weights


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=30)
@given(drawn=binary(0.01, 0.99))
def test_binary_cross_entropy_is_torchs(reduction, drawn):
    probs, targets, weight, _ = drawn
    ours_in, theirs_in = [leaf(probs), leaf(targets)], [torch_leaf(probs), torch_leaf(targets)]
    ours = F.binary_cross_entropy(*ours_in, weight, reduction=reduction)
    theirs = torch_functional.binary_cross_entropy(
        *theirs_in, torch_constant(weight), reduction=reduction
    )
    assert_same_loss_and_gradients(ours, ours_in, theirs, theirs_in)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=30)
@given(drawn=binary(-30, 30))
def test_binary_cross_entropy_with_logits_is_torchs(reduction, drawn):
    logits, targets, weight, pos_weight = drawn
    ours_in, theirs_in = [leaf(logits), leaf(targets)], [torch_leaf(logits), torch_leaf(targets)]
    ours = F.binary_cross_entropy_with_logits(
        *ours_in, weight, reduction=reduction, pos_weight=pos_weight
    )
    theirs = torch_functional.binary_cross_entropy_with_logits(
        *theirs_in,
        torch_constant(weight),
        reduction=reduction,
        pos_weight=torch_constant(pos_weight),
    )
    assert_same_loss_and_gradients(ours, ours_in, theirs, theirs_in)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_with_logits_is_exact_at_logits_of_1e4(dtype):
    logits = leaf([1e4, -1e4, 1e4, -1e4, 1e4], dtype)
    targets = leaf([0.0, 1.0, 1.0, 0.0, 0.5], dtype)
    pos_weight = np.array([2.0, 2.0, 2.0, 2.0, 2.0])
    loss = F.binary_cross_entropy_with_logits(
        logits, targets, reduction="none", pos_weight=pos_weight
    )
    (loss * Tensor(np.arange(1.0, 6.0, dtype=dtype))).sum().backward()
    assert loss.dtype == dtype
    # -log(1 - sigmoid(1e4)) = 1e4, -log sigmoid(-1e4) = 1e4 (times pos_weight 2), and 0
    # for the right answers; a half target costs half of each.
    np.testing.assert_allclose(loss.data, [1e4, 2e4, 0.0, 0.0, 0.5e4], rtol=1e-7)
    np.testing.assert_allclose(logits.grad.data, [1.0, -4.0, 0.0, 0.0, 2.5], rtol=1e-7)
    assert np.isfinite(targets.grad.data).all()
    # d/dt = pos_weight * softplus(-x) - softplus(x), times the weights 1..5
    np.testing.assert_allclose(targets.grad.data, [-1e4, 4e4, -3e4, 8e4, -5e4], rtol=1e-7)


def test_binary_cross_entropy_clamps_its_logs_at_minus_100_as_torch_does():
    probs = [0.0, 1.0, 0.0, 1.0]
    targets = [1.0, 0.0, 0.0, 1.0]
    ours_in, theirs_in = leaf(probs), torch_leaf(probs)
    ours = F.binary_cross_entropy(ours_in, targets, reduction="none")
    theirs = torch_functional.binary_cross_entropy(
        theirs_in, torch.tensor(targets, dtype=torch.float64), reduction="none"
    )
    np.testing.assert_array_equal(ours.data, [100.0, 100.0, 0.0, 0.0])
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    # (p - t) / max(p (1 - p), 1e-12): torch's 1e-12 is a float32, 4e-9 larger
    np.testing.assert_allclose(ours_in.grad.data, [-1e12, 1e12, 0.0, 0.0])
    np.testing.assert_allclose(ours_in.grad.data, theirs_in.grad.numpy(), rtol=1e-8)


@pytest.mark.parametrize(
    "function, inputs, targets, options, message",
    [
        (
            F.binary_cross_entropy,
            [0.5, 1.5],
            [1.0, 0.0],
            {},
            r"probs must lie in \[0, 1\], got 0\.5\.\.1\.5; "
            r"for raw scores use binary_cross_entropy_with_logits",
        ),
        (
            F.binary_cross_entropy,
            [[0.5, 0.5]],
            [1.0, 0.0],
            {},
            r"targets must have the shape of the probs \(1, 2\), got \(2,\); "
            r"pass targets\.reshape\(1, 2\)",
        ),
        (
            F.binary_cross_entropy_with_logits,
            [[0.0, 1.0]],
            [[1.0, 0.0]],
            {"pos_weight": np.ones(3)},
            r"pos_weight of shape \(3,\) must broadcast to the inputs' shape \(1, 2\) "
            r"\(one number per class is shape \(2,\)\)",
        ),
        (
            F.binary_cross_entropy_with_logits,
            [0.0],
            [1.0],
            {"reduction": "avg"},
            r"reduction must be one of \('mean', 'sum', 'none'\), got 'avg'",
        ),
    ],
)
def test_binary_losses_refuse_what_they_cannot_compute(function, inputs, targets, options, message):
    with pytest.raises(ValueError, match=rf"{function.__name__}: {message}"):
        function(Tensor(np.array(inputs)), np.array(targets), **options)


def test_integer_targets_are_zeros_and_ones():
    logits = Tensor(np.array([[2.0, -1.0]], np.float32))
    loss = F.binary_cross_entropy_with_logits(logits, np.array([[1, 0]]))
    assert loss.dtype == np.float32
    np.testing.assert_allclose(
        loss.data, np.log1p(np.exp(-2.0)) / 2 + np.log1p(np.exp(-1.0)) / 2, rtol=1e-6
    )


# ----- softmax_cross_entropy with class weights, label smoothing and ignore_index ------------
def probability_rows(scores):
    exps = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def cross_entropy_three_ways(logits, target, reduction, weight, smoothing, ignore_index):
    """Ours, our composed twin and torch's, each on its own leaf of `logits`."""
    options = {"weight": weight, "label_smoothing": smoothing, "ignore_index": ignore_index}
    ours_in, twin_in, theirs_in = leaf(logits), leaf(logits), torch_leaf(logits)
    ours = F.softmax_cross_entropy(ours_in, target, reduction, **options)
    twin = F.softmax_cross_entropy_composed(twin_in, target, reduction, **options)
    theirs = torch_functional.cross_entropy(
        theirs_in,
        torch.from_numpy(target),
        torch_constant(weight),
        ignore_index=torch_ignore_index(ignore_index),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    return (ours, ours_in), (twin, twin_in), (theirs, theirs_in)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=30)
@given(drawn=classification(), smoothing=st.sampled_from([0.0, 0.1, 0.3, 1.0]))
def test_cross_entropy_on_labels_with_weights_smoothing_and_ignored_labels_is_torchs(
    reduction, drawn, smoothing
):
    logits, labels, weight, ignore_index = drawn
    (ours, ours_in), (twin, twin_in), (theirs, theirs_in) = cross_entropy_three_ways(
        logits, labels, reduction, weight, smoothing, ignore_index
    )
    assert_same_loss_and_gradients(ours, [ours_in], theirs, [theirs_in])
    np.testing.assert_allclose(twin.data, ours.data, rtol=1e-10, atol=1e-12)
    (twin * Tensor(uneven(twin.shape))).sum().backward()
    np.testing.assert_allclose(twin_in.grad.data, ours_in.grad.data, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=30)
@given(
    drawn=classification(),
    target_scores=hnp.arrays(np.float64, 5 * 5, elements=st.floats(-3, 3)),
    smoothing=st.sampled_from([0.0, 0.1, 0.3, 1.0]),
)
def test_cross_entropy_on_probabilities_with_weights_and_smoothing_is_torchs(
    reduction, drawn, target_scores, smoothing
):
    logits, _, weight, _ = drawn
    probs = probability_rows(target_scores[: logits.size].reshape(logits.shape))
    target_in, torch_target = leaf(probs), torch_leaf(probs)
    ours_in, theirs_in = leaf(logits), torch_leaf(logits)
    options = {"weight": weight, "label_smoothing": smoothing}
    ours = F.softmax_cross_entropy(ours_in, target_in, reduction, **options)
    theirs = torch_functional.cross_entropy(
        theirs_in,
        torch_target,
        torch_constant(weight),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    assert_same_loss_and_gradients(ours, [ours_in, target_in], theirs, [theirs_in, torch_target])
    twin = F.softmax_cross_entropy_composed(Tensor(logits), probs, reduction, **options)
    np.testing.assert_allclose(ours.data, twin.data, rtol=1e-10, atol=1e-12)


def test_smoothing_with_weights_divides_by_the_weights_of_the_labels_only():
    """PyTorch: (1 - s) * nll + s / C * sum_c w_c * (-log p_c), summed over the examples
    that count and divided by the sum of their labels' weights."""
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [1.0, -2.0, 3.0]])
    labels, weight, s = np.array([0, 2, -100]), np.array([1.0, 2.0, 4.0]), 0.3
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    nll = -(weight[0] * log_probs[0, 0] + weight[2] * log_probs[1, 2])
    uniform = -(log_probs[:2] * weight).sum()
    expected = ((1 - s) * nll + s / 3 * uniform) / (weight[0] + weight[2])
    loss = F.softmax_cross_entropy(
        Tensor(logits), labels, weight=weight, label_smoothing=s, ignore_index=-100
    )
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)


def test_cross_entropy_with_every_example_ignored_is_torchs_nan_with_zero_gradients():
    with np.errstate(invalid="ignore"):  # the composed twin divides 0 by 0
        (ours, ours_in), _, (theirs, theirs_in) = cross_entropy_three_ways(
            np.zeros((2, 3)), np.array([1, 1]), "mean", np.ones(3), 0.2, 1
        )
    assert np.isnan(ours.data) and np.isnan(theirs.item())
    ours.backward()
    theirs.backward()
    np.testing.assert_array_equal(ours_in.grad.data, theirs_in.grad.numpy())
    np.testing.assert_array_equal(ours_in.grad.data, np.zeros((2, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_still_finite_for_huge_logits_with_options(dtype):
    logits = leaf([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]], dtype)
    loss = F.softmax_cross_entropy(
        logits, np.array([1, 1]), weight=np.array([1.0, 2.0, 3.0]), label_smoothing=0.1
    )
    loss.backward()
    assert loss.dtype == dtype and logits.grad.dtype == dtype
    assert np.isfinite(loss.data) and np.isfinite(logits.grad.data).all()
    # -log softmax: [0, 2e4, 1e4] and [2e4, 0, 5e3]; both labels are 1 (weight 2)
    minus_log_probs = np.array([[0.0, 2e4, 1e4], [2e4, 0.0, 5e3]])
    at_labels = 2 * minus_log_probs[:, 1].sum()
    uniform = (minus_log_probs * [1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(loss.data, (0.9 * at_labels + 0.1 / 3 * uniform) / 4, rtol=1e-6)


def test_cross_entropy_without_options_is_the_short_path():
    """No work for options nobody asked for: the plain loss keeps its one-line labels."""
    logits = Tensor(np.zeros((2, 3)), requires_grad=True)
    loss = F.softmax_cross_entropy(logits, np.array([0, 1]))
    assert not loss.op.has_options()
    assert loss.op.describe_params() == {"reduction": "mean", "weight": None, "ignore_index": None}


@pytest.mark.parametrize(
    "target, options, message",
    [
        (np.array([0, 1]), {"label_smoothing": 1.5}, r"label_smoothing must lie in \[0, 1\]"),
        (np.array([0, 1]), {"weight": np.ones(2)}, r"weight must hold one number per class"),
        (np.eye(3)[[0, 1]], {"ignore_index": 0}, r"ignore_index applies to integer labels"),
        (
            np.array([0, -100]),
            {"ignore_index": -1},
            r"labels must lie in 0\.\.2 \(or be the ignore_index, -1\), got -100\.\.0",
        ),
    ],
)
def test_cross_entropy_refuses_options_it_cannot_use(target, options, message):
    with pytest.raises(ValueError, match=rf"softmax_cross_entropy: {message}"):
        F.softmax_cross_entropy(Tensor(np.zeros((2, 3))), target, **options)
