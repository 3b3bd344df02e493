"""The one walk over a recorded graph, which backward, replay, the pictures, `locate` and
the exporter all use."""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter

from minigrad.tensor import Tensor


def topological_order(outputs: Tensor | Iterable[Tensor]) -> list[Tensor]:
    """Every tensor an op made on the way to `outputs`, in the order the ops were recorded
    (so each after its inputs; copies of one tensor share its op and sit together).

    Leaves are not listed: they are the inputs of the ops that are. An iterative walk,
    so a chain of 100,000 ops needs no recursion; the ops' recording numbers give the
    order, so no second pass is needed.
    """
    stack = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    made: list[Tensor] = []
    seen: set[int] = set()
    while stack:
        tensor = stack.pop()
        op = tensor.op
        if op is None or id(tensor) in seen:
            continue
        seen.add(id(tensor))
        made.append(tensor)
        stack.extend(op.inputs)
    made.sort(key=_recording_number)
    return made


_recording_number = attrgetter("op.number")
