"""minigrad.testing: the strategies draw what they promise, random graphs over every op
pass gradcheck, a failing graph shrinks to runnable code, and check_op catches each kind
of broken custom op."""

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from test_gradcheck import Cube  # a correct custom op

from minigrad import OPS, GradcheckError, Tensor, gradcheck
from minigrad.ops import Op, Tanh
from minigrad.testing import (
    KINK_MARGIN,
    OpCheckError,
    broadcastable_shapes,
    check_op,
    graphs,
    op_cases,
    tensors,
)

ALL_OPS = sorted(OPS)
# Budgets, not costs: each search stops at its first hit. With some 60 ops a graph step is
# any one op (a transpose of a step's value, a tanh) rarely, and 300 derandomized examples
# missed some.
FIND = settings(database=None, derandomize=True, max_examples=1000, phases=[Phase.generate])
SHRINK = settings(database=None, derandomize=True, max_examples=1000)


@given(tensors(shape=(2, 3), dtype=np.float32, elements=st.floats(0, 1, width=32)))
def test_tensors_have_the_shape_dtype_and_elements_asked_for(x):
    assert x.shape == (2, 3) and x.dtype == np.float32 and x.requires_grad
    assert np.all((0 <= x.data) & (x.data <= 1))


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


@pytest.mark.parametrize("name", ALL_OPS)
@settings(max_examples=10)
@given(data=st.data())
def test_op_inputs_respect_the_domain_and_keep_off_kinks(name, data):
    op = OPS[name]
    case = data.draw(op_cases(op))
    kinks = op(**case.params).kinks()
    for position, tensor in enumerate(case.inputs):
        if tensor.dtype.kind != "f" or not tensor.requires_grad:
            continue
        low, high = op.domain[position] if isinstance(op.domain[0], tuple) else op.domain
        inside = (low - 1e-9 <= tensor.data) & (tensor.data <= high + 1e-9)
        assert np.all(inside | np.isin(tensor.data, op.edges))
        for kink in kinks:
            assert np.all(np.abs(tensor.data - kink) >= KINK_MARGIN - 1e-9)


# ----- random graphs ---------------------------------------------------------------------------
@settings(max_examples=60)
@given(graphs())
def test_random_graphs_over_all_registered_ops_match_central_differences(graph):
    out = graph(*graph.inputs())
    assert out.shape == () and out.requires_grad
    assert gradcheck(graph, graph.inputs()) is True


@pytest.mark.parametrize("name", ALL_OPS)
def test_graphs_draw_every_registered_op(name):
    graph = find(graphs(ops=[name]), lambda g: name in g.ops, settings=FIND)
    assert gradcheck(graph, graph.inputs()) is True


def shares_a_value(graph):
    uses = [arg for step in graph.steps for arg in step.args]
    return any(uses.count(name) > 1 for name in set(uses))


def broadcasts(graph):
    """Whether some binary op meets two operands of different shapes."""
    values = {leaf.name: leaf.data for leaf in graph.leaves}
    for step in graph.steps:
        args = [values[a] for a in step.args]
        if step.op.broadcasts and args[0].shape != args[1].shape:
            return True
        values[step.name] = step.op.apply(*(Tensor(a) for a in args), **step.params).data
    return False


@pytest.mark.parametrize(
    "feature",
    [
        shares_a_value,
        broadcasts,
        lambda g: any(s.params.get("keepdims") for s in g.steps),
        lambda g: any(s.op.name == "reshape" and s.args[0].startswith("v") for s in g.steps),
        lambda g: any(s.op.name == "transpose" and s.args[0].startswith("v") for s in g.steps),
        lambda g: any(s.op.name == "getitem" and s.args[0].startswith("v") for s in g.steps),
        lambda g: len(g.steps) >= 5 and len(g.outputs) >= 2,
    ],
    ids=[
        "shared",
        "broadcasting",
        "keepdims",
        "reshape",
        "transpose",
        "indexing",
        "several-outputs",
    ],
)
def test_graphs_have_the_structure_promised(feature):
    graph = find(graphs(max_nodes=8), feature, settings=FIND)
    assert gradcheck(graph, graph.inputs()) is True


@settings(max_examples=20)
@given(graphs())
def test_graph_code_rebuilds_the_same_graph(graph):
    namespace = {}
    exec(graph.code.replace("gradcheck(f, [", "value = f(").replace("])", ")"), namespace)
    np.testing.assert_array_equal(namespace["value"].data, graph(*graph.inputs()).data)


def scaled_tanh(monkeypatch):
    original = Tanh.backward

    def wrong(self, grad, out, a):
        return [g * 1.5 for g in original(self, grad, out, a)]

    monkeypatch.setattr(Tanh, "backward", wrong)


def test_a_failing_graph_shrinks_to_a_minimal_runnable_program(monkeypatch):
    scaled_tanh(monkeypatch)
    graph = find(
        graphs(), lambda g: not gradcheck(g, g.inputs(), raise_exception=False), settings=SHRINK
    )
    assert graph.ops == ["tanh"] and len(graph.leaves) == 1
    assert "v0 = x0.tanh()" in graph.code
    with pytest.raises(GradcheckError, match="gradient of f is wrong"):
        exec(graph.code, {})


def test_hypothesis_prints_the_failing_graph_as_code(monkeypatch):
    scaled_tanh(monkeypatch)

    @settings(database=None, derandomize=True, max_examples=50)
    @given(graphs(ops=["tanh", "add", "sum"]))
    def engine_gradients(graph):
        assert gradcheck(graph, graph.inputs())

    with pytest.raises(GradcheckError) as caught:
        engine_gradients()
    printed = "\n".join(getattr(caught.value, "__notes__", []))
    assert "def f(x0):" in printed and ".tanh()" in printed and "gradcheck(f, [x0])" in printed


def test_graphs_refuse_an_op_they_cannot_draw():
    class Odd(Op, register=False):
        name = "odd"
        arity = None

    with pytest.raises(ValueError, match="graphs: op 'odd' takes any number of inputs"):
        find(graphs(ops=[Odd]), lambda g: True, settings=FIND)


# ----- check_op -------------------------------------------------------------------------------
class SquaredDifference(Op, register=False):
    """(a - b)^2 with broadcasting: the engine sums each gradient back to its input."""

    name = "squared_difference"
    arity = 2
    broadcasts = True

    def forward(self, a, b):
        return (a - b) ** 2

    def backward(self, grad, out, a, b):
        grad_a = grad * 2 * (a - b)
        return grad_a, -grad_a


def test_check_op_passes_correct_custom_ops():
    assert check_op(Cube) is True
    assert check_op(SquaredDifference, max_examples=10) is True


def test_check_op_passes_every_built_in_op():
    for name in ALL_OPS:
        assert check_op(name, max_examples=3) is True


def test_check_op_catches_a_wrong_gradient():
    class Wrong(Cube, register=False):
        def backward(self, grad, out, a):
            return (grad * 3 * a,)

    with pytest.raises(GradcheckError, match="gradient of cube is wrong"):
        check_op(Wrong)


def test_check_op_catches_a_wrong_second_derivative():
    class FrozenSlope(Cube, register=False):
        def backward(self, grad, out, a):
            return (grad * (3 * self.inputs[0].data ** 2),)  # .data: a constant slope

    assert check_op(FrozenSlope, order=1) is True
    with pytest.raises(GradcheckError) as caught:
        check_op(FrozenSlope)
    assert caught.value.report.order == 2


def test_check_op_catches_a_gradient_of_the_wrong_shape():
    class SummedTooFar(SquaredDifference, register=False):
        def backward(self, grad, out, a, b):
            grad_a, grad_b = super().backward(grad, out, a, b)
            return grad_a, grad_b.sum()  # "unbroadcasting" by hand, wrongly

    with pytest.raises(OpCheckError, match=r"gradient of shape \(\) for input 1 of shape"):
        check_op(SummedTooFar)


def test_check_op_catches_a_missing_gradient():
    class ForgetsB(SquaredDifference, register=False):
        def backward(self, grad, out, a, b):
            grad_a, _ = super().backward(grad, out, a, b)
            return grad_a, None

    with pytest.raises(OpCheckError, match="returned None for input 1"):
        check_op(ForgetsB)


def test_check_op_catches_float32_turned_into_float64():
    class Promotes(Cube, register=False):
        def forward(self, a):
            return a.astype(np.float64) ** 3

    with pytest.raises(OpCheckError, match="float32 inputs .* gave a float64 output"):
        check_op(Promotes)


def test_check_op_catches_recording_under_no_grad():
    class AlwaysRecords(Cube, register=False):
        @classmethod
        def apply(cls, *inputs, **params):
            out = Tensor(cls(**params).forward(*(t.data for t in inputs)), requires_grad=True)
            op = cls(**params)
            op.inputs = inputs
            out.op = op
            return out

    with pytest.raises(OpCheckError, match="under no_grad"):
        check_op(AlwaysRecords, order=1)
