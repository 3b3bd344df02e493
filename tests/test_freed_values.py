"""Values the graph frees: an output whose maker's backward does not read it (conv2d,
linear), feeding an op whose backward reads only its own output (relu), is held weakly and
freed once nothing else holds it, as PyTorch frees what no backward saves.

Every op's declaration is checked against its own backward; then what users see: the
gradients are the same as with every value kept, a value they hold stays, hooks still run,
pictures say what was freed, `check_nodes` recomputes it, and a wrong declaration fails
with a message that says what to change.
"""

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad.functional as F
from minigrad import OPS, Op, OpError, Tensor, check_nodes, gradcheck, gradients, keep_values, nn
from minigrad.ops.base import FREED_FROM_BYTES
from minigrad.tensor import FreedValue
from minigrad.testing import op_cases

READS_NO_INPUTS = sorted(name for name, op in OPS.items() if not op.reads_inputs)
READS_NO_OUTPUT = sorted(name for name, op in OPS.items() if not op.reads_output)


def freed_like(tensor):
    """A stand-in for `tensor` whose value is gone, as the graph makes one."""
    stand_in = Tensor.wrap(FreedValue.like(tensor.shape, tensor.dtype), tensor.requires_grad)
    stand_in.op = tensor.op
    return stand_in


def backward_both_ways(out, grad, free_inputs, free_output):
    """The op's backward on arrays and on Tensors (create_graph), with every value, then
    with the declared ones freed."""
    op = out.op
    inputs = op.inputs
    results = []
    for free in (False, True):
        if free and free_inputs:
            op.held = tuple(freed_like(t) for t in inputs)
        given_out = freed_like(out) if free and free_output else out
        given_inputs = op.inputs
        arrays = op.backward(grad, given_out.data, *[t.data for t in given_inputs])
        recorded = op.backward(Tensor(grad), given_out, *given_inputs)
        results.append([None if g is None else np.asarray(g) for g in arrays])
        results.append([None if g is None else g.data for g in recorded])
        op.held = tuple(inputs)
    return results


@pytest.mark.parametrize("name", READS_NO_INPUTS + READS_NO_OUTPUT)
@settings(max_examples=25)
@given(data=st.data())
def test_a_backward_declared_not_to_read_a_value_gives_the_same_gradient_without_it(name, data):
    op = OPS[name]
    case = data.draw(op_cases(op), label="case")
    out = case.run()
    grad = np.random.default_rng(0).normal(size=out.shape)
    kept_arrays, kept_recorded, freed_arrays, freed_recorded = backward_both_ways(
        out, grad, free_inputs=not op.reads_inputs, free_output=not op.reads_output
    )
    for kept, freed in ((kept_arrays, freed_arrays), (kept_recorded, freed_recorded)):
        assert len(kept) == len(freed)
        for a, b in zip(kept, freed):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)


def test_the_declarations_cover_the_ops_that_free_the_conv_nets_activations():
    assert {"relu", "sigmoid", "tanh"} <= set(READS_NO_INPUTS)
    assert {"conv2d", "linear", "matmul", "add"} <= set(READS_NO_OUTPUT)


ROWS, COLUMNS = 64, 300  # the linear's output: 76.8 KB, above FREED_FROM_BYTES


def two_layers(seed=0, rows=ROWS):
    rng = np.random.default_rng(seed)
    x = Tensor(rng.normal(size=(rows, 3)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.normal(size=(3, COLUMNS)).astype(np.float32), requires_grad=True)
    b = Tensor(rng.normal(size=COLUMNS).astype(np.float32), requires_grad=True)
    return x, w, b


def test_values_below_the_threshold_stay_so_small_graphs_show_them_all():
    assert ROWS * COLUMNS * 4 >= FREED_FROM_BYTES > 2 * COLUMNS * 4
    x, w, b = two_layers(rows=2)
    loss = F.linear(x, w, b).relu().sum()
    assert not loss.op.inputs[0].op.inputs[0].is_freed


def test_the_value_before_a_relu_is_freed_and_the_gradients_do_not_change():
    x, w, b = two_layers()
    with keep_values():
        F.linear(x, w, b).relu().sum().backward()
    expected = [t.grad.data.copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    before = F.linear(x, w, b)
    value = weakref.ref(before.data)
    loss = before.relu().sum()
    del before
    gc.collect()
    assert value() is None, "the linear's output is still held"
    freed = loss.op.inputs[0].op.inputs[0]
    assert freed.is_freed and freed.op.name == "linear" and freed.shape == (ROWS, COLUMNS)
    loss.backward()
    for t, grad in zip((x, w, b), expected):
        np.testing.assert_array_equal(t.grad.data, grad)


def test_a_value_someone_holds_is_kept_and_keeps_its_gradient():
    x, w, b = two_layers()
    before = F.linear(x, w, b)
    before.retain_grad()
    loss = before.relu().sum()
    assert loss.op.inputs[0].op.inputs[0] is before
    loss.backward()
    np.testing.assert_array_equal(before.grad.data, (before.data > 0).astype(np.float32))


def test_inside_keep_values_every_value_stays():
    x, w, b = two_layers()
    with keep_values():
        before = F.linear(x, w, b)
        value = weakref.ref(before.data)
        loss = before.relu().sum()
    del before
    gc.collect()
    assert value() is not None
    assert not loss.op.inputs[0].op.inputs[0].is_freed


def test_an_op_that_reads_its_output_keeps_it_for_the_next_relu():
    x, w, b = two_layers()
    inner = F.linear(x, w, b).relu()  # relu's backward reads this output: it must stay
    value = weakref.ref(inner.data)
    loss = inner.relu().sum()
    del inner
    gc.collect()
    assert value() is not None
    loss.backward()
    expected = gradients(F.linear(x, w, b).relu().sum(), [x])[0]
    np.testing.assert_array_equal(x.grad.data, expected.data)


def test_a_hook_on_a_dropped_value_still_runs():
    x, w, b = two_layers()
    seen = []
    before = F.linear(x, w, b)
    before.register_hook(lambda grad: seen.append(grad.shape))
    loss = before.relu().sum()
    del before
    gc.collect()
    assert loss.op.inputs[0].is_freed is False  # relu's output; its input is the freed one
    assert loss.op.inputs[0].op.inputs[0].is_freed
    loss.backward()
    assert seen == [(ROWS, COLUMNS)]


def test_second_order_gradients_flow_through_a_freed_value():
    rng = np.random.default_rng(1)
    w = Tensor(rng.normal(size=(3, 2)) / 3, requires_grad=True)
    freed = []

    def f(x):
        out = F.linear(x, w, Tensor(np.zeros(2))).tanh()
        if out.op is not None:  # recorded (not a finite-difference evaluation)
            freed.append(out.op.inputs[0].is_freed)
        return out.sum()

    x = Tensor(rng.normal(size=(4096, 3)), requires_grad=True)  # 64 KB of float64 outputs
    assert gradcheck(f, [x], order=2, mode="fast") is True
    assert freed and all(freed)


def test_a_conv_nets_pre_relu_maps_are_freed_after_forward():
    rng = np.random.default_rng(2)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU(), nn.Flatten()
    )
    images = Tensor(rng.normal(size=(64, 1, 12, 12)).astype(np.float32))  # 147 KB maps
    kept = []
    current = images
    for layer in model:  # what Sequential does, watching each conv's output
        if isinstance(layer, nn.Conv2d):
            out = layer(current)
            kept.append(weakref.ref(out.data))
            current = out
        else:
            current = layer(current)
    del out
    loss = current.sum()
    del current
    gc.collect()
    assert [ref() is None for ref in kept] == [True, True]
    loss.backward()
    for parameter in model.parameters():
        assert parameter.grad is not None and np.isfinite(parameter.grad.data).all()


def test_pictures_say_which_values_were_freed():
    viz = pytest.importorskip("minigrad.viz")
    x, w, b = two_layers()
    loss = F.linear(x, w, b).relu().sum()
    for show_values in (False, True):
        source = viz.to_dot(loss, show_values=show_values).source
        assert source.count("value freed after forward") == 1
        assert source.count("data min") == (4 if show_values else 0)  # x, w, b, relu(...)
    with keep_values():
        kept = F.linear(x, w, b).relu().sum()
    assert "value freed" not in viz.to_dot(kept).source


def test_check_nodes_computes_freed_values_again():
    x, w, b = two_layers()
    loss = F.linear(x, w, b).relu().sum()
    freed = loss.op.inputs[0].op.inputs[0]
    assert freed.is_freed
    checks = check_nodes(loss)
    assert [check.op.name for check in checks] == ["linear", "relu", "sum"]
    assert all(check.passed for check in checks)
    np.testing.assert_allclose(freed.data, x.data @ w.data + b.data, rtol=1e-6)


def test_a_backward_that_reads_an_input_it_declared_unread_says_what_to_change():
    class SquareAll(Op):  # unregistered: no name
        reads_inputs = False

        def forward(self, a):
            return a * a

        def backward(self, grad, out, a):
            return (grad * 2 * a,)  # reads a: the declaration is wrong

    x, w, b = two_layers()
    loss = SquareAll.apply(F.linear(x, w, b)).sum()
    with pytest.raises(OpError, match="SquareAll: backward failed.*freed.*reads_inputs = True"):
        loss.backward()


def test_a_freed_value_says_so_when_printed_or_used():
    x, w, b = two_layers()
    freed = F.linear(x, w, b).relu().op.inputs[0]
    assert f"freed float32({ROWS}, {COLUMNS})" in repr(freed)
    with pytest.raises(TypeError, match="freed after forward"):
        freed.data + 1
