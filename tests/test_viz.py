"""Graph pictures: the DOT that `minigrad.viz` writes, read back node by node, and real renders."""

from __future__ import annotations

import errno
import html
import os
import re
import shutil
import struct
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import OPS, Tensor, locate, module_scope
from minigrad import functional as F
from minigrad import ops as minigrad_ops
from minigrad.testing import op_cases, tensors
from minigrad.viz import STYLES, GraphvizNotFoundError, draw, to_dot, trace_backward
from minigrad.viz import graph as graph_module
from minigrad.viz.__main__ import main as viz_main
from minigrad.viz.__main__ import neuron
from minigrad.viz.graph import POSITION_COLOR

# A newcomer without Graphviz skips the rendering tests; CI installs it, so there they run.
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz `dot` is not installed (apt-get install graphviz)",
)


# ----- reading DOT back ------------------------------------------------------------------
@dataclass
class Cluster:
    label: str
    parent: Cluster | None
    nodes: list[str] = field(default_factory=list)


@dataclass
class Picture:
    nodes: dict[str, dict[str, str]]
    edges: list[tuple[str, str, dict[str, str]]]
    clusters: list[Cluster]
    cluster_of: dict[str, Cluster]
    graph: dict[str, str]

    def text(self, key: str) -> str:
        return plain(self.nodes[key]["label"])

    def find(self, fragment: str) -> list[str]:
        return [key for key in self.nodes if fragment in self.text(key)]

    def named(self, name: str) -> str:
        """The node whose label starts with `name` (its bold title)."""
        (key,) = [key for key in self.nodes if self.text(key).split(" ")[0] == name]
        return key

    def kind(self, key: str) -> str:
        """The STYLES kind whose fill colour this node has."""
        fill = self.nodes[key]["fillcolor"]
        kinds = ("input", "parameter", "intermediate", "output", "constant", "op", "module")
        return next(kind for kind in kinds if STYLES[kind]["fillcolor"] == fill)

    def ops(self) -> list[str]:
        return [key for key in self.nodes if self.nodes[key]["shape"] == "ellipse"]


def plain(label: str) -> str:
    """An HTML-like label as plain text."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", label)).split())


def parse_attrs(text: str) -> dict[str, str]:
    attrs, i = {}, 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        equals = text.index("=", i)
        key, i = text[i:equals], equals + 1
        if text[i] == "<":
            depth, j = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            attrs[key], i = text[i + 1 : j - 1], j
        elif text[i] == '"':
            j = i + 1
            while text[j] != '"' or text[j - 1] == "\\":
                j += 1
            attrs[key], i = text[i + 1 : j], j + 1
        else:
            j = text.find(" ", i)
            j = len(text) if j < 0 else j
            attrs[key], i = text[i:j], j
    return attrs


def read(graph) -> Picture:
    nodes, edges, clusters, cluster_of, graph_attrs = {}, [], [], {}, {}
    current: Cluster | None = None
    for line in graph.source.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster_"):
            current = Cluster("", current)
            clusters.append(current)
        elif line == "}" and current is not None:
            current = current.parent
        elif line.startswith("graph [") and current is not None:
            current.label = parse_attrs(line[len("graph [") : -1])["label"]
        elif line.startswith("label="):
            graph_attrs.update(parse_attrs(line))
        elif match := re.fullmatch(r"(\w+) -> (\w+)(?: \[(.*)\])?", line):
            edges.append((match[1], match[2], parse_attrs(match[3] or "")))
        elif match := re.fullmatch(r"(\w+) \[(.*)\]", line):
            if match[1] in ("graph", "node", "edge"):
                continue
            nodes[match[1]] = parse_attrs(match[2])
            if current is not None:
                current.nodes.append(match[1])
                cluster_of[match[1]] = current
    return Picture(nodes, edges, clusters, cluster_of, graph_attrs)


# ----- example graphs --------------------------------------------------------------------


def mlp_loss(seed=0, batch=4):
    rng = np.random.default_rng(seed)
    x = Tensor(rng.random((batch, 6), dtype=np.float32), name="images")
    t = Tensor(rng.integers(0, 3, batch), name="labels")
    w1 = Tensor(rng.standard_normal((6, 5)).astype(np.float32), True, name="fc1.weight")
    b1 = Tensor(np.zeros(5, np.float32), True, name="fc1.bias")
    w2 = Tensor(rng.standard_normal((5, 3)).astype(np.float32), True, name="fc2.weight")
    b2 = Tensor(np.zeros(3, np.float32), True, name="fc2.bias")
    with module_scope("fc1"):
        h = F.linear(x, w1, b1)
    h = F.relu(h)
    with module_scope("fc2"):
        logits = F.linear(h, w2, b2)
    loss = F.softmax_cross_entropy(logits, t)
    loss.name = "loss"
    return loss


def count_graph(root):
    """Tensors and ops of a small graph, counted recursively (independently of minigrad.viz)."""
    tensors, ops, edges = {}, {}, 0

    def visit(tensor):
        nonlocal edges
        if id(tensor) in tensors:
            return
        tensors[id(tensor)] = tensor
        if tensor.op is not None:
            ops[id(tensor.op)] = tensor.op
            edges += len(tensor.op.inputs) + 1
            for parent in tensor.op.inputs:
                visit(parent)

    visit(root)
    return len(tensors), len(ops), edges


# ----- structure -------------------------------------------------------------------------
def test_neuron_has_a_node_per_tensor_and_op_and_an_edge_per_use():
    o, (x1, x2, w1, w2, b) = neuron()
    picture = read(to_dot(o))
    assert len(picture.nodes) == 10 + 5  # 5 leaves, 5 op outputs, 5 ops
    assert len(picture.edges) == 9 + 5  # each op's inputs, and each op to its output
    assert sorted(plain(picture.nodes[k]["label"]) for k in picture.ops()) == sorted(
        ["mul", "mul", "add", "add", "tanh"]
    )
    assert [picture.kind(picture.named(n)) for n in ("x1", "x2", "w1", "w2", "b", "n", "o")] == [
        "input",
        "input",
        "parameter",
        "parameter",
        "parameter",
        "intermediate",
        "output",
    ]
    tanh = picture.find("tanh")[0]
    assert (picture.named("n"), tanh) in [(tail, head) for tail, head, _ in picture.edges]
    assert (tanh, picture.named("o")) in [(tail, head) for tail, head, _ in picture.edges]


def test_a_tensor_used_twice_gets_two_edges_into_the_op():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    picture = read(to_dot(x * x))
    x_key = picture.named("x")
    (mul,) = picture.ops()
    assert [(t, h) for t, h, _ in picture.edges].count((x_key, mul)) == 2


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=3)
@given(data=st.data())
def test_every_registered_op_draws_as_one_labelled_node(name, data):
    case = data.draw(op_cases(OPS[name]), label="case")
    out = case.run()
    picture = read(to_dot(out))
    (op_key,) = picture.ops()
    assert picture.text(op_key).startswith(name)
    distinct_inputs = len({id(t) for t in case.inputs})
    assert len(picture.nodes) == distinct_inputs + 2
    assert len(picture.edges) == len(case.inputs) + 1
    positions = [position for _, position in position_labels(picture, op_key)]
    assert positions == ([] if len(case.inputs) == 1 else list(range(len(case.inputs))))


def test_labels_show_shape_dtype_and_op_arguments():
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True, name="x")
    picture = read(to_dot(x.sum(axis=1, keepdims=True), x.transpose(), x.clip(high=0.5)))
    assert picture.text(picture.named("x")) == "x (2, 3) float32"
    texts = [picture.text(key) for key in picture.ops()]
    assert "sum axis=1, keepdims=True" in texts
    assert "transpose axes=(1, 0)" in texts
    assert "clip high=0.5" in texts  # the unset bound is left out


def edge_lines(attrs):
    """The lines of an edge's label, as plain text."""
    label = attrs.get("label", "")
    return [plain(line) for line in label.split("<BR/>")] if label else []


def edge_label(attrs):
    """(the input position drawn on an edge, or None; the rest of its label as plain text)."""
    label = attrs.get("label", "")
    found = re.search(rf'<FONT [^>]*COLOR="{POSITION_COLOR}">input (\d+)</FONT>', label)
    if found is None:
        return None, plain(label)
    return int(found[1]), plain(label[: found.start()] + label[found.end() :])


def position_labels(picture, op_key):
    """(tail, input position) of the edges into one op, as their small grey labels say."""
    found = [(t, edge_label(attrs)[0]) for t, h, attrs in picture.edges if h == op_key]
    return sorted([pair for pair in found if pair[1] is not None], key=lambda pair: pair[1])


def test_edges_into_an_op_with_several_inputs_say_which_input_they_are():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = Tensor([3.0, 4.0], requires_grad=True, name="y")
    picture = read(to_dot(y - x))
    (sub,) = picture.ops()
    assert position_labels(picture, sub) == [(picture.named("y"), 0), (picture.named("x"), 1)]
    assert "input 0, 1: which input of the op" in plain(picture.graph["label"])
    unary = read(to_dot(x.tanh()))
    assert [edge_label(attrs) for _, _, attrs in unary.edges] == [(None, "")] * 2
    assert "which input" not in plain(unary.graph["label"])


def test_a_tensor_used_twice_enters_at_both_positions():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    picture = read(to_dot(x @ x))
    (matmul,) = picture.ops()
    x_key = picture.named("x")
    assert position_labels(picture, matmul) == [(x_key, 0), (x_key, 1)]


def test_a_constant_input_is_its_own_node_and_not_part_of_the_op_label():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    picture = read(to_dot(x**2))
    (power,) = picture.ops()
    assert picture.text(power) == "pow"  # the exponent is shown once: as the constant's box
    (constant,) = picture.find("constant 2")
    assert position_labels(picture, power) == [(picture.named("x"), 0), (constant, 1)]


def test_scalar_constants_are_drawn_as_constants_with_their_value():
    x = Tensor([1.0, -1.0], requires_grad=True, name="x")
    picture = read(to_dot(x * 3.0))
    (constant,) = [key for key in picture.nodes if picture.kind(key) == "constant"]
    assert picture.text(constant) == "constant 3"
    assert "dashed" in picture.nodes[constant]["style"]


def test_each_kind_has_its_own_style_and_the_legend_names_the_kinds_present():
    o, _ = neuron()
    picture = read(to_dot(o * 2.0))
    fills = {STYLES[kind]["fillcolor"] for kind in STYLES if "fillcolor" in STYLES[kind]}
    assert len(fills) == len([kind for kind in STYLES if "fillcolor" in STYLES[kind]])
    present = {picture.kind(key) for key in picture.nodes}
    assert present == {"input", "parameter", "intermediate", "output", "constant", "op"}
    legend = plain(picture.graph["label"])
    for text in ("input (no grad)", "parameter", "intermediate", "output", "constant", "op"):
        assert text in legend
    assert "module" not in legend and "gradient check" not in legend


def test_a_title_says_what_the_picture_shows_above_the_legend():
    loss = mlp_loss()
    titled = plain(read(to_dot(loss, title="one training step on 4 digits")).graph["label"])
    assert titled.startswith("one training step on 4 digits input (no grad)")
    assert "one training step" not in plain(read(to_dot(loss)).graph["label"])
    alone = read(to_dot(loss, title="one training step on 4 digits", show_legend=False))
    assert plain(alone.graph["label"]) == "one training step on 4 digits"
    assert "label" not in read(to_dot(loss, show_legend=False)).graph


# ----- values and gradients --------------------------------------------------------------
def test_scalars_show_value_and_gradient_as_micrograd_does():
    o, (x1, x2, w1, w2, b) = neuron()
    o.backward()
    picture = read(to_dot(o, show_values=True))
    assert (
        picture.text(picture.named("w1")) == f"w1 scalar float32 data -3 grad {w1.grad.item():.4g}"
    )
    assert picture.text(picture.named("x1")) == "x1 scalar float32 data 2"  # no grad: not shown
    assert f"data {o.item():.4g}" in picture.text(picture.named("o"))


def test_values_are_hidden_unless_asked_and_grads_can_be_hidden():
    o, _ = neuron()
    o.backward()
    assert picture_text(to_dot(o), "w1") == "w1 scalar float32 grad 1"
    assert picture_text(to_dot(o, show_grads=False), "w1") == "w1 scalar float32"


def picture_text(graph, name):
    picture = read(graph)
    return picture.text(picture.named(name))


@given(x=tensors(shape=(3, 4), dtype=np.float32))
def test_arrays_show_min_mean_max_and_norm_of_data_and_grad(x):
    x.name = "x"
    (x * x).sum().backward()
    text = picture_text(to_dot(x * 1.0, show_values=True), "x")

    def stats(array):
        values = array.astype(np.float64)
        parts = values.min(), values.mean(), values.max(), np.sqrt((values**2).sum())
        return "min {:.4g} mean {:.4g} max {:.4g} norm {:.4g}".format(*parts)

    assert text == f"x (3, 4) float32 data {stats(x.data)} grad {stats(x.grad.data)}"


def test_the_badge_says_where_an_overflow_starts():
    scores = Tensor([1010.0, 1000.0, 990.0], requires_grad=True, name="scores")
    with np.errstate(over="ignore", invalid="ignore"):
        exps = scores.exp()
        probs = exps / exps.sum()
    probs.name = "probs"
    picture = read(to_dot(probs))
    starts = picture.find("starts here")
    assert [picture.text(key) for key in starts] == ["(3,) float32 3 Inf in data (starts here)"]
    assert len(picture.find("in data")) == 3  # exp, sum, and the NaN of inf / inf
    assert picture.text(picture.named("probs")) == "probs (3,) float32 3 NaN in data"


def test_nan_and_inf_put_a_badge_and_a_red_border_on_the_node():
    x = Tensor([1.0, np.nan, np.nan, 4.0], requires_grad=True, name="x")
    w = Tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True, name="w")
    with np.errstate(divide="ignore"):
        (w / Tensor([1.0, 0.0, 1.0, 1.0])).sum().backward()
    picture = read(to_dot(x * 2.0, w * 2.0))
    x_key, w_key = picture.named("x"), picture.named("w")
    assert "2 NaN in data" in picture.text(x_key)
    assert "1 Inf in grad" in picture.text(w_key)
    for key in (x_key, w_key):
        assert picture.nodes[key]["color"] == STYLES["NaN/Inf"]["color"]
    assert "BGCOLOR" in picture.nodes[x_key]["label"]  # the badge is a coloured cell
    badged = {key for key in picture.nodes if re.search(r"(NaN|Inf) in", picture.text(key))}
    assert badged == {x_key, w_key, picture.find("2 NaN in data")[1]}  # x, x * 2 and w
    assert "NaN / Inf" in plain(picture.graph["label"])


# ----- modules ---------------------------------------------------------------------------
def test_ops_made_inside_a_module_are_grouped_in_a_labelled_cluster():
    picture = read(to_dot(mlp_loss()))
    by_label = {cluster.label: cluster for cluster in picture.clusters}
    assert set(by_label) == {"fc1", "fc2"}
    for layer in ("fc1", "fc2"):
        inside = {picture.text(key).split(" ")[0] for key in by_label[layer].nodes}
        assert {"linear", f"{layer}.weight", f"{layer}.bias"} <= inside
    for outside in ("images", "labels", "loss"):
        assert picture.named(outside) not in picture.cluster_of
    (relu,) = picture.find("relu")
    assert relu not in picture.cluster_of


def test_nested_module_scopes_give_nested_clusters():
    x = Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    with module_scope("layers"), module_scope("layers.0"):
        y = x.tanh()
    picture = read(to_dot((y * 2).sum()))
    by_label = {cluster.label: cluster for cluster in picture.clusters}
    assert by_label["layers.0"].parent is by_label["layers"]
    (tanh,) = picture.find("tanh")
    assert picture.cluster_of[tanh] is by_label["layers.0"]
    # Only the module's own parameters (by their dotted names) are drawn inside it.
    assert picture.named("x") not in picture.cluster_of
    weight = Tensor(np.ones(3), requires_grad=True, name="layers.0.weight")
    with module_scope("layers"), module_scope("layers.0"):
        y = x * weight
    picture = read(to_dot(y))
    (cluster,) = [cluster for cluster in picture.clusters if cluster.label == "layers.0"]
    assert picture.cluster_of[picture.named("layers.0.weight")] is cluster
    assert picture.named("x") not in picture.cluster_of


def test_collapse_draws_each_innermost_module_as_one_box():
    loss = mlp_loss()
    loss.backward()
    expanded, collapsed = read(to_dot(loss)), read(to_dot(loss, collapse=True))
    boxes = [key for key in collapsed.nodes if collapsed.kind(key) == "module"]
    assert sorted(collapsed.text(key).split(" ")[0] for key in boxes) == ["fc1", "fc2"]
    fc1, fc2 = sorted(boxes, key=collapsed.text)
    assert "linear" in collapsed.text(fc1)
    assert "fc1.weight (6, 5) grad norm" in collapsed.text(fc1)
    # Each layer's op, its output and two parameters become one box.
    assert len(collapsed.nodes) == len(expanded.nodes) - 2 * 3
    assert not [key for key in collapsed.nodes if collapsed.text(key).startswith("fc1.weight")]
    assert not collapsed.clusters
    leaving = [edge_label(attrs) for tail, _, attrs in collapsed.edges if tail == fc1]
    assert leaving == [(None, "(4, 5)")]  # the shape of what leaves the box, into relu
    (into_loss,) = [attrs for tail, _, attrs in collapsed.edges if tail == fc2]
    assert edge_label(into_loss) == (0, "(4, 3)")  # logits: input 0 of the cross-entropy
    # one line each, so the position and the shape cannot run together ("0(4, 3)")
    assert edge_lines(into_loss) == ["input 0", "(4, 3)"]
    assert len(collapsed.edges) == 7  # images->fc1->relu->h->fc2->ce<-labels, ce->loss


def test_collapse_keeps_each_input_position_into_an_op_outside_the_box():
    x = Tensor(np.ones((2, 2)), requires_grad=True, name="x")
    with module_scope("encoder"):
        h = x.tanh()
    picture = read(to_dot(h @ h, collapse=True))
    (box,) = [key for key in picture.nodes if picture.kind(key) == "module"]
    (matmul,) = picture.ops()
    assert position_labels(picture, matmul) == [(box, 0), (box, 1)]


def test_collapse_keeps_outer_modules_as_clusters_and_outputs_visible():
    x = Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    with module_scope("encoder"):
        with module_scope("encoder.0"):
            h = x.tanh()
        with module_scope("encoder.1"):
            out = h.sigmoid()
    out.name = "out"
    picture = read(to_dot(out, collapse=True))
    (encoder,) = picture.clusters
    assert encoder.label == "encoder"
    inside = sorted(picture.text(key) for key in encoder.nodes)
    assert inside == ["encoder.0 tanh", "encoder.1 sigmoid", "out (2, 3) float64"]
    assert picture.kind(picture.named("out")) == "output"  # not hidden in encoder.1's box


# ----- gradient checks -------------------------------------------------------------------
def stand_in_check(tensor, passed, **numbers):
    report = None if passed else SimpleNamespace(input_index=0, input_element=(1,), **numbers)
    return SimpleNamespace(op=tensor.op, output=tensor, passed=passed, report=report)


def test_checked_nodes_are_painted_red_with_their_error_or_green():
    x = Tensor([0.5, -0.5], requires_grad=True, name="x")
    h = x.tanh()
    y = (h * h).sum()
    failed = stand_in_check(h, False, analytic=1.5, numeric=1.0, abs_error=0.5, rel_error=0.5)
    picture = read(to_dot(y, checks=[failed, stand_in_check(y, True)]))
    (tanh,) = picture.find("tanh")
    assert picture.nodes[tanh]["fillcolor"] == STYLES["check failed"]["fillcolor"]
    assert "gradient WRONG (input 0 [1]) analytic 1.5 numeric 1 abs err 0.5 rel err 0.5" in (
        picture.text(tanh)
    )
    (total,) = picture.find("sum")
    assert picture.nodes[total]["fillcolor"] == STYLES["check passed"]["fillcolor"]
    (mul,) = picture.find("mul")
    assert picture.kind(mul) == "op"
    legend = plain(picture.graph["label"])
    assert "gradient check failed" in legend and "gradient check passed" in legend


def test_a_check_whose_backward_raised_shows_the_error():
    x = Tensor([0.5, -0.5], requires_grad=True, name="x")
    y = x.tanh()
    check = SimpleNamespace(op=y.op, output=y, passed=False, report=None, error="ValueError: bad")
    picture = read(to_dot(y, checks=[check]))
    (tanh,) = picture.find("tanh")
    assert picture.text(tanh) == "tanh backward raised ValueError: bad"
    assert picture.nodes[tanh]["color"] == STYLES["check failed"]["color"]


def test_a_collapsed_module_with_a_failed_check_is_red():
    loss = mlp_loss()
    linear = loss.op.inputs[0]  # fc2's output
    checks = [stand_in_check(linear, False, analytic=2.0, numeric=1.0, abs_error=1, rel_error=1)]
    picture = read(to_dot(loss, collapse=True, checks=checks))
    (fc2,) = picture.find("fc2.weight")
    assert picture.nodes[fc2]["fillcolor"] == STYLES["check failed"]["fillcolor"]
    assert "gradient WRONG in linear" in picture.text(fc2)


def test_checks_from_another_graph_are_refused():
    o, _ = neuron()
    other, _ = neuron()
    with pytest.raises(ValueError, match="not in this graph"):
        to_dot(o, checks=[stand_in_check(other, True)])


def test_a_planted_wrong_backward_is_found_and_drawn_red():
    class ScaledTanh(minigrad_ops.Tanh, register=False):
        def backward(self, grad, out, a):
            return (grad * (1 - out * out) * 1.5,)

    x = Tensor(np.array([0.3, -0.2, 0.7]), requires_grad=True, name="x")
    h = ScaledTanh.apply(x * 2.0)
    loss = (h * h).sum()
    checks = locate.locate_gradient_errors(loss)
    picture = read(to_dot(loss, checks=checks))
    red = [k for k in picture.nodes if "fillcolor" in picture.nodes[k]]
    red = [k for k in red if picture.nodes[k]["fillcolor"] == STYLES["check failed"]["fillcolor"]]
    assert [picture.text(key).split(" ")[0] for key in red] == ["tanh"]
    assert "analytic" in picture.text(red[0])


# ----- gradients of gradients and deep graphs --------------------------------------------
def test_the_graph_of_a_second_derivative_can_be_drawn():
    x = Tensor(0.5, requires_grad=True, name="x", dtype=np.float64)
    x.tanh().backward(create_graph=True)
    first = x.grad
    x.zero_grad()
    first.backward(create_graph=True)
    second = x.grad
    second.name = "d2y"
    picture = read(to_dot(second, show_values=True))
    tensors_count, ops_count, edges = count_graph(second)
    assert len(picture.nodes) == tensors_count + ops_count
    assert len(picture.ops()) == ops_count > 3
    assert len(picture.edges) == edges
    expected = -2 * np.tanh(0.5) * (1 - np.tanh(0.5) ** 2)
    assert picture.text(picture.named("d2y")) == f"d2y scalar float64 data {expected:.4g}"
    assert picture.find("tanh")  # the forward op is part of the gradient's graph


def test_several_outputs_share_their_common_graph_and_a_leaf_can_be_drawn():
    o, (x1, x2, w1, w2, b) = neuron()
    picture = read(to_dot(o, o.op.inputs[0] * 2.0, w1))
    tensors_count, ops_count, edges = count_graph(o)
    assert len(picture.nodes) == tensors_count + ops_count + 3  # the constant, mul, its output
    assert len(picture.edges) == edges + 3
    assert picture.kind(picture.named("w1")) == "output"  # a leaf passed in is an output
    alone = read(to_dot(w1))
    assert [alone.text(key) for key in alone.nodes] == ["w1 scalar float32"]
    assert not alone.edges


def test_an_op_output_whose_requires_grad_was_switched_off_draws_with_its_inputs():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    w = Tensor([3.0, 4.0], requires_grad=True, name="w")
    h = x.tanh()
    h.requires_grad = False  # backward stops at h; the picture still shows where h came from
    picture = read(to_dot(h * w))
    assert sorted(picture.text(key) for key in picture.ops()) == ["mul", "tanh"]
    assert len(picture.edges) == 5


def test_a_chain_of_5000_ops_draws_without_recursion():
    x = Tensor(0.1, requires_grad=True, name="x")
    y = x
    for _ in range(5000):
        y = y.tanh()
    picture = read(to_dot(y))
    assert len(picture.nodes) == 10001
    assert len(picture.edges) == 10000


def test_to_dot_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match="at least one Tensor"):
        to_dot()
    with pytest.raises(TypeError, match="expected Tensors, got ndarray"):
        to_dot(np.ones(3))


# ----- the backward trace ----------------------------------------------------------------
def test_trace_backward_leaves_the_same_grads_as_backward():
    o, leaves = neuron()
    trace_backward(o)
    twin, twin_leaves = neuron()
    twin.backward()
    for traced, plain_leaf in zip(leaves, twin_leaves):
        assert (traced.grad is None) == (plain_leaf.grad is None)
        if traced.grad is not None:
            np.testing.assert_array_equal(traced.grad.data, plain_leaf.grad.data)


def test_trace_records_each_node_in_backprop_order_with_its_gradients():
    o, (x1, x2, w1, w2, b) = neuron()
    trace = trace_backward(o)
    assert [step.tensor.op.name for step in trace] == ["tanh", "add", "add", "mul", "mul"]
    first = trace.steps[0]
    assert first.upstream.item() == 1.0
    assert first.sent[0].grad.item() == pytest.approx(1 - o.item() ** 2)
    mul_w1 = next(step for step in trace if any(t is w1 for t in step.tensor.op.inputs))
    assert mul_w1.sent[0].grad is None  # x1 needs no gradient
    assert mul_w1.sent[1].grad.item() == pytest.approx(0.5 * 2.0, rel=1e-5)
    assert mul_w1.sent[1].into_grad


def test_for_scalars_the_table_shows_the_local_derivative_of_the_chain_rule():
    o, (x1, x2, w1, w2, b) = neuron()
    lines = str(trace_backward(o)).splitlines()
    assert lines[1].split() == ["step", "node", "upstream", "grad", "input", "local"] + [
        "grad",
        "sent",
        "note",
    ]
    tanh_row = lines[3].split()
    assert tanh_row[:4] == ["1", "o", "=", "tanh"]
    assert float(tanh_row[-2]) == pytest.approx(1 - o.item() ** 2, rel=1e-3)  # local
    (w1_row,) = [line for line in lines if "1: w1 ()" in line]
    assert w1_row.split()[3:6] == ["2", "1", "becomes"]  # d(x1*w1)/dw1 = x1 = 2; 0.5 * 2 = 1


def test_trace_marks_where_gradients_accumulate():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    h = x.tanh()
    h.name = "h"
    y = (h * 3.0 + h).sum()  # h feeds two ops: its gradient is a sum
    trace = trace_backward(y)
    to_h = [sent for step in trace for sent in step.sent if sent.input is h]
    assert [sent.contribution for sent in to_h] == [1, 2]
    assert [sent.accumulates for sent in to_h] == [False, True]
    assert "gradient += (contribution 2)" in str(trace)


def test_trace_notes_a_gradient_added_to_an_earlier_backward():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    (x * 2.0).sum().backward()
    trace = trace_backward((x * 2.0).sum())
    assert trace.steps[-1].sent[0].onto_earlier_grad
    assert "added to .grad from an earlier backward" in str(trace)
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


def test_the_trace_prints_as_a_table_one_row_per_gradient_sent():
    loss = mlp_loss()
    trace = trace_backward(loss)
    lines = str(trace).splitlines()
    assert lines[0] == "backward of loss: 4 steps"  # loss, fc2, relu, fc1
    header = ["step", "node", "upstream", "grad", "input", "grad", "sent", "note"]
    assert lines[1].split() == header  # no scalar steps, so no "local" column
    rows = lines[3:]
    assert len(rows) == sum(len(step.sent) for step in trace)
    assert rows[0].startswith("1     loss = softmax_cross_entropy ()")
    assert "labels (4,)" in rows[1] and "no gradient needed" in rows[1]
    assert "-> step 2" in rows[0]
    assert any("fc1.weight (6, 5)" in row and "becomes its leaf .grad" in row for row in rows)
    assert "linear output in fc2 (4, 3)" in str(trace)


def test_a_traced_picture_numbers_the_edges_in_backward_order():
    o, _ = neuron()
    trace = trace_backward(o)
    picture = read(to_dot(o, trace=trace))
    numbered = [edge_label(attrs)[1] for _, _, attrs in picture.edges]
    numbers = sorted(int(label.split(":")[0].removeprefix("step ")) for label in numbered if label)
    assert numbers == [1, 2, 2, 3, 3, 4, 5]  # one per gradient sent; x1 and x2 get none
    (tanh,) = picture.find("tanh")
    into_tanh = [edge_label(attrs) for _, head, attrs in picture.edges if head == tanh]
    assert into_tanh == [(None, f"step 1: grad {1 - o.item() ** 2:.4g}")]
    (w1_edge,) = [attrs for tail, _, attrs in picture.edges if tail == picture.named("w1")]
    # x1 * w1 was recorded before x2 * w2, so backward reaches it after: w1 gets step 5
    assert edge_lines(w1_edge) == ["input 1", "step 5: grad 1"]
    n_key = picture.named("n")
    assert picture.text(n_key).endswith("grad 0.5")  # the trace knows intermediate gradients


def test_a_trace_of_another_graph_is_refused():
    o, _ = neuron()
    other, _ = neuron()
    with pytest.raises(ValueError, match="not in this graph"):
        to_dot(o, trace=trace_backward(other))


# ----- rendering -------------------------------------------------------------------------
def test_without_graphviz_rendering_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    o, _ = neuron()
    with pytest.raises(GraphvizNotFoundError) as error:
        draw(o, path=tmp_path / "o.svg")
    for hint in ("apt-get install graphviz", "brew install graphviz", "to_dot"):
        assert hint in str(error.value)
    assert to_dot(o).source.startswith("digraph")
    source = draw(o, path=tmp_path / "o.dot")
    assert open(source).read() == to_dot(o).source


def test_without_the_graphviz_package_the_error_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    o, _ = neuron()
    with pytest.raises(ImportError, match=r"pip install 'minigrad\[viz\]'"):
        to_dot(o)
    assert len(trace_backward(o)) == 5  # the trace needs no graphviz


def test_the_command_without_graphviz_exits_with_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="apt-get install graphviz"):
        viz_main(["--out", str(tmp_path)])


def test_draw_needs_a_known_extension(tmp_path):
    o, _ = neuron()
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        draw(o, path=tmp_path / "o.jpeg")


@pytest.mark.parametrize("name", ["graph.dot", pytest.param("graph.svg", marks=needs_dot)])
def test_a_render_failing_midway_leaves_no_half_picture_and_no_temporary_file(
    tmp_path, monkeypatch, name
):
    o, _ = neuron()
    target = tmp_path / name
    draw(o, path=target)
    before = target.read_bytes()
    write_picture = graph_module.write_picture

    def disk_full_midway(graph, fmt, destination):
        write_picture(graph, fmt, destination)
        written = destination.read_bytes()
        destination.write_bytes(written[: len(written) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(graph_module, "write_picture", disk_full_midway)
    for path in (target, tmp_path / f"new-{name}"):
        with pytest.raises(OSError, match="No space left on device"):
            draw(o, path=path, show_values=True)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == [name]


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@needs_dot
def test_rendered_svg_and_png_are_real_images(tmp_path):
    loss = mlp_loss()
    loss.backward()
    svg = tmp_path / "mlp.svg"
    assert draw(loss, path=svg, show_values=True) == str(svg)
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    texts = " ".join(el.text or "" for el in root.iter() if el.tag.endswith("text"))
    assert "fc1.weight" in texts and "softmax_cross_entropy" in texts
    assert 5_000 < svg.stat().st_size < 300_000
    png = tmp_path / "mlp.png"
    draw(loss, path=png, collapse=True)
    width, height = png_size(png)
    assert 300 < width < 5000 and 50 < height < 5000
    assert 5_000 < png.stat().st_size < 300_000
    pdf = tmp_path / "mlp.pdf"
    draw(loss, path=pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"


@needs_dot
def test_the_command_draws_the_examples(tmp_path, capsys):
    viz_main(["--out", str(tmp_path)])
    printed = capsys.readouterr().out.split()
    names = ["mlp_graph", "mlp_graph_expanded", "tanh_second_derivative"]
    names += ["neuron_backward", "softmax_overflow", "planted_bug", "anomaly"]
    assert printed == [str(tmp_path / f"{name}.svg") for name in names]
    collapsed = ET.parse(tmp_path / "mlp_graph.svg").getroot()
    texts = " ".join(el.text or "" for el in collapsed.iter() if el.tag.endswith("text"))
    assert "fc1" in texts and "fc2" in texts and "fc1.weight (784, 50)" in texts
    assert "one training step of a 784-50-10 MLP on 100 random digits" in texts
    assert "labels" in texts and "input 1" in texts  # the labels, named, enter the loss second
    bug = ET.parse(tmp_path / "planted_bug.svg").getroot()
    texts = " ".join(el.text or "" for el in bug.iter() if el.tag.endswith("text"))
    assert texts.count("gradient WRONG") == 1 and "gradient ok" in texts
    anomaly = ET.parse(tmp_path / "anomaly.svg").getroot()
    texts = " ".join(el.text or "" for el in anomaly.iter() if el.tag.endswith("text"))
    assert "exp overflowed: input max 1010" in texts and "where detect_anomaly stopped" in texts
