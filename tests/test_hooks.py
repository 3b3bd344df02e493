"""Tensor.register_hook and Module.register_forward_hook: called with what they promise,
able to replace it, removable, and shown in traces and pictures."""

import numpy as np
import pytest

from minigrad import Tensor, gradients, nn
from minigrad.viz import to_dot, trace_backward


def test_a_hook_sees_the_full_gradient_and_may_replace_it():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.data.copy()))
    y = x * 3
    y.register_hook(lambda g: g * 2)  # doubles what flows on to x
    (y * y).sum().backward()
    np.testing.assert_array_equal(seen[0], [36.0, 72.0])
    np.testing.assert_array_equal(x.grad.data, [36.0, 72.0])


def test_a_hook_on_a_shared_tensor_runs_once_on_the_summed_gradient():
    x = Tensor(np.array([2.0]), requires_grad=True)
    y = x * 1.0
    calls = []
    y.register_hook(lambda g: calls.append(g.item()))
    (y * y + y).sum().backward()
    assert calls == [5.0]


def test_hooks_run_for_gradients_and_under_create_graph():
    x = Tensor(np.array([3.0]), requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (g,) = gradients((x * x).sum(), [x], create_graph=True)
    assert g.item() == 60.0 and g.requires_grad


def test_a_removed_hook_is_not_called():
    x = Tensor(np.array([1.0]), requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    handle.remove()
    (x * 2).sum().backward()
    assert calls == [] and x.hooks == []


def test_a_hook_returning_the_wrong_shape_is_named():
    x = Tensor(np.ones(3), requires_grad=True)
    x.register_hook(lambda g: np.ones(2))
    with pytest.raises(ValueError, match=r"register_hook: a hook on a tensor of shape \(3,\)"):
        (x * 2).sum().backward()


def test_forward_hooks_see_inputs_and_output_and_may_replace_it():
    model = nn.MLP([2, 3, 2], rng=0)
    seen = []
    model.layers[0].register_forward_hook(lambda m, inputs, out: seen.append((m, out.shape)))
    handle = model.layers[-1].register_forward_hook(lambda m, inputs, out: out * 0)
    out = model(np.ones((4, 2), np.float32))
    assert seen == [(model.layers[0], (4, 3))] and np.all(out.data == 0)
    handle.remove()
    assert np.any(model(np.ones((4, 2), np.float32)).data != 0)


def test_traces_and_pictures_show_hooked_tensors():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    y = x * 3
    y.name = "y"
    y.register_hook(lambda g: None)
    loss = (y * y).sum()
    assert "1 gradient hook(s)" in to_dot(loss).source
    assert "y = mul (2,) [hooked]" in str(trace_backward(loss))
