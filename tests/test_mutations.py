"""Mutation proof: every registered op, with a corrupted backward, is caught three ways.

For each op and each corruption (scaled by 1.5, sign-flipped, transposed), on an input
where the corruption really changes the gradient: gradcheck fails, locate_gradient_errors
names that op, and the graph strategy finds a failing expression on its own.
"""

import numpy as np
import pytest
from hypothesis import Phase, find, settings

from minigrad import OPS, GradcheckError, Tensor, gradcheck, gradients
from minigrad.locate import locate_gradient_errors
from minigrad.testing import graphs, op_cases

ALL_OPS = sorted(OPS)


def transposed(grad):
    """grad.mT for a square matrix; elsewhere (where .mT would not fit) reversed order."""
    if grad.ndim >= 2 and grad.shape[-1] == grad.shape[-2]:
        return grad.mT
    return grad[(slice(None, None, -1),) * grad.ndim] if grad.ndim else grad


CORRUPTIONS = {
    "scaled": lambda grad: grad * 1.5,
    "sign-flipped": lambda grad: -grad,
    "transposed": transposed,
}


def mutated(backward, corruption):
    def wrong_backward(self, grad, out, *inputs):
        return [
            None if g is None else CORRUPTIONS[corruption](g)
            for g in backward(self, grad, out, *inputs)
        ]

    return wrong_backward


FIND_CASE = settings(database=None, derandomize=True, max_examples=300, phases=[Phase.generate])
FIND_GRAPH = settings(database=None, derandomize=True, max_examples=300, phases=[Phase.generate])


def leaf_gradients(case, upstream):
    inputs = [Tensor(t.data.copy(), t.requires_grad) for t in case.inputs]
    found = gradients(case.run(*inputs), [t for t in inputs if t.requires_grad], grad=upstream)
    return [np.zeros(t.shape) if g is None else g.data for t, g in zip(inputs, found)]


def changes_gradient(op, corruption, case):
    """Whether the corruption moves some gradient well past gradcheck's tolerance."""
    upstream = np.random.default_rng(0).standard_normal(case.run().shape)
    right = leaf_gradients(case, upstream)
    original = op.backward
    op.backward = mutated(original, corruption)
    try:
        wrong = leaf_gradients(case, upstream)
    finally:
        op.backward = original
    return any(np.any(np.abs(w - r) > 10 * (1e-5 + 1e-3 * np.abs(r))) for w, r in zip(wrong, right))


def weighted_loss(out):
    weights = 1.5 + np.cos(1.0 + np.arange(out.size)).reshape(out.shape)
    return (out * Tensor(weights)).sum()


def graph_fails(graph):
    return not gradcheck(graph, graph.inputs(), raise_exception=False)


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
@pytest.mark.parametrize("name", ALL_OPS)
def test_corrupted_backward_is_caught(name, corruption, monkeypatch):
    op = OPS[name]
    case = find(
        op_cases(op), lambda case: changes_gradient(op, corruption, case), settings=FIND_CASE
    )
    monkeypatch.setattr(op, "backward", mutated(op.backward, corruption))

    with pytest.raises(GradcheckError):
        gradcheck(case.run, case.inputs)

    failing = locate_gradient_errors(weighted_loss(case.run()))
    assert failing, f"{name}: locate_gradient_errors found nothing"
    assert {check.name for check in failing} == {name}

    graph = find(graphs(ops=[op]), graph_fails, settings=FIND_GRAPH)
    assert name in {check.name for check in locate_gradient_errors(graph(*graph.inputs()))}


# ----- mutants that corrupt only the edges of an op's parameter space ----------------------
# Each is a plausible bug that is right on ordinary inputs and wrong only where the
# strategies must now reach: negative axes, empty arrays, pow at base 0.
class TransposeIgnoringNegativeAxes(OPS["transpose"], register=False):
    def forward(self, a):
        return a.transpose(self.axes)  # backward then inverts the axes as given


class ConcatenateIgnoringNegativeAxes(OPS["concatenate"], register=False):
    def backward(self, grad, out, *inputs):
        grads, start = [], 0
        for part in inputs:  # slices along `self.axis` as given: wrong for -1
            stop = start + part.shape[self.axis]
            grads.append(grad[(slice(None),) * max(self.axis, 0) + (slice(start, stop),)])
            start = stop
        return grads


class SumIgnoringNegativeAxes(OPS["sum"], register=False):
    def backward(self, grad, out, a):
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        if self.axis is not None and not self.keepdims:
            grad = grad.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))
        return (np.broadcast_to(grad, a.shape),)


class LinearInferringRows(OPS["linear"], register=False):
    def backward(self, grad, out, x, weight, bias):
        grad_x = grad @ weight.T
        rows, grad_rows = x.reshape(-1, weight.shape[0]), grad.reshape(-1, weight.shape[1])
        return grad_x, rows.T @ grad_rows, grad


class FlattenInferringLength(OPS["flatten"], register=False):
    def forward(self, a):
        return a.reshape(a.shape[: self.start_axis] + (-1,))


class PowWithoutTheLimitAtZero(OPS["pow"], register=False):
    def backward(self, grad, out, base, exponent):
        return grad * exponent * base ** (exponent - 1), grad * out * OPS["log"].call(base)


REGION_MUTANTS = [
    TransposeIgnoringNegativeAxes,
    ConcatenateIgnoringNegativeAxes,
    SumIgnoringNegativeAxes,
    LinearInferringRows,
    FlattenInferringLength,
    PowWithoutTheLimitAtZero,
]


def wrong_somewhere(mutant, case):
    """Whether the mutant's gradient fails gradcheck on this case, or the mutant fails."""
    with np.errstate(all="ignore"):
        try:
            return not gradcheck(
                lambda *xs: mutant.apply(*xs, **case.params), case.inputs, raise_exception=False
            )
        except (ValueError, IndexError, TypeError):  # OpError, or a crash of the mutant
            return True


@pytest.mark.parametrize("mutant", REGION_MUTANTS, ids=lambda m: m.__name__)
def test_mutant_wrong_only_at_the_edges_is_caught(mutant):
    op = OPS[mutant.name]
    case = find(op_cases(op), lambda case: wrong_somewhere(mutant, case), settings=FIND_CASE)
    assert wrong_somewhere(mutant, case) and not wrong_somewhere(op, case)
