"""The tensor vocabulary's semantics that drawn cases cannot see: zeros in a product, a
norm at 0, ties, refused shapes, the forms einsum and pad take, gelu's accuracy, ddof and
the aliases. Gradients in general are the property tests' job (test_op_gradients)."""

import math

import numpy as np
import pytest
import torch

import minigrad.functional as F
from minigrad import OpError, Tensor, gradcheck, gradients
from minigrad.ops import Reshape, erf


def leaf(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def torch_leaf(tensor):
    return torch.from_numpy(tensor.data.copy()).requires_grad_()


def first_and_second_order(ours, theirs, x, tx):
    """Gradients of a weighted sum, and of a weighted sum of those, on both sides."""
    weights = np.linspace(0.5, 1.5, max(ours.size, 1)).reshape(ours.shape)
    (grad,) = gradients((ours * Tensor(weights)).sum(), [x], create_graph=True)
    (torch_grad,) = torch.autograd.grad(
        (theirs * torch.from_numpy(weights)).sum(), [tx], create_graph=True
    )
    np.testing.assert_allclose(grad.data, torch_grad.detach().numpy(), rtol=1e-12, atol=1e-12)
    second_weights = np.linspace(-1.0, 2.0, x.size).reshape(x.shape)
    (second,) = gradients((grad * Tensor(second_weights)).sum(), [x])
    (torch_second,) = torch.autograd.grad(
        (torch_grad * torch.from_numpy(second_weights)).sum(), [tx]
    )
    np.testing.assert_allclose(second.data, torch_second.numpy(), rtol=1e-12, atol=1e-12)


# ----- prod ------------------------------------------------------------------------------
def test_prod_gradient_is_the_product_of_the_others_with_one_zero():
    x = leaf([2.0, 0.0, 3.0])
    x.prod().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 6.0, 0.0])


def test_prod_gradient_with_two_zeros_is_zero_but_its_derivative_is_not():
    x = leaf([0.0, 0.0, 3.0])
    (grad,) = gradients(x.prod(), [x], create_graph=True)
    np.testing.assert_array_equal(grad.data, [0.0, 0.0, 0.0])
    (mixed,) = gradients(grad[0], [x])  # grad[0] is x1 * x2, whose gradient is (0, x2, x1)
    np.testing.assert_array_equal(mixed.data, [0.0, 3.0, 0.0])


@pytest.mark.parametrize(
    "values",
    [
        [[1.5, -0.5, 2.0], [0.7, 1.2, -1.1]],  # no zeros
        [[1.5, 0.0, 2.0], [0.7, 1.2, -1.1]],  # one zero in one row
        [[0.0, 0.0, 2.0], [0.7, 0.0, -1.1]],  # two zeros, one zero
        [[0.0, 0.0, 0.0], [0.0, 1.2, 0.0]],  # three zeros, two zeros
    ],
)
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_prod_with_zeros_matches_torch_to_second_order(values, axis):
    x = leaf(values)
    tx = torch_leaf(x)
    ours = x.prod(axis=axis)
    theirs = tx.prod() if axis is None else tx.prod(dim=axis)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy())
    first_and_second_order(ours, theirs, x, tx)
    assert gradcheck(lambda x: x.prod(axis=axis), [x], order=2)


# ----- norm ------------------------------------------------------------------------------
@pytest.mark.parametrize("ord", [1, 2])
def test_norm_at_zero_has_gradient_zero_as_in_torch(ord):
    x = leaf([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]])
    tx = torch_leaf(x)
    ours = x.norm(ord=ord, axis=1)
    theirs = torch.linalg.vector_norm(tx, ord=ord, dim=1)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_array_equal(x.grad.data[0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())


def test_norm_defaults_to_the_euclidean_length_of_all_entries():
    x = leaf([[3.0, 0.0], [0.0, 4.0]])
    assert x.norm().item() == 5.0
    assert F.norm(x, ord=1).item() == 7.0
    assert x.norm(axis=0, keepdims=True).shape == (1, 2)
    with pytest.raises(OpError, match="norm: ord must be 1 or 2"):
        x.norm(ord=3)


# ----- argmax, argmin --------------------------------------------------------------------
def test_argmax_picks_the_first_of_ties_and_stays_out_of_the_graph():
    x = leaf([[1.0, 3.0, 3.0], [5.0, 5.0, 0.0]])
    found = x.argmax()  # of the flattened entries: the first 5
    assert found.item() == 3 and found.dtype.kind == "i"
    assert not found.requires_grad and found.op is None
    np.testing.assert_array_equal(x.argmax(axis=1).data, [1, 0])
    np.testing.assert_array_equal(x.argmin(axis=0).data, [0, 0, 1])
    np.testing.assert_array_equal(F.argmax(x, axis=1, keepdims=True).data, [[1], [0]])
    data = torch.from_numpy(x.data)
    np.testing.assert_array_equal(x.argmax(axis=1).data, torch.argmax(data, dim=1).numpy())
    np.testing.assert_array_equal(x.argmin(axis=-1).data, torch.argmin(data, dim=-1).numpy())


# ----- maximum, minimum ------------------------------------------------------------------
def test_maximum_splits_a_tie_as_torch_and_central_differences_do():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 5.0, 0.0])
    a.maximum(b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad.data, [0.5, 1.0, 0.0])
    ta, tb = torch_leaf(a), torch_leaf(b)
    torch.maximum(ta, tb).sum().backward()
    np.testing.assert_array_equal(a.grad.data, ta.grad.numpy())
    assert gradcheck(lambda a, b: F.minimum(a, b), [leaf([1.0, 2.0]), leaf([1.0, 0.0])])


def test_maximum_with_a_number_broadcasts():
    x = leaf([[-1.0, 2.0]])
    np.testing.assert_array_equal(x.maximum(0.0).data, [[0.0, 2.0]])
    np.testing.assert_array_equal(F.minimum(x, np.array([[0.0], [1.0]])).data, [[-1, 0], [-1, 1]])


# ----- squeeze, unsqueeze, view ----------------------------------------------------------
def test_squeeze_refuses_an_axis_that_is_not_of_size_one():
    x = leaf(np.zeros((2, 1, 3)))
    assert x.squeeze().shape == (2, 3) and x.squeeze(1).shape == (2, 3)
    assert x.squeeze(-2).shape == (2, 3) and F.squeeze(x, (1,)).shape == (2, 3)
    with pytest.raises(
        OpError, match=r"squeeze: axis 0 of an input of shape \(2, 1, 3\) has size 2"
    ):
        x.squeeze(0)
    with pytest.raises(OpError, match="squeeze: axis 3 is out of range .* -3..2"):
        x.squeeze(3)


def test_unsqueeze_inserts_an_axis_where_told():
    x = leaf(np.zeros((2, 3)))
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(2).shape == (2, 3, 1)
    with pytest.raises(OpError, match=r"unsqueeze: axis must be an int in -3..2"):
        x.unsqueeze(3)


def test_view_is_reshape():
    x = leaf(np.arange(6.0))
    viewed, reshaped = x.view(2, 3), x.reshape(2, 3)
    assert isinstance(viewed.op, Reshape)
    np.testing.assert_array_equal(viewed.data, reshaped.data)
    assert x.view(-1, 2).shape == (3, 2) and F.view(x, (3, 2)).shape == (3, 2)
    (viewed * Tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.arange(6.0))


# ----- cumsum, repeat, tile, pad ---------------------------------------------------------
def test_cumsum_runs_over_the_flattened_entries_without_an_axis():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(x.cumsum().data, [1, 3, 6, 10])
    np.testing.assert_array_equal(x.cumsum(axis=-1).data, [[1, 3], [3, 7]])
    x.cumsum(axis=0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 2], [1, 1]])


def test_repeat_is_numpy_repeat_and_tile_is_numpy_tile():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(F.repeat(x, 2, axis=1).data, np.repeat(x.data, 2, axis=1))
    np.testing.assert_array_equal(x.repeat_interleave(2).data, np.repeat(x.data, 2))
    np.testing.assert_array_equal(x.tile(2, 1).data, np.tile(x.data, (2, 1)))
    np.testing.assert_array_equal(F.tile(x, 3).data, np.tile(x.data, 3))
    # PyTorch's Tensor.repeat is tile:
    np.testing.assert_array_equal(x.tile(2, 3).data, torch.from_numpy(x.data).repeat(2, 3).numpy())
    assert not hasattr(Tensor, "repeat")
    x.tile((1, 3)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 2), 3.0))


@pytest.mark.parametrize(
    "pad_width", [1, (1, 2), ((0, 1), (2, 0)), [[1, 1]], np.array([[2, 0], [0, 1]])]
)
def test_pad_takes_numpy_pad_widths(pad_width):
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    padded = F.pad(x, pad_width)
    np.testing.assert_array_equal(padded.data, np.pad(x.data, pad_width))
    weights = np.arange(padded.size, dtype=float).reshape(padded.shape)
    (padded * Tensor(weights)).sum().backward()
    pairs = np.broadcast_to(np.asarray(pad_width), (2, 2))
    inside = tuple(slice(before, before + n) for (before, _), n in zip(pairs, x.shape))
    np.testing.assert_array_equal(x.grad.data, weights[inside])


@pytest.mark.parametrize(
    ("pad_width", "message"),
    [(-1, "ints of 0 or more"), (1.5, "ints of 0 or more"), ((1, 2, 3), "does not fit")],
)
def test_pad_refuses_widths_numpy_would_not_take(pad_width, message):
    with pytest.raises(OpError, match=f"pad: .*{message}"):
        F.pad(leaf(np.zeros((2, 2))), pad_width)


# ----- einsum ----------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 2)]),  # implicit output: ik
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),  # the trace
    ("iij->ji", [(2, 2, 3)]),
    ("ij->", [(2, 3)]),
    ("i,i", [(3,), (3,)]),
    ("i,j,k->ijk", [(2,), (3,), (2,)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]),  # the batch broadcasts
    ("...i->i...", [(2, 3, 4)]),
    ("ij,ij->ij", [(1, 3), (4, 3)]),  # a side of 1 broadcasts
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("Ba,aB", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize(("subscripts", "shapes"), EINSUMS, ids=[s for s, _ in EINSUMS])
def test_einsum_matches_numpy_and_differentiates_twice(subscripts, shapes):
    rng = np.random.default_rng(0)
    xs = [leaf(rng.normal(size=shape)) for shape in shapes]
    ours = F.einsum(subscripts, *xs)
    np.testing.assert_allclose(ours.data, np.einsum(subscripts, *[x.data for x in xs]))
    assert gradcheck(lambda *xs: F.einsum(subscripts, *xs), xs, order=2)


def test_einsum_names_a_wrong_number_of_operands():
    with pytest.raises(OpError, match="einsum: subscripts 'ij,jk' name 2 operand"):
        F.einsum("ij,jk", leaf(np.zeros((2, 2))))


# ----- var, std --------------------------------------------------------------------------
@pytest.mark.parametrize("ddof", [0, 1])
def test_var_and_std_take_numpys_ddof(ddof):
    data = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    x = leaf(data)
    np.testing.assert_allclose(x.var(axis=1, ddof=ddof).data, np.var(data, axis=1, ddof=ddof))
    np.testing.assert_allclose(F.std(x, ddof=ddof).data, np.std(data, ddof=ddof))
    np.testing.assert_allclose(
        x.std(axis=0, ddof=ddof).data, torch.std(torch.from_numpy(data), dim=0, correction=ddof)
    )


def test_var_defaults_to_ddof_0_unlike_torch():
    data = np.array([1.0, 2.0, 4.0])
    assert Tensor(data).var().item() == pytest.approx(np.var(data))
    assert Tensor(data).var(ddof=1).item() == pytest.approx(
        torch.var(torch.from_numpy(data)).item()
    )


# ----- erf and gelu ----------------------------------------------------------------------
def test_erf_is_within_float_precision_of_math_erf():
    x = np.concatenate([np.linspace(-30, 30, 60001), np.geomspace(1e-300, 1.0, 301)])
    exact = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - exact)) <= 4.5e-16
    narrow = x.astype(np.float32)
    exact = np.array([math.erf(v) for v in narrow.astype(np.float64)])
    assert erf(narrow).dtype == np.float32
    assert np.max(np.abs(erf(narrow) - exact)) <= 1e-7
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf, 0.0])), [1.0, -1.0, 0.0])


@pytest.mark.parametrize(
    ("approximate", "dtype", "tolerance"),
    [
        ("none", np.float64, 1e-15),
        ("none", np.float32, 1.5e-6),
        ("tanh", np.float64, 1e-14),  # 1 - tanh^2 where tanh is an ulp from -1
        ("tanh", np.float32, 1.5e-6),
    ],
)
def test_gelu_matches_torch(approximate, dtype, tolerance):
    x = Tensor(np.linspace(-8, 8, 20001).astype(dtype), requires_grad=True)
    tx = torch_leaf(x)
    ours = F.gelu(x, approximate=approximate)
    theirs = torch.nn.functional.gelu(tx, approximate=approximate)
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=0, atol=tolerance)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=0, atol=tolerance)


def test_gelu_refuses_an_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(leaf([1.0]), approximate="sigmoid")


def test_softplus_and_log_sigmoid_stay_finite_far_out():
    x = leaf([-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(F.softplus(x).data, [0.0, math.log(2), 1000.0])
    np.testing.assert_allclose(F.log_sigmoid(x).data, [-1000.0, -math.log(2), 0.0])
    F.log_sigmoid(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 0.5, 0.0])
