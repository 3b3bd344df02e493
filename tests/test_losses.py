"""The losses' semantics, against torch.nn.functional in float64 on drawn inputs: values and
gradients, every reduction and option. (tests/test_torch_differential.py checks each op
alone, to second order; these check the functions users call, and the edges.)"""

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_functional

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
    weights = 1.5 + np.cos(np.arange(ours.size)).reshape(ours.shape)
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
