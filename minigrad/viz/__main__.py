"""Draw the example graphs: `python -m minigrad.viz [--out DIR] [--format svg|png|pdf]`.

- mlp_graph / mlp_graph_expanded: one training step of a 784-50-10 MLP (the book's
  TwoLayerNet shape) on a random batch, collapsed to one box per layer, and in full;
- tanh_second_derivative: the graph `backward(create_graph=True)` builds for d²/dx² tanh(x);
- neuron_backward: micrograd's neuron with its values, gradients and numbered backward steps;
- softmax_overflow: a softmax without the max-subtraction trick, its NaN and Inf badged;
- planted_bug: a net whose tanh has a wrong backward; the gradient check paints it red.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from minigrad import functional as F
from minigrad.anomaly import AnomalyError, detect_anomaly
from minigrad.autograd import gradients
from minigrad.grad_mode import module_scope
from minigrad.locate import check_nodes
from minigrad.ops import Tanh
from minigrad.tensor import Tensor
from minigrad.viz.graph import FORMATS, GraphvizNotFoundError, draw
from minigrad.viz.trace import BackwardTrace, trace_backward


def mlp_training_step(batch: int = 100, hidden: int = 50, seed: int = 0) -> Tensor:
    """The loss of a 784-hidden-10 MLP on random images, after backward."""
    rng = np.random.default_rng(seed)
    images = Tensor(rng.random((batch, 784), dtype=np.float32), name="images")
    labels = Tensor(rng.integers(0, 10, batch), name="labels")

    def parameter(name: str, *shape: int) -> Tensor:
        values = 0.01 * rng.standard_normal(shape) if len(shape) == 2 else np.zeros(shape)
        return Tensor(values.astype(np.float32), requires_grad=True, name=name)

    fc1 = parameter("fc1.weight", 784, hidden), parameter("fc1.bias", hidden)
    fc2 = parameter("fc2.weight", hidden, 10), parameter("fc2.bias", 10)
    with module_scope("fc1"):
        hidden_out = F.linear(images, *fc1)
    activations = F.relu(hidden_out)
    with module_scope("fc2"):
        logits = F.linear(activations, *fc2)
    loss = F.softmax_cross_entropy(logits, labels)
    loss.name = "loss"
    loss.backward()
    return loss


def tanh_second_derivative(at: float = 0.5) -> Tensor:
    """d²/dx² tanh(x) as a tensor whose graph is the backward pass of the backward pass."""
    x = Tensor(at, requires_grad=True, name="x", dtype=np.float64)
    y = x.tanh()
    (first,) = gradients(y, [x], create_graph=True)
    (second,) = gradients(first, [x], create_graph=True)
    second.name = "d²tanh/dx²"
    return second


def neuron() -> tuple[Tensor, tuple[Tensor, ...]]:
    """micrograd's two-input neuron, o = tanh(x1*w1 + x2*w2 + b), and its leaves."""
    x1, x2 = Tensor(2.0, name="x1"), Tensor(0.0, name="x2")
    w1 = Tensor(-3.0, requires_grad=True, name="w1")
    w2 = Tensor(1.0, requires_grad=True, name="w2")
    b = Tensor(6.8813735870195432, requires_grad=True, name="b")
    n = x1 * w1 + x2 * w2 + b
    n.name = "n"
    o = n.tanh()
    o.name = "o"
    return o, (x1, x2, w1, w2, b)


def neuron_trace() -> tuple[Tensor, BackwardTrace]:
    """The neuron traced through backward, step by step."""
    o, _ = neuron()
    return o, trace_backward(o)


def naive_softmax_overflow() -> Tensor:
    """The book's softmax without subtracting the max, on large scores: exp overflows to inf,
    inf / inf is NaN, and the badges show where it starts."""
    scores = Tensor([1010.0, 1000.0, 990.0], requires_grad=True, name="scores")
    with np.errstate(over="ignore", invalid="ignore"):
        exps = scores.exp()
        probs = exps / exps.sum()
        probs.name = "probs"
        loss = -probs[0].log()
        loss.name = "loss"
        loss.backward()
    return loss


def caught_anomaly() -> AnomalyError:
    """The same softmax under detect_anomaly: it stops at the exp that overflowed and says
    why, with the graph up to it."""
    scores = Tensor([1010.0, 1000.0, 990.0], requires_grad=True, name="scores")
    try:
        with np.errstate(over="ignore"), detect_anomaly():
            exps = scores.exp()
            (exps / exps.sum()).sum()
    except AnomalyError as error:
        return error
    raise AssertionError("detect_anomaly let an overflowing exp through")


class WrongTanh(Tanh, register=False):
    """tanh with a planted bug: its backward is 1.5 times too large."""

    def backward(self, grad, out, a):
        return (grad * (1 - out * out) * 1.5,)


def planted_bug() -> tuple[Tensor, list]:
    """A two-layer net whose activation has a wrong backward, and every node's check."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.random((4, 3)), name="x")
    fc1 = (
        Tensor(rng.standard_normal((3, 5)), True, "fc1.weight"),
        Tensor(np.zeros(5), True, "fc1.bias"),
    )
    fc2 = (
        Tensor(rng.standard_normal((5, 2)), True, "fc2.weight"),
        Tensor(np.zeros(2), True, "fc2.bias"),
    )
    with module_scope("fc1"):
        hidden = WrongTanh.apply(F.linear(x, *fc1))
    with module_scope("fc2"):
        y = F.linear(hidden, *fc2)
    loss = (y * y).mean()
    loss.name = "loss"
    return loss, check_nodes(loss)


def draw_examples(out: Path, fmt: str = "svg") -> list[str]:
    loss = mlp_training_step()
    o, trace = neuron_trace()
    bug, checks = planted_bug()
    anomaly = caught_anomaly()
    step = "one training step of a 784-50-10 MLP on 100 random digits"
    return [
        draw(loss, path=out / f"mlp_graph.{fmt}", collapse=True, title=f"{step}, a box per layer"),
        draw(
            loss,
            path=out / f"mlp_graph_expanded.{fmt}",
            show_values=True,
            title=f"{step}, every op, with values",
        ),
        draw(
            tanh_second_derivative(),
            path=out / f"tanh_second_derivative.{fmt}",
            show_values=True,
            title="d²/dx² tanh(x) at x = 0.5: the graph that backward(create_graph=True) records",
        ),
        draw(
            o,
            path=out / f"neuron_backward.{fmt}",
            show_values=True,
            trace=trace,
            title="micrograd's neuron o = tanh(x1*w1 + x2*w2 + b), traced through backward",
        ),
        draw(
            naive_softmax_overflow(),
            path=out / f"softmax_overflow.{fmt}",
            show_values=True,
            title="the book's softmax without subtracting the max, on scores near 1000",
        ),
        draw(
            bug,
            path=out / f"planted_bug.{fmt}",
            checks=checks,
            title="a tanh whose backward is 1.5 times too large, found by check_nodes",
        ),
        draw(
            anomaly.output,
            path=out / f"anomaly.{fmt}",
            checks=anomaly.checks,
            show_values=True,
            title="the same softmax under detect_anomaly: where it stopped, and why",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m minigrad.viz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for the pictures")
    parser.add_argument("--format", choices=FORMATS, default="svg")
    args = parser.parse_args(argv)
    try:
        paths = draw_examples(args.out, args.format)
    except GraphvizNotFoundError as error:
        raise SystemExit(f"python -m minigrad.viz: {error}") from error
    for path in paths:
        print(path)


if __name__ == "__main__":
    main()
