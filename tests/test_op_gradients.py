"""Every registered op's gradient against central differences, drawn by its own spec.

The tests enumerate `minigrad.OPS`, so an op is covered the moment it is defined.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigrad import OPS, GradcheckError, OpError, Tensor, gradcheck
from minigrad.testing import op_cases

ALL_OPS = sorted(OPS)


@pytest.mark.parametrize("name", ALL_OPS)
@given(data=st.data())
def test_gradient_matches_central_differences(name, data):
    case = data.draw(op_cases(OPS[name]), label="case")
    assert gradcheck(case.run, case.inputs) is True


@pytest.mark.parametrize("name", ALL_OPS)
@settings(max_examples=15)  # a dtype follows the code path, not the values: fewer suffice
@given(data=st.data())
def test_float32_stays_float32(name, data):
    case = data.draw(op_cases(OPS[name], dtype=np.float32), label="case")
    out = case.run()
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    for tensor in case.inputs:
        if tensor.requires_grad:
            assert tensor.grad.dtype == np.float32, f"{name}: input grad is {tensor.grad.dtype}"
            assert tensor.grad.shape == tensor.shape


def scaled_backward(op, factor):
    """A copy of `op` whose backward is off by `factor`: a planted bug."""

    class Mutant(op, register=False):
        def backward(self, grad, out, *inputs):
            grads = super().backward(grad, out, *inputs)
            return [None if g is None else g * factor for g in grads]

    Mutant.__name__ = f"{op.__name__}Scaled"
    return Mutant


@pytest.mark.parametrize("name", ALL_OPS)
@settings(max_examples=15)
@given(data=st.data())
def test_property_test_catches_a_wrong_backward(name, data):
    """The same check fails when the op's backward is scaled by 1.5: the test can fail."""
    case = data.draw(op_cases(OPS[name]), label="case")
    mutant = scaled_backward(OPS[name], 1.5)
    # Scaling a gradient too small for gradcheck's tolerance (1e-5) changes nothing it can see.
    assume(largest_backward(case) > 1e-3)
    with pytest.raises(GradcheckError):
        gradcheck(lambda *xs: mutant.apply(*xs, **case.params), case.inputs)


def largest_backward(case):
    """The largest gradient entry the op sends back for a random upstream gradient.

    Random, not ones: the gradient of softmax(x).sum() is zero for every x, although
    softmax's Jacobian is not.
    """
    out = case.run()
    out.backward(np.random.default_rng(0).normal(size=out.shape))
    return max(np.abs(t.grad.data).max(initial=0) for t in case.inputs if t.requires_grad)


@pytest.mark.parametrize("name", ALL_OPS)
@settings(max_examples=15)
@given(data=st.data())
def test_integer_inputs_give_the_float_answer_or_a_clear_error(name, data):
    """Integer tensors (labels, counts) fed to any op: the same values as the float64
    computation on the same numbers, never truncated, or an error naming the op."""
    case = data.draw(op_cases(OPS[name]), label="case")
    floating = [t.dtype.kind == "f" for t in case.inputs]
    whole = [np.round(t.data) if f else t.data for t, f in zip(case.inputs, floating)]
    as_floats = [Tensor(w) for w in whole]
    as_integers = [Tensor(w.astype(np.int64)) if f else Tensor(w) for w, f in zip(whole, floating)]
    with np.errstate(all="ignore"):
        expected = case.op.apply(*as_floats, **case.params)
        try:
            got = case.op.apply(*as_integers, **case.params)
        except (OpError, TypeError) as error:
            assert name in str(error) or case.op.__name__ in str(error)
            return
    # Integers compute in float32 where a real result is needed; truncation is far off.
    np.testing.assert_allclose(got.data, expected.data, rtol=1e-5, atol=1e-6, equal_nan=True)
