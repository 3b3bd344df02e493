"""The functional transforms against PyTorch's torch.func, on drawn inputs, and their
argnums and errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import Tensor, grad, hessian, hvp, jacobian, jvp, vjp


def mg_f(x, y):
    return (x * x * y + (x * y).tanh()).sum()


def torch_f(x, y):
    return (x * x * y + torch.tanh(x * y)).sum()


def mg_vector(x):
    return (x * x).tanh() * 2.0 + x


def torch_vector(x):
    return torch.tanh(x * x) * 2.0 + x


# x, y and two tangents of one length
four_vectors = st.integers(1, 4).flatmap(
    lambda n: st.tuples(*[hnp.arrays(np.float64, n, elements=st.floats(-2, 2))] * 4)
)


def close(ours, theirs):
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=20)
@given(four_vectors)
def test_transforms_match_torch_func(arrays):
    x, y, u, v = arrays
    tx, ty, tu, tv = (torch.tensor(a) for a in arrays)
    close(grad(mg_f, argnums=1)(x, y), torch.func.grad(torch_f, argnums=1)(tx, ty))
    close(jacobian(mg_vector)(x), torch.func.jacrev(torch_vector)(tx))
    close(hessian(mg_f)(x, y), torch.func.hessian(torch_f)(tx, ty))
    out, tangent = jvp(mg_vector, (x,), (u,))
    torch_out, torch_tangent = torch.func.jvp(torch_vector, (tx,), (tu,))
    close(out, torch_out)
    close(tangent, torch_tangent)
    _, pull = vjp(mg_vector, x)
    _, torch_pull = torch.func.vjp(torch_vector, tx)
    close(pull(v)[0], torch_pull(tv)[0])
    value, products = hvp(mg_f, (x, y), (u, v))
    _, torch_products = torch.autograd.functional.hvp(torch_f, (tx, ty), (tu, tv))
    for ours, theirs in zip(products, torch_products):
        close(ours, theirs)
    close(value, torch_f(tx, ty))


def test_jacobian_with_several_argnums_gives_one_per_argument():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    dx, dy = jacobian(lambda x, y: x * y, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(dx.data, np.diag(y))
    np.testing.assert_array_equal(dy.data, np.diag(x))


def test_transforms_nest():
    third = grad(grad(grad(lambda x: (x * x * x).sum())))
    np.testing.assert_allclose(third(Tensor(np.array([2.0]))).data, [6.0])


def test_jacobian_of_an_empty_input_is_empty():
    assert jacobian(lambda x: x * 2)(np.zeros(0)).shape == (0, 0)


def test_a_function_that_ignores_its_input_has_zero_derivatives():
    assert np.all(jacobian(lambda x: Tensor(np.ones(2)))(np.ones(3)).data == 0)
    _, tangent = jvp(lambda x: Tensor(np.ones(2)), (np.ones(3),), (np.ones(3),))
    assert np.all(tangent.data == 0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: jacobian(lambda x: x, argnums=2)(np.ones(2)), "jacobian: argnums 2"),
        (lambda: jvp(lambda x: x, (np.ones(2),), ()), "jvp: 1 primal"),
        (lambda: hvp(lambda x: x.sum(), (np.ones(2),), ()), "hvp: 1 primal"),
        (lambda: hessian(lambda x: x.sum(), argnums=(0,)), "hessian: argnums must be one int"),
    ],
)
def test_bad_arguments_name_the_transform(call, message):
    with pytest.raises((IndexError, ValueError, TypeError), match=message):
        call()
