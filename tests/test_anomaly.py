"""detect_anomaly stops at the op that made the first NaN or Inf, forward or backward,
names it, its inputs and the line that recorded it, says why, and carries the graph."""

import numpy as np
import pytest

import minigrad.functional as F
from minigrad import AnomalyError, Op, Tensor, detect_anomaly, nn, optim, replay
from minigrad.viz import to_dot


def naive_softmax(a):
    exps = a.exp()  # the book's softmax without subtracting the max
    return exps / exps.sum()


def test_an_exp_that_overflows_is_named_with_its_input_range_and_line():
    scores = Tensor(np.array([1010.0, 1000.0, 990.0], np.float32), requires_grad=True)
    with pytest.raises(AnomalyError) as caught, np.errstate(over="ignore"), detect_anomaly():
        naive_softmax(scores)
    message = str(caught.value)
    assert "exp forward made 3 Inf in its output: exp overflowed: input max 1010" in message
    assert "subtract the max" in message and "F.softmax_cross_entropy" in message
    assert "input 0: float32(3,), min 990 max 1010" in message
    assert "test_anomaly.py" in message and "exps = a.exp()" in message
    assert caught.value.op.name == "exp"


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda x: (x - 1).log(), "log of 0"),
        (lambda x: (x - 2).log(), "log of a negative number"),
        (lambda x: x / (x - 1), "division by zero"),
    ],
    ids=["log0", "log-negative", "div0"],
)
def test_known_causes_are_explained(make, reason):
    x = Tensor(np.array([1.0, 3.0]), requires_grad=True)
    with pytest.raises(AnomalyError, match=reason), np.errstate(all="ignore"), detect_anomaly():
        make(x)


def test_a_backward_rule_that_makes_inf_is_named():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with pytest.raises(AnomalyError) as caught, np.errstate(all="ignore"), detect_anomaly():
        x.sqrt().sum().backward()
    assert "sqrt backward made 1 Inf in its gradient for input 0" in str(caught.value)
    assert "sqrt'(0) is infinite" in str(caught.value)


def test_a_learning_rate_that_blew_up_is_told_apart_from_an_op():
    model = nn.MLP([4, 8, 3], rng=0)
    opt = optim.SGD(model.parameters(), lr=1e30)
    x, t = np.ones((2, 4), np.float32), np.array([0, 1])
    with pytest.raises(AnomalyError) as caught, np.errstate(all="ignore"), detect_anomaly():
        for _ in range(20):
            opt.zero_grad()
            F.softmax_cross_entropy(model(Tensor(x)), t).backward()
            opt.step()
    message = str(caught.value)
    assert "the learning rate probably blew up" in message or "arrived in a parameter" in message
    assert "layers." in message  # names the parameter


def test_a_tensor_changed_in_place_before_backward_is_named():
    b = Tensor(np.ones(3), requires_grad=True, name="b")
    with detect_anomaly():
        out = (b * b).sum()
        b.data[...] = 10
        with pytest.raises(AnomalyError, match=r"input 0 'b' \(3,\) of 'mul' .* changed in place"):
            out.backward()


def test_check_nan_false_keeps_only_the_in_place_check():
    x = Tensor(np.array([0.0]), requires_grad=True)
    with np.errstate(all="ignore"), detect_anomaly(check_nan=False):
        y = x.log()
        y.sum().backward()
    assert np.isinf(y.data).all()


def test_it_is_also_a_decorator_and_leaves_nothing_behind():
    @detect_anomaly()
    def overflow(x):
        return x.exp()

    with pytest.raises(AnomalyError), np.errstate(over="ignore"):
        overflow(Tensor(np.array([1000.0]), requires_grad=True))
    plain = Tensor(np.array([1.0]), requires_grad=True).exp()
    assert "output" not in Op.__dict__ or Op.output.__name__ == "output"
    assert not hasattr(plain.op, "recorded_at") and not hasattr(plain.op, "fingerprints")


def test_the_error_carries_a_graph_with_the_culprit_in_red():
    scores = Tensor(np.array([1010.0, 1000.0]), requires_grad=True, name="scores")
    with pytest.raises(AnomalyError) as caught, np.errstate(over="ignore"), detect_anomaly():
        naive_softmax(scores)
    dot = to_dot(caught.value.output, checks=caught.value.checks).source
    assert "exp overflowed: input max 1010" in dot and "scores" in dot
    assert "where detect_anomaly stopped" in dot and "#dc2626" in dot


def test_replay_runs_each_step_eagerly_under_detect_anomaly():
    w = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    step = replay(lambda x: (w * x).exp().sum())
    for _ in range(3):
        step(np.array([1.0, 2.0]))
    with pytest.raises(AnomalyError, match="exp overflowed"), np.errstate(over="ignore"):
        with detect_anomaly():
            step(np.array([1000.0, 2.0]))
