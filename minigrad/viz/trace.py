"""A step-by-step record of backward, for following the chain rule node by node.

`trace_backward(loss)` runs the engine's own backward walk (`backpropagate`) and watches
it; `print(trace)` shows the table, `to_dot(loss, trace=trace)` numbers the picture's edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from minigrad.autograd import backpropagate
from minigrad.tensor import Tensor
from minigrad.viz import labels


@dataclass
class GradientSent:
    """The local gradient one node sends to one of its inputs.

    `contribution` counts the gradients this input has received so far in the walk; above 1
    they add up (the input feeds several ops). `into_grad` says it lands in a leaf's `.grad`.
    """

    input: Tensor
    position: int
    grad: Tensor | None
    contribution: int = 0
    into_grad: bool = False
    onto_earlier_grad: bool = False

    @property
    def accumulates(self) -> bool:
        return self.contribution > 1 or self.onto_earlier_grad


@dataclass
class TraceStep:
    """Backprop through one node: the gradient that arrived and what it sent on."""

    number: int
    tensor: Tensor
    upstream: Tensor
    sent: list[GradientSent] = field(default_factory=list)


class BackwardTrace:
    """The steps of one backward pass, in the order it ran; `str()` is a table."""

    def __init__(self, output: Tensor, steps: list[TraceStep]) -> None:
        self.output = output
        self.steps = steps

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def __repr__(self) -> str:
        return f"<BackwardTrace of {labels.title(self.output)}: {steps_text(len(self.steps))}>"

    def __str__(self) -> str:
        header = ("step", "node", "upstream grad", "input", "local", "grad sent", "note")
        step_of = {id(step.tensor): step.number for step in self.steps}
        rows = [row for step in self.steps for row in step_rows(step, step_of)]
        if not rows:
            return f"backward of {labels.title(self.output)}: a leaf, no op to backpropagate"
        if not any(row[4] for row in rows):  # no scalar steps: drop the empty column
            header, rows = drop_column(header, 4), [drop_column(row, 4) for row in rows]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [f"backward of {labels.title(self.output)}: {steps_text(len(self.steps))}"]
        for row in [header, *rows]:
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        lines.insert(2, "  ".join("-" * width for width in widths))
        return "\n".join(lines)


def steps_text(count: int) -> str:
    return f"{count} step" if count == 1 else f"{count} steps"


def describe(tensor: Tensor) -> str:
    """`h = relu in fc1 (8, 50)`: name, op, module and shape."""
    where = f" in {tensor.op.scope[-1]}" if tensor.op is not None and tensor.op.scope else ""
    made_by = f" = {tensor.op.name}" if tensor.op is not None and tensor.name else ""
    hooked = " [hooked]" if tensor.hooks else ""
    return f"{labels.title(tensor)}{made_by}{where} {tensor.shape}{hooked}"


def note(sent: GradientSent) -> str:
    if sent.grad is None:
        return "no gradient needed"
    if sent.onto_earlier_grad:
        return "added to .grad from an earlier backward"
    target = "leaf .grad" if sent.into_grad else "gradient"
    if sent.contribution > 1:
        return f"{target} += (contribution {sent.contribution})"
    return f"becomes its {target}" if sent.into_grad else ""


def drop_column(row: tuple[str, ...], index: int) -> tuple[str, ...]:
    return row[:index] + row[index + 1 :]


def local_derivative(upstream: Tensor, sent: Tensor | None) -> str:
    """For scalars, d(node)/d(input) = grad sent / upstream grad: the chain rule's factor."""
    if sent is None or upstream.size != 1 or sent.size != 1 or upstream.item() == 0:
        return ""
    return labels.number(sent.item() / upstream.item())


def step_rows(step: TraceStep, step_of: dict[int, int]) -> list[tuple[str, ...]]:
    """One row per input of the node; `-> step k` says where that input is handled next."""
    first = (str(step.number), describe(step.tensor), labels.preview(step.upstream.data))
    blank = ("", "", "")
    rows = []
    for sent in step.sent:
        later = f" -> step {step_of[id(sent.input)]}" if id(sent.input) in step_of else ""
        rows.append(
            (blank if rows else first)
            + (
                f"{sent.position}: {describe(sent.input)}{later}",
                local_derivative(step.upstream, sent.grad),
                "-" if sent.grad is None else labels.preview(sent.grad.data),
                note(sent),
            )
        )
    return rows


def trace_backward(
    output: Tensor,
    grad: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> BackwardTrace:
    """Run `output.backward(...)` (same `.grad` results) and record every step it takes."""
    steps: list[TraceStep] = []
    received: dict[int, int] = {}

    def observe(tensor: Tensor, upstream: Tensor, input_grads: list) -> None:
        step = TraceStep(len(steps) + 1, tensor, upstream)
        for position, (parent, parent_grad) in enumerate(zip(tensor.op.inputs, input_grads)):
            sent = GradientSent(parent, position, parent_grad)
            if parent_grad is not None:
                received[id(parent)] = sent.contribution = received.get(id(parent), 0) + 1
                sent.into_grad = parent.op is None
                sent.onto_earlier_grad = sent.into_grad and parent.grad is not None
            step.sent.append(sent)
        steps.append(step)

    backpropagate(output, grad, retain_graph, create_graph, observe=observe)
    return BackwardTrace(output, steps)
