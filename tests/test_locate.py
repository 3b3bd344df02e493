"""locate_gradient_errors names the op whose backward is wrong, and leaves the graph alone."""

import warnings

import numpy as np
import pytest

import minigrad.functional as F
from minigrad import Tensor
from minigrad.graph import topological_order
from minigrad.locate import NodeCheck, check_nodes, locate_gradient_errors
from minigrad.locate import locate_gradient_errors as locate_from_module
from minigrad.ops import Linear, Mul, Op, Relu


def small_net(dtype=np.float64):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)).astype(dtype), name="x")
    w = Tensor(rng.standard_normal((3, 5)).astype(dtype), requires_grad=True, name="w")
    b = Tensor(rng.standard_normal(5).astype(dtype), requires_grad=True, name="b")
    labels = Tensor(np.array([0, 4, 2, 1]))
    hidden = F.linear(x, w, b).tanh() * 2.0
    return F.softmax_cross_entropy(hidden, labels)


def scaled_backward(backward):
    def wrong(self, grad, out, *inputs):
        return [None if g is None else g * 1.5 for g in backward(self, grad, out, *inputs)]

    return wrong


def test_every_node_of_a_correct_graph_passes_and_keeps_its_identity():
    loss = small_net()
    checks = check_nodes(loss)
    nodes = topological_order(loss)
    assert [check.op for check in checks] == [tensor.op for tensor in nodes]
    assert [check.output for check in checks] == nodes
    assert [check.name for check in checks] == ["linear", "tanh", "mul", "softmax_cross_entropy"]
    assert all(isinstance(check, NodeCheck) and check.passed for check in checks)
    assert all(check.report is None for check in checks)
    assert locate_gradient_errors(loss) == []
    assert locate_from_module is locate_gradient_errors


def test_a_corrupted_op_is_named_with_the_report_fields(monkeypatch):
    monkeypatch.setattr(Mul, "backward", scaled_backward(Mul.backward))
    loss = small_net()
    failing = locate_gradient_errors(loss)
    assert [check.name for check in failing] == ["mul"]
    (check,) = failing
    assert check.op is topological_order(loss)[2].op
    report = check.report
    assert report.input_index == 0  # the tanh output; the constant 2.0 needs no gradient
    assert report.abs_error == pytest.approx(abs(report.analytic - report.numeric))
    assert report.analytic == pytest.approx(1.5 * report.numeric, rel=1e-6)
    assert report.converges is False
    assert "mul (node 2)" in str(check)


def test_the_users_graph_is_left_untouched():
    loss = small_net()
    check_nodes(loss)
    assert not any(tensor.op.released for tensor in topological_order(loss))
    loss.backward()  # still possible: the localiser ran no backward through this graph
    w = loss.op.inputs[0].op.inputs[0].op.inputs[0].op.inputs[1]
    assert w.name == "w" and w.grad is not None


def test_float32_graphs_are_checked_in_float64_without_warnings():
    loss = small_net(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(check.passed for check in check_nodes(loss))


def test_elements_on_a_kink_are_left_out_not_blamed():
    x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    loss = (x.relu().relu() * Tensor(np.array([1.0, 2.0, 3.0]))).sum()
    checks = check_nodes(loss)
    second_relu = checks[1]
    assert second_relu.name == "relu" and second_relu.passed and second_relu.ignored == 2


def test_a_kink_does_not_hide_a_wrong_rule_elsewhere(monkeypatch):
    monkeypatch.setattr(Relu, "backward", scaled_backward(Relu.backward))
    x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    (check,) = locate_gradient_errors(x.relu().sum())
    assert check.name == "relu" and check.report.input_element == (2,)


def test_ties_of_max_are_left_out():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [0.5, 0.2, 0.1]]), requires_grad=True)
    checks = check_nodes(x.max(axis=1).sum())
    assert checks[0].passed and checks[0].ignored == 2


def test_a_backward_that_raises_is_a_failing_node_with_the_error(monkeypatch):
    def broken(self, grad, out, a):
        raise RuntimeError("forgot to save the input")

    monkeypatch.setattr(Relu, "backward", broken)
    x = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    (check,) = locate_gradient_errors(x.relu().sum())
    assert not check.passed and check.report is None
    assert check.error == "RuntimeError: forgot to save the input"


def test_a_large_node_is_checked_fast_and_still_located(monkeypatch):
    rng = np.random.default_rng(1)
    x = Tensor(rng.random((64, 80)), requires_grad=True, name="x")  # 5120 elements
    w = Tensor(0.1 * rng.standard_normal((80, 10)), requires_grad=True)
    b = Tensor(np.zeros(10), requires_grad=True)
    assert locate_gradient_errors(F.linear(x, w, b).tanh().sum()) == []

    monkeypatch.setattr(Linear, "backward", scaled_backward(Linear.backward))
    (check,) = locate_gradient_errors(F.linear(x, w, b).tanh().sum())
    assert check.name == "linear"
    by_input = {report.input_index: report for report in check.failures}
    assert by_input[0].bisected and by_input[0].output_projected
    assert not by_input[1].bisected
    assert by_input[0].analytic == pytest.approx(1.5 * by_input[0].numeric, rel=1e-5)


class Scale(Op, register=False):
    """A user's op that takes a keyword argument without declaring it in `params`."""

    name = "scale"

    def forward(self, a):
        return a * self.factor

    def backward(self, grad, out, a):
        return (grad * self.factor,)


def test_a_node_is_rerun_with_the_arguments_it_was_applied_with():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    (check,) = check_nodes(Scale.apply(x, factor=3.0))
    assert check.passed and check.error is None

    class ScaleForgetsFactor(Scale, register=False):
        def backward(self, grad, out, a):
            return (grad,)

    (check,) = locate_gradient_errors(ScaleForgetsFactor.apply(x, factor=3.0))
    assert check.report.analytic == pytest.approx(1.0)
    assert check.report.numeric == pytest.approx(3.0)


@pytest.mark.parametrize("locate", [check_nodes, locate_gradient_errors])
def test_an_unknown_mode_is_refused_not_run_as_another(locate):
    with pytest.raises(ValueError, match=r"mode must be one of \('auto', 'full', 'fast'\)"):
        locate(small_net(), mode="quick")
