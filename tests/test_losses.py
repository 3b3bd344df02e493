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


def assert_same_loss_and_gradients(ours, inputs, theirs, torch_inputs):
    """Values, then the gradients of the weighted sum of the losses, input by input."""
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = np.asarray(1.5 + np.cos(np.arange(ours.size))).reshape(ours.shape)
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
        ignored = draw(hnp.arrays(bool, (batch,)))
        ignored[labels == ignore_index] = True  # a valid class as ignore_index: all of it
        ignored[0] = ignore_index == labels[0]
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
