"""minigrad against PyTorch: every registered op's values, gradients and gradients of
gradients in float64, op by op and in random graphs, compared with torch.autograd.

torch is a test-only dependency, the `test-torch` extra; the library never imports it.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import OPS, Tensor
from minigrad.testing import graphs, op_cases

try:
    import torch
    import torch.nn.functional as torch_functional
except ImportError:  # every test below then fails, saying what to install
    torch = None

ALL_OPS = sorted(OPS)

# float64 on both sides: what is left is the rounding of a different order of operations.
RTOL = 1e-10
ATOL = 1e-12


@pytest.fixture(autouse=True, scope="module")
def torch_installed():
    """A differential test that cannot run must fail, not pass or skip unnoticed."""
    if torch is None:
        pytest.fail(
            "PyTorch is not installed, so minigrad cannot be compared with it: "
            'pip install -e ".[test-torch]" (the CPU build, test-only)',
            pytrace=False,
        )


# ----- each op, written in torch -----------------------------------------------------------
def reduction(name):
    """A NumPy reduction over `axis` (None: every axis; (): none) with keepdims, by the
    torch function `name` (looked up when called: torch may be missing), whose dim=()
    would reduce every axis."""

    def reduced(x, axis, keepdims):
        if axis == ():
            return x.clone()
        dim = tuple(range(x.ndim)) if axis is None else axis
        return getattr(torch, name)(x, dim=dim, keepdim=keepdims)

    return reduced


def torch_index(index):
    """A NumPy index for torch: arrays become tensors, NumPy ints Python ints."""
    if isinstance(index, tuple):
        return tuple(torch_index(part) for part in index)
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    if isinstance(index, np.integer):
        return int(index)
    return index


def clip(x, low, high):
    if low is None and high is None:  # torch.clamp refuses two missing bounds
        return x.clone()
    return torch.clamp(x, low, high)


def index_add(values, shape, index):
    """Zeros of `shape` with `values` added at `index`, repeats accumulating: torch's
    index_add at the flat positions the index picks."""
    size = math.prod(shape)
    positions = torch.arange(size).reshape(shape)[torch_index(index)]
    zeros = torch.zeros(size, dtype=values.dtype)
    return zeros.index_add(0, positions.reshape(-1), values.reshape(-1)).reshape(shape)


def mean_squared_error(y, target, reduction):
    """0.5 * sum((y - target)**2); "mean" divides by the first axis (a scalar is one);
    "none" sums each example's entries (the first axis is the examples)."""
    diff = y - target
    squares = 0.5 * diff * diff
    if reduction == "none":
        return squares if squares.ndim <= 1 else squares.flatten(1).sum(dim=1)
    examples = diff.shape[0] if diff.ndim else 1
    return {"sum": squares.sum(), "mean": squares.sum() / examples}[reduction]


def constant(array):
    """A param array (class or element weights) as a torch constant."""
    return None if array is None else torch.from_numpy(array)


def not_ignoring(ignore_index):
    """minigrad ignores no label unless told (it refuses a -100); torch's default is -100."""
    return -100 if ignore_index is None else ignore_index


def nll_loss(log_probs, labels, reduction, weight=None, ignore_index=None):
    return torch_functional.nll_loss(
        log_probs,
        labels,
        constant(weight),
        ignore_index=not_ignoring(ignore_index),
        reduction=reduction,
    )


def cross_entropy(logits, target, reduction, weight=None, label_smoothing=0.0, ignore_index=None):
    """Integer labels (N,) or probabilities (N, C), as minigrad takes them."""
    return torch_functional.cross_entropy(
        logits,
        target,
        constant(weight),
        ignore_index=not_ignoring(ignore_index),
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


def binary_cross_entropy(probs, targets, reduction, weight=None):
    """torch's binary_cross_entropy, written out: its own double backward adds 1e-12 to the
    probabilities, which is off by 1e-11 where second-order terms cancel. Written with
    torch.log, clamped at -100 as it does, every derivative is exact. tests/test_losses.py
    compares values and gradients with binary_cross_entropy itself."""
    losses = -(
        targets * torch.clamp(torch.log(probs), min=-100)
        + (1 - targets) * torch.clamp(torch.log1p(-probs), min=-100)
    )
    if weight is not None:
        losses = losses * constant(weight)
    return {"mean": losses.mean, "sum": losses.sum, "none": losses.clone}[reduction]()


def binary_cross_entropy_with_logits(logits, targets, reduction, weight=None, pos_weight=None):
    return torch_functional.binary_cross_entropy_with_logits(
        logits, targets, constant(weight), reduction=reduction, pos_weight=constant(pos_weight)
    )


def power(base, exponent):
    """base ** exponent. torch.pow's base gradient is where(exponent == 0, 0, ...), to avoid
    0 * 0**-1 (pytorch#8940), so its derivative in the exponent is 0 at exponent == 0, not
    1 / base. exp(exponent * log(base)) is the same function for base > 0, with every
    derivative right; torch.pow is kept for the rest."""
    positive = base > 0
    safe_base = torch.where(positive, base, torch.ones_like(base))  # no log(0) on any path
    return torch.where(positive, torch.exp(exponent * torch.log(safe_base)), base**exponent)


def statistic(name):
    """var or std with NumPy's ddof, as torch's correction."""

    def computed(x, axis, ddof, keepdims):
        dim = tuple(range(x.ndim)) if axis is None else axis
        return getattr(torch, name)(x, dim=dim, correction=ddof, keepdim=keepdims)

    return computed


def prod(x, axis, keepdims):
    """torch.prod takes one dim: reduce the axes one at a time, the last first."""
    dims = range(x.ndim) if axis is None else [axis] if isinstance(axis, int) else axis
    for dim in sorted({d % x.ndim for d in dims}, reverse=True):
        x = torch.prod(x, dim=dim, keepdim=keepdims)
    return x


def cumsum(x, axis):
    """NumPy's axis=None runs over the flattened entries."""
    return torch.cumsum(x.reshape(-1), 0) if axis is None else torch.cumsum(x, axis)


def squeeze(x, axis):
    return torch.squeeze(x) if axis is None else torch.squeeze(x, axis)


def repeat(x, repeats, axis):
    """np.repeat is torch's repeat_interleave (torch.repeat is np.tile)."""
    return torch.repeat_interleave(x, repeats, dim=axis)


def pad(x, pad_width):
    """np.pad's (before, after) per axis, first axis first, as torch's flat list from the
    last axis."""
    pairs = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    return torch_functional.pad(x, [int(w) for pair in pairs[::-1] for w in pair])


def where(a, b, condition):
    # NumPy's where reads any condition by truth value.
    return torch.where(torch.from_numpy(np.asarray(condition, dtype=bool)), a, b)


def conv2d(x, weight, bias, stride, padding, dilation, groups):
    return torch_functional.conv2d(x, weight, bias, stride, padding, dilation, groups)


def im2col(x, kernel, stride, padding, dilation):
    """minigrad's columns are torch's unfold: (N, C*KH*KW, OH*OW)."""
    return torch_functional.unfold(x, kernel, dilation=dilation, padding=padding, stride=stride)


def col2im(columns, output_size, kernel, stride, padding, dilation):
    return torch_functional.fold(
        columns, output_size, kernel, dilation=dilation, padding=padding, stride=stride
    )


IN_TORCH = {
    "abs": lambda x: torch.abs(x),
    "avg_pool2d": lambda x, kernel, stride, padding: torch_functional.avg_pool2d(
        x, kernel, stride, padding
    ),
    "add": lambda a, b: a + b,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "broadcast_to": lambda x, shape: torch.broadcast_to(x, shape),
    "clip": clip,
    "col2im": col2im,
    "concatenate": lambda *xs, axis: torch.cat(xs, dim=axis),
    "conv2d": conv2d,
    "cos": lambda x: torch.cos(x),
    "cumsum": cumsum,
    "div": lambda a, b: a / b,
    "einsum": lambda *xs, subscripts: torch.einsum(subscripts, *xs),
    "elu": lambda x, alpha: torch_functional.elu(x, alpha=alpha),
    "erf": lambda x: torch.erf(x),
    "exp": lambda x: torch.exp(x),
    "expm1": lambda x: torch.expm1(x),
    "flatten": lambda x, start_axis: torch.flatten(x, start_dim=start_axis),
    "gelu": lambda x: torch_functional.gelu(x),
    "gelu_tanh": lambda x: torch_functional.gelu(x, approximate="tanh"),
    "getitem": lambda x, index: x[torch_index(index)],
    "im2col": im2col,
    "index_add": index_add,
    "leaky_relu": lambda x, negative_slope: torch_functional.leaky_relu(x, negative_slope),
    "linear": lambda x, weight, bias: torch_functional.linear(x, weight.mT, bias),
    "log": lambda x: torch.log(x),
    "log1p": lambda x: torch.log1p(x),
    "log_sigmoid": lambda x: torch_functional.logsigmoid(x),
    "log_softmax": lambda x, axis: torch.log_softmax(x, dim=axis),
    "matmul": lambda a, b: torch.matmul(a, b),
    # amax/amin, not max/min: like minigrad, they share the gradient among ties.
    "max": reduction("amax"),
    "maximum": lambda a, b: torch.maximum(a, b),
    # first largest entry of each window, as minigrad; drawn entries never tie
    "max_pool2d": lambda x, kernel, stride, padding: torch_functional.max_pool2d(
        x, kernel, stride, padding
    ),
    "mean": reduction("mean"),
    "mean_squared_error": mean_squared_error,
    "min": reduction("amin"),
    "minimum": lambda a, b: torch.minimum(a, b),
    "mul": lambda a, b: a * b,
    "neg": lambda x: -x,
    "nll_loss": nll_loss,
    "norm": lambda x, ord, axis, keepdims: torch.linalg.vector_norm(
        x, ord=ord, dim=axis, keepdim=keepdims
    ),
    "pad": pad,
    "pow": power,
    "prod": prod,
    "relu": lambda x: torch.relu(x),
    "repeat": repeat,
    "reshape": lambda x, shape: x.reshape(shape),
    "sigmoid": lambda x: torch.sigmoid(x),
    "silu": lambda x: torch_functional.silu(x),
    "sin": lambda x: torch.sin(x),
    "softmax": lambda x, axis: torch.softmax(x, dim=axis),
    "softplus": lambda x: torch_functional.softplus(x),
    "softmax_cross_entropy": cross_entropy,
    "sqrt": lambda x: torch.sqrt(x),
    "squeeze": squeeze,
    "stack": lambda *xs, axis: torch.stack(xs, dim=axis),
    "std": statistic("std"),
    "sub": lambda a, b: a - b,
    "sum": reduction("sum"),
    "tanh": lambda x: torch.tanh(x),
    "tile": lambda x, reps: torch.tile(x, (reps,) if isinstance(reps, int) else reps),
    "transpose": lambda x, axes: x.permute(axes),
    "unsqueeze": lambda x, axis: torch.unsqueeze(x, axis),
    "var": statistic("var"),
    "where": where,
}


def test_every_registered_op_has_a_torch_mapping():
    missing = sorted(set(OPS) - set(IN_TORCH))
    assert not missing, f"add the torch equivalent of {missing} to IN_TORCH"


def test_every_torch_mapping_is_a_registered_op():
    stale = sorted(set(IN_TORCH) - set(OPS))
    assert not stale, f"IN_TORCH maps ops that are no longer registered: {stale}; remove them"


# ----- values and derivatives, the same way on each side ----------------------------------
@dataclass
class Derivatives:
    """What both sides must agree on, for a scalar of some inputs. `first[i]` is
    d scalar / d input i; `second[i]` is d (sum_j first[j] * second_order_weights(j)) /
    d input i. Zeros where there is no path (torch's None, minigrad's None)."""

    value: np.ndarray
    first: list[np.ndarray]
    second: list[np.ndarray]


def uneven_weights(shape, start=1.0):
    """Fixed, uneven weights: a plain sum would send the same gradient to every element
    and hide a transposed or permuted backward."""
    size = math.prod(shape)
    return np.round(1.5 + np.cos(start + np.arange(size)), 2).reshape(shape)


def second_order_weights(position, shape):
    return uneven_weights(shape, start=2.0 + position)


def to_numpy(tensor):
    if isinstance(tensor, Tensor):
        return tensor.data
    # force: a gradient that is zero by construction is a ZeroTensor, which .numpy() refuses
    return tensor.detach().numpy(force=True)


def to_torch(tensor):
    return torch.from_numpy(tensor.data.copy()).requires_grad_(tensor.requires_grad)


def minigrad_gradients(output, inputs, create_graph):
    return minigrad.gradients(output, inputs, create_graph=create_graph)


def torch_gradients(output, inputs, create_graph):
    return torch.autograd.grad(output, inputs, create_graph=create_graph, allow_unused=True)


def derivatives(scalar, wanted, differentiate, constant):
    """`scalar`'s value and derivatives, by `differentiate` (minigrad_gradients or
    torch_gradients) with the library's `constant` tensors for the weights."""
    first = differentiate(scalar, wanted, create_graph=True)
    weighted = [
        (grad * constant(second_order_weights(position, grad.shape))).sum()
        for position, grad in enumerate(first)
        if grad is not None
    ]
    total = sum(weighted[1:], weighted[0]) if weighted else None
    second = [None] * len(wanted)
    if total is not None and total.requires_grad:  # else no gradient depends on an input
        second = differentiate(total, wanted, create_graph=False)
    return Derivatives(to_numpy(scalar), as_arrays(first, wanted), as_arrays(second, wanted))


def as_arrays(grads, wanted):
    return [np.zeros(tuple(t.shape)) if g is None else to_numpy(g) for g, t in zip(grads, wanted)]


def assert_close(actual, expected, what):
    np.testing.assert_allclose(
        actual, expected, rtol=RTOL, atol=ATOL, strict=True, err_msg=f"{what}: minigrad vs torch"
    )


def assert_same_derivatives(scalar, inputs, torch_scalar, torch_inputs, subject):
    """The minigrad scalar of `inputs` against the torch one of `torch_inputs`: value,
    first order (by a plain backward, on arrays, and a recorded one, on Tensors) and second
    order."""
    wanted = [t for t in inputs if t.requires_grad]
    # The plain backward first: differentiating the recorded gradients releases the graph.
    plain = as_arrays(minigrad.gradients(scalar, wanted, retain_graph=True), wanted)
    ours = derivatives(scalar, wanted, minigrad_gradients, Tensor)
    torch_wanted = [t for t in torch_inputs if t.requires_grad]
    theirs = derivatives(torch_scalar, torch_wanted, torch_gradients, torch.from_numpy)
    assert_close(ours.value, theirs.value, f"{subject}: value")
    for position, (by_arrays, by_tensors, expected) in enumerate(
        zip(plain, ours.first, theirs.first)
    ):
        assert_close(by_arrays, expected, f"{subject}: gradient of input {position}")
        assert_close(by_tensors, expected, f"{subject}: create_graph gradient of input {position}")
    for position, (actual, expected) in enumerate(zip(ours.second, theirs.second)):
        assert_close(actual, expected, f"{subject}: second-order gradient of input {position}")


def check_against_torch(name, inputs, params):
    """The op on `inputs` in minigrad and in torch: outputs, then the derivatives of the
    outputs' weighted sum."""
    torch_inputs = [to_torch(t) for t in inputs]
    ours = OPS[name].apply(*inputs, **params)
    theirs = IN_TORCH[name](*torch_inputs, **params)
    assert ours.shape == tuple(theirs.shape), f"{name}: output shape, minigrad vs torch"
    assert_close(ours.data, to_numpy(theirs), f"{name}: output")
    weights = uneven_weights(ours.shape)
    assert_same_derivatives(
        (ours * Tensor(weights)).sum(),
        inputs,
        (theirs * torch.from_numpy(weights)).sum(),
        torch_inputs,
        name,
    )


# ----- the tests ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_OPS)
@given(data=st.data())
def test_op_matches_torch(name, data):
    case = data.draw(op_cases(OPS[name]), label="case")
    check_against_torch(name, case.inputs, case.params)


# Params op_cases does not draw (it uses the op's `examples`). Each is a subset of the
# drawn bounds, so the values op_cases keeps off the kinks stay off them.
UNDRAWN_PARAMS = [
    ("clip", {"low": None}),
    ("clip", {"high": None}),
    ("clip", {"low": None, "high": None}),
]


@pytest.mark.parametrize(("name", "override"), UNDRAWN_PARAMS)
@settings(max_examples=10)
@given(data=st.data())
def test_op_matches_torch_with_params_op_cases_does_not_draw(name, override, data):
    case = data.draw(op_cases(OPS[name]), label="case")
    check_against_torch(name, case.inputs, {**case.params, **override})


def torch_graph(graph, leaves):
    """`Graph.__call__` in torch: the steps through IN_TORCH, then the weighted sum of the
    outputs, term by term in the same order."""
    values = {leaf.name: tensor for leaf, tensor in zip(graph.leaves, leaves)}
    for step in graph.steps:
        values[step.name] = IN_TORCH[step.op.name](*(values[a] for a in step.args), **step.params)
    total = None
    for name, weights in zip(graph.outputs, graph.weights):
        term = (values[name] * torch.from_numpy(weights)).sum()
        total = term if total is None else total + term
    return total


@settings(max_examples=200)
@given(graph=graphs())
def test_random_graphs_match_torch(graph):
    inputs = graph.inputs()
    torch_inputs = [to_torch(t) for t in inputs]
    assert_same_derivatives(
        graph(*inputs), inputs, torch_graph(graph, torch_inputs), torch_inputs, "graph"
    )
