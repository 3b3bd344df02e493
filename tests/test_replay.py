"""minigrad.replay: a replayed step gives the eager step's loss and gradients, bit for bit,
and a step whose graph changes between calls keeps running eagerly, with a warning."""

import copy
import warnings

import numpy as np
import pytest

from minigrad import OpError, Tensor, nn, no_grad, optim, replay
from minigrad import functional as F

RNG = np.random.default_rng(0)
IMAGES = RNG.random((40, 6), dtype=np.float32)
LABELS = RNG.integers(0, 3, 40)
ONE_HOT = np.eye(3, dtype=np.float32)[LABELS]


def twins(model):
    """The model and an exact copy, each with its own SGD."""
    other = copy.deepcopy(model)
    return (model, optim.SGD(model.parameters(), lr=0.5)), (
        other,
        optim.SGD(other.parameters(), lr=0.5),
    )


def train_side_by_side(model, loss_of, targets, batches):
    """Train one copy eagerly and one through replay; return both sides' losses and the
    parameters' gradients after every step."""
    (eager, eager_opt), (replayed, replayed_opt) = twins(model)
    step = replay(lambda x, t: loss_of(replayed, x, t))
    history = []
    for rows in batches:
        eager_opt.zero_grad()
        loss = loss_of(eager, Tensor(IMAGES[rows]), targets[rows])
        loss.backward()
        replayed_opt.zero_grad()
        replayed_loss = step(IMAGES[rows], targets[rows])
        history.append(
            (
                loss.item(),
                replayed_loss.item(),
                [p.grad.data.copy() for p in eager.parameters()],
                [p.grad.data.copy() for p in replayed.parameters()],
            )
        )
        eager_opt.step()
        replayed_opt.step()
    return history


def cross_entropy_loss(model, x, t):
    return F.softmax_cross_entropy(model(x), t)


def quadratic_loss(model, x, t):
    return F.mean_squared_error(model(x), t, reduction="mean")


def assert_same_history(history):
    for eager_loss, replayed_loss, eager_grads, replayed_grads in history:
        assert replayed_loss == eager_loss
        for eager_grad, replayed_grad in zip(eager_grads, replayed_grads, strict=True):
            np.testing.assert_array_equal(replayed_grad, eager_grad)


def test_replayed_relu_mlp_matches_eager_bit_for_bit():
    batches = np.arange(40).reshape(8, 5)
    history = train_side_by_side(nn.MLP([6, 5, 3], rng=1), cross_entropy_loss, LABELS, batches)
    assert_same_history(history)


def test_replayed_nielsen_network_matches_eager_bit_for_bit():
    model = nn.MLP([6, 5, 4, 3], activation="sigmoid", output_activation="sigmoid", rng=2)
    history = train_side_by_side(model, quadratic_loss, ONE_HOT, np.arange(40).reshape(10, 4))
    assert_same_history(history)


def test_new_batch_shape_is_traced_and_replayed_too():
    batches = [np.arange(0, 8), np.arange(8, 16), np.arange(16, 19), np.arange(19, 27)]
    batches += [np.arange(27, 30), np.arange(30, 33), np.arange(33, 40)]
    history = train_side_by_side(nn.MLP([6, 4, 3], rng=3), cross_entropy_loss, LABELS, batches)
    assert_same_history(history)


def test_shared_tensors_and_parameters_add_up_as_in_eager():
    w = Tensor(RNG.standard_normal((3, 3)).astype(np.float32), requires_grad=True)

    def loss(x):
        h = (x @ w).tanh()
        return (h * h + h @ w).sum() + (w * w).sum()

    x = RNG.standard_normal((4, 3)).astype(np.float32)
    eager_grads = []
    for _ in range(2):
        w.grad = None
        loss(Tensor(x)).backward()
        eager_grads.append(w.grad.data.copy())
    step = replay(loss)
    for call in range(4):
        w.grad = None
        step(x)
        np.testing.assert_array_equal(w.grad.data, eager_grads[0], err_msg=f"call {call}")


def test_gradients_accumulate_across_calls_like_backward():
    w = Tensor(np.ones(3, np.float32), requires_grad=True)
    step = replay(lambda x: (x * w).sum())
    for _ in range(4):
        step(np.array([1.0, 2.0, 3.0], np.float32))
    np.testing.assert_array_equal(w.grad.data, [4.0, 8.0, 12.0])


def test_replay_follows_parameter_updates_and_new_arguments():
    w = Tensor(np.array([2.0], np.float32), requires_grad=True)
    step = replay(lambda x: (x * w * w).sum())
    for call, value in enumerate([1.0, 2.0, 3.0, 4.0, 5.0]):
        w.data[...] = value
        w.grad = None
        loss = step(np.array([10.0 * call], np.float32))
        assert loss.item() == 10.0 * call * value * value
        assert w.grad.item() == 2 * 10.0 * call * value


def test_dropout_step_warns_and_stays_eager():
    def fresh():
        return nn.MLP([6, 5, 3], dropout=0.5, rng=4)

    eager, replayed = fresh(), fresh()
    step = replay(lambda x, t: cross_entropy_loss(replayed, x, t))
    rows = np.arange(5)
    with pytest.warns(UserWarning, match=r"replay: input 1 of 'mul' \(op \d+\) changed"):
        for _ in range(2):
            step(IMAGES[rows], LABELS[rows])
            cross_entropy_loss(eager, Tensor(IMAGES[rows]), LABELS[rows])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            loss = step(IMAGES[rows], LABELS[rows])
            assert (
                loss.item() == cross_entropy_loss(eager, Tensor(IMAGES[rows]), LABELS[rows]).item()
            )


def test_constant_computed_outside_the_ops_is_caught():
    w = Tensor(np.ones(2, np.float32), requires_grad=True)
    step = replay(lambda x: (w * Tensor(x.data * 2)).sum())  # .data leaves the graph
    step(np.array([1.0, 2.0], np.float32))
    with pytest.warns(UserWarning, match=r"input 1 of 'mul' \(op 0\) changed"):
        step(np.array([3.0, 4.0], np.float32))
    w.grad = None
    assert step(np.array([5.0, 6.0], np.float32)).item() == 22.0
    np.testing.assert_array_equal(w.grad.data, [10.0, 12.0])


def test_step_that_builds_another_graph_is_caught():
    w = Tensor(np.ones(2, np.float32), requires_grad=True)
    calls = []

    def loss(x):
        calls.append(1)
        return (w * x).sum() if len(calls) == 1 else (w * x).exp().sum()

    step = replay(loss)
    step(np.ones(2, np.float32))
    with pytest.warns(UserWarning, match="the graph had 2 ops, then 3"):
        step(np.ones(2, np.float32))


def test_replayed_step_still_refuses_bad_labels():
    model = nn.MLP([6, 4, 3], rng=5)
    step = replay(lambda x, t: cross_entropy_loss(model, x, t))
    for _ in range(3):
        step(IMAGES[:4], LABELS[:4])
    with pytest.raises(OpError, match=r"softmax_cross_entropy: labels must lie in 0..2"):
        step(IMAGES[:4], np.array([0, 1, -1, 2]))


def test_step_must_return_a_scalar_loss():
    w = Tensor(np.ones(2, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="replay: the step must return a scalar Tensor"):
        replay(lambda x: w * x)(np.ones(2, np.float32))


def test_under_no_grad_the_step_only_computes_the_loss():
    w = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    step = replay(lambda x: (w * x).sum())
    for _ in range(3):
        step(np.ones(2, np.float32))
    w.grad = None
    with no_grad():
        loss = step(np.array([3.0, 4.0], np.float32))
    assert loss.item() == 11.0 and w.grad is None


def test_an_op_taking_another_number_of_inputs_is_a_difference():
    w = Tensor(np.ones(2, np.float32), requires_grad=True)
    parts = [[w, w], [w, w, w]]
    step = replay(lambda x: (F.concatenate(parts.pop(0)) * x).sum())
    step(np.ones(1, np.float32))
    with pytest.warns(UserWarning, match=r"'concatenate' \(op 0\) took 2 inputs, then 3"):
        step(np.ones(1, np.float32))


def test_a_gradient_changed_in_place_does_not_leak_into_the_next_step():
    w = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    b = Tensor(np.array(0.5, np.float32), requires_grad=True)
    step = replay(lambda x: (w * x).sum() + b)
    for _ in range(4):
        w.grad = b.grad = None
        step(np.array([3.0, 4.0], np.float32))
        np.testing.assert_array_equal(w.grad.data, [3.0, 4.0])
        assert b.grad.item() == 1.0
        b.grad.data *= 0


def test_integer_labels_given_as_a_list_stay_integers():
    model = nn.MLP([6, 4, 3], rng=6)
    step = replay(lambda x, t: cross_entropy_loss(model, x, t))
    eager = cross_entropy_loss(model, Tensor(IMAGES[:3]), [0, 2, 1]).item()
    for _ in range(3):
        assert step(IMAGES[:3], [0, 2, 1]).item() == eager


def test_a_leaf_is_not_a_loss_to_replay():
    w = Tensor(np.array(1.0, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="computed by ops"):
        replay(lambda x: w)(np.ones(1, np.float32))


def test_labels_read_outside_the_ops_are_never_frozen():
    """The book's cross_entropy indexes with the labels: replaying would bake them in."""
    model = nn.MLP([4, 3], rng=0)
    step = replay(lambda x, t: F.cross_entropy(model(x).softmax(axis=1), t))
    x = np.ones((2, 4), np.float32)
    step(x, np.array([0, 1]))
    with pytest.warns(UserWarning, match="argument 1 reaches no op as an input"):
        step(x, np.array([0, 1]))
    eager = F.cross_entropy(model(Tensor(x)).softmax(axis=1), np.array([2, 2])).item()
    assert step(x, np.array([2, 2])).item() == eager
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        step(x, np.array([-1, 0]))
