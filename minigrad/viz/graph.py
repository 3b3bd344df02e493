"""Draw a computation graph with Graphviz: tensors with names, shapes, values and gradients,
ops with their arguments, modules as clusters, gradient-check results in red and green.

The graph is walked by the engine's own iterative walk, so a chain of 10,000 ops draws
without recursion.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minigrad.checks import check_flag
from minigrad.files import atomic_path
from minigrad.graph import topological_order
from minigrad.ops import Op
from minigrad.tensor import Tensor
from minigrad.viz import labels
from minigrad.viz.trace import BackwardTrace

if TYPE_CHECKING:
    import graphviz

FONT = "Helvetica,Arial,sans-serif"
FORMATS = ("svg", "png", "pdf")
SOURCE_FORMATS = ("dot", "gv")

# How each kind of node looks; the legend is drawn from this table.
STYLES: dict[str, dict[str, str]] = {
    "input": {
        "shape": "box",
        "style": "filled,rounded",
        "fillcolor": "#dbeafe",
        "color": "#1d4ed8",
    },
    "parameter": {
        "shape": "box",
        "style": "filled,rounded,bold",
        "fillcolor": "#fef3c7",
        "color": "#b45309",
    },
    "intermediate": {
        "shape": "box",
        "style": "filled,rounded",
        "fillcolor": "#ffffff",
        "color": "#6b7280",
    },
    "output": {
        "shape": "box",
        "style": "filled,rounded,bold",
        "fillcolor": "#ede9fe",
        "color": "#6d28d9",
    },
    "constant": {
        "shape": "box",
        "style": "filled,dashed",
        "fillcolor": "#f3f4f6",
        "color": "#9ca3af",
        "fontcolor": "#4b5563",
    },
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#e5e7eb", "color": "#374151"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "#e0f2fe", "color": "#0369a1"},
    "check failed": {
        "style": "filled,bold",
        "fillcolor": "#fecaca",
        "color": "#dc2626",
        "penwidth": "2.5",
    },
    "check passed": {"style": "filled", "fillcolor": "#bbf7d0", "color": "#16a34a"},
    "NaN/Inf": {"color": "#dc2626", "penwidth": "2.5"},
}
STYLES["anomaly"] = {**STYLES["check failed"], "fillcolor": "#fca5a5"}
LEGEND_TEXT = {
    "input": "input (no grad)",
    "parameter": "parameter",
    "intermediate": "intermediate",
    "output": "output",
    "constant": "constant",
    "op": "op",
    "module": "module (collapsed)",
    "check failed": "gradient check failed",
    "check passed": "gradient check passed",
    "anomaly": "where detect_anomaly stopped",
    "NaN/Inf": "NaN / Inf",
}
BADGE_COLOR = "#dc2626"
TRACE_COLOR = "#b91c1c"
POSITION_COLOR = "#6b7280"

INSTALL_HELP = (
    "rendering needs Graphviz's `dot` program, which is not on PATH. Install it: "
    "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`dnf install graphviz` (Fedora), `conda install -c conda-forge graphviz`, or "
    "`winget install graphviz` (Windows; then add its bin folder to PATH). Without it, "
    "`to_dot(...)` still builds the graph, `.source` gives its DOT text, and "
    "`draw(..., path='graph.dot')` writes that text."
)


class GraphvizNotFoundError(RuntimeError):
    """Rendering was asked for but the Graphviz `dot` program is not installed."""


@dataclass
class Node:
    """One box or ellipse: a tensor, an op, or (collapsed) a whole module."""

    key: str
    kind: str
    scope: tuple[str, ...]
    rows: list[str]
    tensor: Tensor | None = None
    op: Op | None = None
    badges: list[str] = field(default_factory=list)
    check: Any = None


@dataclass
class Edge:
    """Forward direction, tail -> head; `tensor` is the value flowing along it.

    Into an op, `position` is which input it is (as in the trace and the check reports);
    it is drawn when the op has more than one input, so `a - b` can be told from `b - a`.
    """

    tail: str
    head: str
    tensor: Tensor
    position: int | None = None
    shows_position: bool = False
    steps: list[str] = field(default_factory=list)


# ----- walking the graph -----------------------------------------------------------------
def collect(outputs: Iterable[Tensor]) -> list[Tensor]:
    """Every tensor the outputs depend on, each after its inputs.

    The engine's walk (`topological_order`) gives the tensors ops made; a picture also
    needs the leaves and constants they read, each just before its first user.
    """
    outputs = list(outputs)
    order: list[Tensor] = []
    seen: set[int] = set()
    for made in topological_order(outputs):
        for tensor in (*made.op.inputs, made):
            if id(tensor) not in seen and (tensor.op is None or tensor is made):
                seen.add(id(tensor))
                order.append(tensor)
    for output in outputs:  # a leaf drawn as an output
        if id(output) not in seen:
            seen.add(id(output))
            order.append(output)
    return order


def tensor_kind(tensor: Tensor, is_output: bool) -> str:
    if is_output:
        return "output"
    if tensor.op is not None:
        return "intermediate"
    if tensor.requires_grad:
        return "parameter"
    return "constant" if labels.is_constant(tensor) else "input"


def common_prefix(scopes: list[tuple[str, ...]]) -> tuple[str, ...]:
    prefix = scopes[0] if scopes else ()
    for scope in scopes[1:]:
        size = 0
        while size < min(len(prefix), len(scope)) and prefix[size] == scope[size]:
            size += 1
        prefix = prefix[:size]
    return prefix


def users_scopes(tensors: list[Tensor]) -> dict[int, tuple[str, ...]]:
    """For each tensor, the innermost module all the ops that use it share."""
    users: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for tensor in tensors:
        if tensor.op is not None:
            for parent in tensor.op.inputs:
                users[id(parent)].append(tensor.op.scope)
    return {key: common_prefix(scopes) for key, scopes in users.items()}


def home_scope(tensor: Tensor, shared: tuple[str, ...]) -> tuple[str, ...]:
    """A parameter or constant sits in the innermost module its users share; a named one
    only in a module its dotted name is under (`fc1.weight` in fc1, an input `x` in none)."""
    if tensor.name is None:
        return shared
    size = len(shared)
    while size and not tensor.name.startswith(shared[size - 1] + "."):
        size -= 1
    return shared[:size]


# ----- nodes and edges -------------------------------------------------------------------
def tensor_node(
    key: str,
    tensor: Tensor,
    kind: str,
    grad: Tensor | None,
    data_badge: str | None,
    show_values: bool,
    show_grads: bool,
) -> Node:
    rows = []
    if kind == "constant":
        rows.append(labels.escape(labels.title(tensor)))
    else:
        if tensor.name:
            rows.append(f"<B>{labels.escape(tensor.name)}</B>")
        rows.append(f"{labels.shape_text(tensor)} {tensor.dtype}")
        if tensor.hooks:
            rows.append(f"<I>{len(tensor.hooks)} gradient hook(s)</I>")
        if tensor.is_freed:  # shown always: which values a graph holds is worth seeing
            rows.append("<I>value freed after forward: no backward reads it</I>")
        elif show_values:
            rows.append("data " + labels.escape(labels.stats(tensor.data)))
        if show_grads and grad is not None:
            rows.append("grad " + labels.escape(labels.stats(grad.data)))
    found = [data_badge, None if grad is None else labels.nonfinite(grad.data, "grad")]
    return Node(key, kind, (), rows, tensor=tensor, badges=[badge for badge in found if badge])


def data_badge(tensor: Tensor, nonfinite: set[int]) -> str | None:
    """'3 Inf in data'; the op that first made a NaN or Inf from finite inputs says so (not
    when an input's value was freed: it may have been the first)."""
    if tensor.is_freed:
        return None
    badge = labels.nonfinite(tensor.data, "data")
    if badge is None:
        return None
    nonfinite.add(id(tensor))
    parents = () if tensor.op is None else tensor.op.inputs
    if parents and not any(id(p) in nonfinite or p.is_freed for p in parents):
        badge += " (starts here)"
    return badge


def tensor_scope(tensor: Tensor, kind: str, shared: dict[int, tuple[str, ...]]) -> tuple:
    if tensor.op is not None:
        return tensor.op.scope
    if kind in ("parameter", "constant"):
        return home_scope(tensor, shared.get(id(tensor), ()))
    return ()


def op_node(key: str, op: Op, check: Any) -> Node:
    rows = [f"<B>{labels.escape(op.name)}</B>"]
    arguments = labels.op_arguments(op)
    if arguments:
        rows.append(labels.escape(arguments))
    if check is not None:
        rows.extend(check_rows(check))
    return Node(key, "op", op.scope, rows, op=op, check=check)


def check_rows(check: Any) -> list[str]:
    """What a gradient check found at this op: the numbers when it failed."""
    if check.passed:
        return ["gradient ok"]
    reason = getattr(check, "reason", None)  # detect_anomaly's: why this op made a NaN
    if reason is not None:
        return [f"<B>{labels.escape(line)}</B>" for line in _wrap(reason, 48)]
    report = getattr(check, "report", None)
    if report is None:
        error = getattr(check, "error", None)
        reason = f"backward raised {error}" if error else "gradient WRONG"
        return [f"<B>{labels.escape(labels.shorten(reason, 60))}</B>"]
    element = list(report.input_element)
    return [
        f"<B>gradient WRONG</B> (input {report.input_index} {element})",
        f"analytic {labels.number(report.analytic)}  numeric {labels.number(report.numeric)}",
        f"abs err {labels.number(report.abs_error)}  rel err {labels.number(report.rel_error)}",
    ]


def _wrap(text: str, width: int) -> list[str]:
    """A long reason as lines of about `width` characters, split at spaces."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def index_checks(checks: Iterable[Any] | None, tensors: list[Tensor]) -> dict[int, Any]:
    """{id(op): check}; a failed check wins over a passed one for the same op."""
    if checks is None:
        return {}
    present = {id(t.op) for t in tensors if t.op is not None}
    by_op: dict[int, Any] = {}
    for check in checks:
        if id(check.op) not in present:
            raise ValueError(
                f"to_dot: checks name an op ({getattr(check.op, 'name', check.op)!r}) that is "
                "not in this graph; pass the checks computed on the same output tensor"
            )
        if id(check.op) not in by_op or not check.passed:
            by_op[id(check.op)] = check
    return by_op


def known_grads(tensors: list[Tensor], trace: BackwardTrace | None) -> dict[int, Tensor]:
    """`.grad` where kept, else the gradient the trace saw arrive at an intermediate."""
    grads = {id(step.tensor): step.upstream for step in trace.steps} if trace else {}
    grads.update((id(t), t.grad) for t in tensors if t.grad is not None)
    return grads


def number_edges(edges: list[Edge], trace: BackwardTrace, keys: dict[int, str]) -> None:
    """Label each input edge with the backward step that sent a gradient along it."""
    by_input = {(edge.head, edge.position): edge for edge in edges if edge.position is not None}
    for step in trace.steps:
        if id(step.tensor) not in keys:
            raise ValueError(
                f"to_dot: step {step.number} of the trace ({step.tensor.op.name}) is not in "
                "this graph; draw the tensor that trace_backward was called on"
            )
        op_key = "o" + keys[id(step.tensor)][1:]
        for sent in step.sent:
            if sent.grad is None:
                continue
            label = f"step {step.number}"
            if sent.grad.size == 1:
                label += f": grad {labels.preview(sent.grad.data)}"
            if sent.accumulates:
                label += " (+=)"
            by_input[(op_key, sent.position)].steps.append(label)


def build(
    outputs: tuple[Tensor, ...],
    show_values: bool,
    show_grads: bool,
    checks: Iterable[Any] | None,
    trace: BackwardTrace | None,
) -> tuple[list[Node], list[Edge]]:
    """Tensor nodes `t<i>`, op nodes `o<i>` (i: the op's output), and forward edges."""
    tensors = collect(outputs)
    keys = {id(t): f"t{i}" for i, t in enumerate(tensors)}
    grads = known_grads(tensors, trace)
    checks_by_op = index_checks(checks, tensors)
    shared = users_scopes(tensors)
    output_ids = {id(t) for t in outputs}
    nodes: list[Node] = []
    edges: list[Edge] = []
    nonfinite: set[int] = set()
    for i, tensor in enumerate(tensors):
        kind = tensor_kind(tensor, id(tensor) in output_ids)
        badge = data_badge(tensor, nonfinite)
        node = tensor_node(
            f"t{i}", tensor, kind, grads.get(id(tensor)), badge, show_values, show_grads
        )
        node.scope = tensor_scope(tensor, kind, shared)
        nodes.append(node)
        if tensor.op is not None:
            nodes.append(op_node(f"o{i}", tensor.op, checks_by_op.get(id(tensor.op))))
            several = len(tensor.op.inputs) > 1
            edges.extend(
                Edge(keys[id(parent)], f"o{i}", parent, position, shows_position=several)
                for position, parent in enumerate(tensor.op.inputs)
            )
            edges.append(Edge(f"o{i}", f"t{i}", tensor))
    if trace is not None:
        number_edges(edges, trace, keys)
    return nodes, edges


# ----- collapsing modules ----------------------------------------------------------------
def innermost_scopes(nodes: list[Node]) -> set[tuple[str, ...]]:
    """Module scopes that hold ops and contain no other module (a Linear, not the MLP)."""
    scopes = {node.scope for node in nodes if node.op is not None and node.scope}
    outer = {scope[:size] for scope in scopes for size in range(1, len(scope))}
    return scopes - outer


def module_node(key: str, scope: tuple[str, ...], members: list[Node], show_grads: bool) -> Node:
    """One box for a module: its path, the ops it hides, its parameters."""
    counts = Counter(node.op.name for node in members if node.op is not None)
    ops = ", ".join(name if n == 1 else f"{name} ×{n}" for name, n in counts.items())
    rows = [f"<B>{labels.escape(scope[-1] or '(model)')}</B>", labels.escape(ops)]
    for node in members:
        if node.kind == "parameter":
            row = f"{node.tensor.name or 'parameter'} {labels.shape_text(node.tensor)}"
            if show_grads and node.tensor.grad is not None:
                row += f"  grad norm {labels.number(labels.norm(node.tensor.grad.data))}"
            rows.append(labels.escape(row))
    checks = [node.check for node in members if node.check is not None]
    failed = [check for check in checks if not check.passed]
    check = failed[0] if failed else (checks[0] if checks else None)
    if failed:
        rows.append(f"<B>gradient WRONG</B> in {labels.escape(failed[0].op.name)}")
    badges = [badge for node in members for badge in node.badges]
    return Node(key, "module", scope[:-1], rows, badges=badges, check=check)


def collapse_modules(
    nodes: list[Node], edges: list[Edge], show_grads: bool
) -> tuple[list[Node], list[Edge]]:
    """Replace each innermost module by one box; outputs stay visible outside it."""
    boxes = {scope: f"m{i}" for i, scope in enumerate(sorted(innermost_scopes(nodes)))}
    owner = {n.key: boxes[n.scope] for n in nodes if n.scope in boxes and n.kind != "output"}
    members: dict[tuple[str, ...], list[Node]] = defaultdict(list)
    for node in nodes:
        if node.key in owner:
            members[node.scope].append(node)
    kept = [node for node in nodes if node.key not in owner]
    for node in kept:
        if node.scope in boxes:  # an output made inside the module: drawn next to its box
            node.scope = node.scope[:-1]
    kept += [module_node(key, scope, members[scope], show_grads) for scope, key in boxes.items()]
    merged: dict[tuple[str, str, int | None], Edge] = {}
    for edge in edges:
        tail, head = owner.get(edge.tail, edge.tail), owner.get(edge.head, edge.head)
        if tail == head:
            continue
        into_op = head == edge.head  # an op left outside the boxes: which input still matters
        position = edge.position if into_op else None
        key = (tail, head, position)
        if key not in merged:
            shows_position = edge.shows_position and into_op
            merged[key] = Edge(tail, head, edge.tensor, position, shows_position)
        merged[key].steps.extend(edge.steps)
    return kept, list(merged.values())


# ----- emitting DOT ----------------------------------------------------------------------
def import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(
            "minigrad.viz needs the `graphviz` Python package: pip install 'minigrad[viz]' "
            "(or pip install graphviz)"
        ) from error
    return graphviz


def html_label(rows: list[str], badges: list[str]) -> str:
    cells = [f"<TR><TD>{row}</TD></TR>" for row in rows]
    cells += [
        f'<TR><TD BGCOLOR="{BADGE_COLOR}"><FONT COLOR="white"><B>{labels.escape(badge)}'
        "</B></FONT></TD></TR>"
        for badge in badges
    ]
    return f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(cells)}</TABLE>>'


def node_looks(node: Node) -> tuple[dict[str, str], list[str]]:
    """The node's Graphviz attributes, and the legend entries they use."""
    used = [node.kind]
    attrs = dict(STYLES[node.kind])
    if node.check is not None:
        if node.check.passed:
            used.append("check passed")
        else:
            used.append("anomaly" if hasattr(node.check, "reason") else "check failed")
        attrs.update(STYLES[used[-1]])
    if node.badges:
        used.append("NaN/Inf")
        attrs.update(STYLES["NaN/Inf"])
    attrs["label"] = html_label(node.rows, node.badges)
    return attrs, used


def edge_looks(edge: Edge, from_box: bool) -> dict[str, str]:
    """A small grey `input 1`; the shape of what leaves a collapsed module; the backward
    steps in red, if traced. One line each, mid-edge, so each sits by its own edge and
    none runs into another."""
    lines = []
    if edge.shows_position:
        lines.append(f'<FONT POINT-SIZE="8" COLOR="{POSITION_COLOR}">input {edge.position}</FONT>')
    if from_box:
        lines.append(labels.escape(labels.shape_text(edge.tensor)))
    if edge.steps:
        steps = labels.escape(", ".join(edge.steps))
        lines.append(f'<FONT COLOR="{TRACE_COLOR}">{steps}</FONT>')
    return {"label": f"<{'<BR/>'.join(lines)}>"} if lines else {}


def legend(used: set[str], edges: list[Edge]) -> str:
    """One row of swatches, for the kinds of node and edge label this picture actually has."""
    cells = []
    for kind, text in LEGEND_TEXT.items():
        if kind in used:
            style = STYLES[kind]
            fill = style.get("fillcolor", "#ffffff")
            cells.append(f'<TD BGCOLOR="{fill}" COLOR="{style["color"]}">{text}</TD>')
    if any(edge.shows_position for edge in edges):
        text = "input 0, 1: which input of the op"
        cells.append(f'<TD><FONT COLOR="{POSITION_COLOR}">{text}</FONT></TD>')
    if any(edge.steps for edge in edges):
        text = "step n: backward step n sends this grad"
        cells.append(f'<TD><FONT COLOR="{TRACE_COLOR}">{text}</FONT></TD>')
    return f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="3"><TR>{"".join(cells)}</TR></TABLE>'


def caption(title: str | None, legend_table: str | None) -> str | None:
    """The picture's label, at its top: what it shows, in bold, then the legend."""
    rows = []
    if title:
        rows.append(f'<TR><TD ALIGN="LEFT"><B>{labels.escape(title)}</B></TD></TR>')
    if legend_table:
        rows.append(f"<TR><TD>{legend_table}</TD></TR>")
    if not rows:
        return None
    return f'<<TABLE BORDER="0" CELLSPACING="2">{"".join(rows)}</TABLE>>'


def digraph(
    nodes: list[Node], edges: list[Edge], rankdir: str, show_legend: bool, title: str | None
) -> graphviz.Digraph:
    """Nodes go into nested `cluster_` subgraphs by module scope; edges into the root."""
    gv = import_graphviz()
    root = gv.Digraph(
        "minigrad",
        graph_attr={
            "rankdir": rankdir,
            "fontname": FONT,
            "fontsize": "12",
            "labelloc": "t",
            "labeljust": "l",
        },
        node_attr={"fontname": FONT, "fontsize": "10"},
        edge_attr={"fontname": FONT, "fontsize": "9", "color": "#4b5563"},
    )
    scopes = {node.scope[:size] for node in nodes for size in range(1, len(node.scope) + 1)}
    clusters = {
        scope: gv.Digraph(
            f"cluster_{i}",
            graph_attr={
                "label": gv.nohtml(scope[-1] or "(model)"),
                "style": "rounded,dashed",
                "color": "#64748b",
            },
        )
        for i, scope in enumerate(sorted(scopes))
    }
    used: set[str] = set()
    for node in nodes:
        attrs, kinds = node_looks(node)
        used.update(kinds)
        (clusters[node.scope] if node.scope else root).node(node.key, **attrs)
    for scope in sorted(clusters, key=len, reverse=True):
        (clusters[scope[:-1]] if len(scope) > 1 else root).subgraph(clusters[scope])
    boxes = {node.key for node in nodes if node.kind == "module"}
    for edge in edges:
        root.edge(edge.tail, edge.head, **edge_looks(edge, edge.tail in boxes))
    label = caption(title, legend(used, edges) if show_legend else None)
    if label:
        root.attr(label=label)
    return root


# ----- public API ------------------------------------------------------------------------
RANKDIRS = ("LR", "RL", "TB", "BT")


def check_options(
    show_values: Any,
    show_grads: Any,
    collapse: Any,
    show_legend: Any,
    checks: Any,
    trace: Any,
    rankdir: Any,
) -> None:
    """Refuse options of the wrong kind before anything is drawn: a string flag is
    truthy, and a wrong `checks` or `trace` would fail deep inside with no name."""
    flags = {
        "show_values": show_values,
        "show_grads": show_grads,
        "collapse": collapse,
        "show_legend": show_legend,
    }
    for name, value in flags.items():
        check_flag("to_dot", name, value)
    if checks is not None and (
        isinstance(checks, (str, bytes))
        or not isinstance(checks, Iterable)
        or not all(hasattr(check, "op") and hasattr(check, "passed") for check in checks)
    ):
        raise TypeError(
            f"to_dot: checks must be a list of node checks (each with .op and .passed), as "
            f"check_nodes or locate_gradient_errors return, got {checks!r:.60}"
        )
    if trace is not None and not isinstance(trace, BackwardTrace):
        raise TypeError(f"to_dot: trace must be what trace_backward returns, got {trace!r:.60}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"to_dot: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")


def to_dot(
    *outputs: Tensor,
    show_values: bool = False,
    show_grads: bool = True,
    collapse: bool = False,
    checks: Iterable[Any] | None = None,
    trace: BackwardTrace | None = None,
    rankdir: str = "LR",
    show_legend: bool = True,
    title: str | None = None,
) -> graphviz.Digraph:
    """The graph that computed `outputs`, as a `graphviz.Digraph` (shown inline in Jupyter).

    - show_values / show_grads: a scalar's value and gradient; min/mean/max/norm of arrays.
    - collapse: draw each innermost module (e.g. a Linear) as one box.
    - checks: NodeCheck-like objects (`op`, `passed`, `report`) from the gradient-check
      localiser; failed ops are painted red with the error, passed ones green.
    - trace: a `trace_backward` result; input edges get the backward step numbers.
    - title: what the picture shows, in bold above the legend ("one training step on 4
      digits").
    """
    if not outputs:
        raise ValueError("to_dot: pass at least one Tensor to draw, e.g. to_dot(loss)")
    for output in outputs:
        if not isinstance(output, Tensor):
            raise TypeError(f"to_dot: expected Tensors, got {type(output).__name__}")
    if isinstance(checks, Iterable) and not isinstance(checks, (str, bytes)):
        checks = list(checks)  # read twice: checked here, used by build
    check_options(show_values, show_grads, collapse, show_legend, checks, trace, rankdir)
    nodes, edges = build(outputs, show_values, show_grads, checks, trace)
    if collapse:
        nodes, edges = collapse_modules(nodes, edges, show_grads)
    return digraph(nodes, edges, rankdir, show_legend, title)


def render(graph: graphviz.Digraph, path: str | Path) -> str:
    """Write `graph` to `path` in the format its extension names; return the path.

    The picture is written to a temporary file beside `path` and renamed onto it once whole
    (`minigrad.files.atomic_path`), so a failed render or a full disk leaves the old picture
    or none, never half of one, and no temporary file.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS + SOURCE_FORMATS:
        raise ValueError(
            f"draw: cannot tell the format from {str(path)!r}; end the path with "
            + ", ".join(f".{name}" for name in FORMATS + SOURCE_FORMATS)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        write_picture(graph, fmt, temporary)
    return str(path)


def write_picture(graph: graphviz.Digraph, fmt: str, destination: Path) -> None:
    """Render `graph` as `fmt` into the file `destination`: DOT text for dot and gv, else
    the picture Graphviz's `dot` draws."""
    if fmt in SOURCE_FORMATS:
        destination.write_bytes(graph.source.encode())
        return
    gv = import_graphviz()
    try:
        destination.write_bytes(graph.pipe(format=fmt))
    except gv.ExecutableNotFound as error:
        raise GraphvizNotFoundError(f"draw: {INSTALL_HELP}") from error


def draw(*outputs: Tensor, path: str | Path = "graph.svg", **options: Any) -> str:
    """Render the graph of `outputs` to svg, png or pdf (by the extension) and return the path.

    `.dot`/`.gv` write the DOT text and need no Graphviz install. `options` go to `to_dot`
    (show_values, show_grads, collapse, checks, trace, ...).
    """
    return render(to_dot(*outputs, **options), path)
