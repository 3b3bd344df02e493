"""Find the op whose backward rule is wrong: check every node of a recorded graph alone.

Each node's op is re-run on float64 copies of the inputs it actually saw and compared with
central differences of that single op, so the user's graph is left untouched (no second
backward through it is needed). Elements that sit on a kink of the op (relu at 0) or tie
for a max are left out: no finite difference can judge a gradient there. Values the graph
freed (`minigrad.ops.base.WeakInput`) are first computed again from their makers' inputs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from minigrad.gradient_check import (
    DEFAULT_ATOL,
    DEFAULT_EPS,
    DEFAULT_RTOL,
    MODES,
    GradcheckReport,
    float64_leaves,
    require_mode,
    run_check,
    step_sizes,
)
from minigrad.graph import topological_order
from minigrad.ops import Op
from minigrad.tensor import Tensor

# A node whose inputs hold more elements than this, or whose output does, is checked in
# fast mode (a random projection, then element by element only if that fails).
FULL_CHECK_LIMIT = 2048
KINK_STEPS = 10  # elements within this many finite-difference steps of a kink are left out
NODE_MODES = ("auto", *MODES)


@dataclass(eq=False)
class NodeCheck:
    """The verdict on one recorded node: `op` is the Op instance in the user's graph
    (its identity is what graph pictures match on), `output` the Tensor it produced.

    `report` holds the worst mismatch (its input_index is the op input's position) and
    `failures` one report per failing input/output pair. `error` is set instead when
    re-running the op's backward raised; `ignored` counts input elements left out because
    they sit on a kink.
    """

    op: Op
    output: Tensor
    position: int
    passed: bool
    report: GradcheckReport | None = None
    failures: list[GradcheckReport] = field(default_factory=list)
    error: str | None = None
    ignored: int = 0

    @property
    def name(self) -> str:
        return self.op.name

    def __str__(self) -> str:
        if self.report is not None:
            return str(self.report)
        verdict = "gradient matches central differences" if self.passed else self.error
        return f"{_describe(self.op, self.position)}: {verdict}"


def _describe(op: Op, position: int) -> str:
    """How reports name a node: its op, its position, and the modules it was recorded in."""
    scope = f", in {'/'.join(op.scope)}" if op.scope else ""
    return f"{op.name} (node {position}{scope})"


def _unjudgeable(op: Op, inputs: list[Tensor], eps: float) -> dict[int, np.ndarray]:
    """Masks of input elements on a kink of the op, or tied with another (max, min)."""
    masks = {}
    for i, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            continue
        margin = KINK_STEPS * step_sizes(tensor.data, eps)
        mask = np.zeros(tensor.shape, dtype=bool)
        for kink in op.kinks():
            mask |= np.abs(tensor.data - kink) <= margin
        if op.distinct and tensor.size > 1:
            mask |= _tied(tensor.data, margin)
        if mask.any():
            masks[i] = mask
    return masks


def _tied(array: np.ndarray, margin: np.ndarray) -> np.ndarray:
    flat = array.reshape(-1)
    order = np.argsort(flat, kind="stable")
    close = np.diff(flat[order]) <= 2 * margin.reshape(-1)[order][1:]
    tied = np.zeros(flat.shape, dtype=bool)
    tied[order[1:][close]] = True
    tied[order[:-1][close]] = True
    return tied.reshape(array.shape)


def check_node(
    tensor: Tensor,
    position: int = 0,
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    mode: str = "auto",
) -> NodeCheck:
    """Re-run the op that produced `tensor` on float64 copies of its inputs, with the
    arguments it was applied with, and compare its backward with central differences of
    that op alone."""
    require_mode(mode, NODE_MODES, "check_node")
    op = tensor.op
    if any(parent.is_freed for parent in op.inputs):
        restore_freed(tensor)
    kind = type(op)  # a patched (mutated) class is what must be re-run
    inputs = float64_leaves(op.inputs)
    eps = DEFAULT_EPS[np.dtype(np.float64)] if eps is None else eps
    ignore = _unjudgeable(op, inputs, eps)
    if mode == "auto":
        sizes = sum(x.size for x in inputs if x.requires_grad)
        mode = "full" if max(sizes, tensor.size) <= FULL_CHECK_LIMIT else "fast"

    def rerun(*xs: Tensor) -> Tensor:
        return kind.apply(*xs, **op.arguments)

    ignored = int(sum(mask.sum() for mask in ignore.values()))
    try:
        result = run_check(
            rerun,
            inputs,
            eps=eps,
            atol=DEFAULT_ATOL[np.dtype(np.float64)] if atol is None else atol,
            rtol=DEFAULT_RTOL[np.dtype(np.float64)] if rtol is None else rtol,
            mode=mode,
            function=_describe(op, position),
            ignore=ignore,
        )
    except Exception as error:  # a backward that crashes is a failing node, not a crash
        return NodeCheck(op, tensor, position, False, error=f"{type(error).__name__}: {error}")
    return NodeCheck(
        op, tensor, position, result.passed, result.worst, result.failures, ignored=ignored
    )


def restore_freed(output: Tensor) -> None:
    """Give the stand-ins of freed values in `output`'s graph their values again, each
    computed by its maker op from its (restored) inputs: forward ops are deterministic."""
    for tensor in topological_order(output):
        if tensor.is_freed:
            maker = copy.copy(tensor.op)  # a forward may keep state on its op; not on this one
            tensor.data = maker.forward_arrays(maker, tensor.op.inputs)


def check_nodes(
    output: Tensor,
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    mode: str = "auto",
) -> list[NodeCheck]:
    """Check every recorded node that leads to `output`, inputs first.

    Tolerances default to float64's (the ops are re-run in float64). mode="auto" checks
    small nodes element by element and large ones (more than FULL_CHECK_LIMIT elements)
    by random projection first; "full" or "fast" force one.
    """
    require_mode(mode, NODE_MODES, "check_nodes")
    if output.op is None:
        return []
    restore_freed(output)
    return [
        check_node(tensor, position, eps=eps, atol=atol, rtol=rtol, mode=mode)
        for position, tensor in enumerate(topological_order(output))
    ]


def locate_gradient_errors(
    output: Tensor,
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    mode: str = "auto",
) -> list[NodeCheck]:
    """The nodes of `output`'s graph whose backward disagrees with central differences."""
    require_mode(mode, NODE_MODES, "locate_gradient_errors")
    checks = check_nodes(output, eps=eps, atol=atol, rtol=rtol, mode=mode)
    return [check for check in checks if not check.passed]
