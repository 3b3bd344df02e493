"""Convolution and pooling: against the definition written as plain Python loops, against
PyTorch, against central differences (first and second order), and their messages."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_functional

import minigrad
import minigrad.functional as F
from minigrad import OpError, Tensor, gradcheck

RNG = np.random.default_rng(0)


def pair(value):
    return tuple(value) if isinstance(value, tuple) else (value, value)


# ----- the definitions, loop by loop: values and the chain rule for an upstream gradient -----
def loop_conv2d(x, weight, bias, upstream, stride=1, padding=0, dilation=1, groups=1):
    """Value of the convolution and the gradients of sum(out * upstream), one multiply-add
    at a time."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, channels, height, width = x.shape
    filters, per_group, kh, kw = weight.shape
    padded = np.zeros((n, channels, height + 2 * ph, width + 2 * pw))
    padded[:, :, ph : ph + height, pw : pw + width] = x
    oh = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, filters, oh, ow))
    grad_padded, grad_weight = np.zeros_like(padded), np.zeros_like(weight)
    grad_bias = np.zeros(filters)
    for b, f, i, j in itertools.product(range(n), range(filters), range(oh), range(ow)):
        group = f // (filters // groups)
        total, g = bias[f], upstream[b, f, i, j]
        for c, u, v in itertools.product(range(per_group), range(kh), range(kw)):
            row, column, channel = i * sh + u * dh, j * sw + v * dw, group * per_group + c
            total += weight[f, c, u, v] * padded[b, channel, row, column]
            grad_weight[f, c, u, v] += g * padded[b, channel, row, column]
            grad_padded[b, channel, row, column] += g * weight[f, c, u, v]
        out[b, f, i, j] = total
        grad_bias[f] += g
    grad_x = grad_padded[:, :, ph : ph + height, pw : pw + width]
    return out, grad_x, grad_weight, grad_bias


def loop_pool(x, upstream, kernel, stride, padding, kind):
    """max (gradient to the first largest entry, row by row) or mean (padding counts as
    zeros) of each window, and the gradient of sum(out * upstream)."""
    (kh, kw), (ph, pw) = pair(kernel), pair(padding)
    sh, sw = pair(kernel if stride is None else stride)
    n, channels, height, width = x.shape
    fill = -np.inf if kind == "max" else 0.0
    padded = np.full((n, channels, height + 2 * ph, width + 2 * pw), fill)
    padded[:, :, ph : ph + height, pw : pw + width] = x
    oh, ow = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    out, grad_padded = np.zeros((n, channels, oh, ow)), np.zeros_like(padded)
    for b, c, i, j in itertools.product(range(n), range(channels), range(oh), range(ow)):
        cells = [(i * sh + u, j * sw + v) for u in range(kh) for v in range(kw)]
        values = [padded[b, c, r, s] for r, s in cells]
        if kind == "max":
            first = values.index(max(values))
            out[b, c, i, j] = values[first]
            grad_padded[b, c, cells[first][0], cells[first][1]] += upstream[b, c, i, j]
        else:
            out[b, c, i, j] = sum(values) / len(values)
            for r, s in cells:
                grad_padded[b, c, r, s] += upstream[b, c, i, j] / len(values)
    return out, grad_padded[:, :, ph : ph + height, pw : pw + width]


# (input shape, weight shape, stride, padding, dilation, groups)
CONV_CASES = {
    "batch 1, one channel": ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, 1, 1),
    "stride 2, odd sizes": ((2, 3, 7, 5), (4, 3, 3, 2), 2, 0, 1, 1),
    "padding": ((2, 2, 4, 6), (3, 2, 3, 3), 1, 1, 1, 1),
    "pairs": ((1, 3, 6, 7), (2, 3, 2, 3), (2, 1), (1, 0), (1, 2), 1),
    "dilation and padding": ((2, 1, 7, 6), (2, 1, 3, 3), 1, 2, 2, 1),
    "stride leaves rows out": ((1, 2, 6, 6), (2, 2, 2, 2), 3, 0, 1, 1),
    "groups": ((2, 4, 5, 5), (6, 2, 3, 3), 1, 1, 1, 2),
    "depthwise": ((1, 3, 5, 4), (3, 1, 2, 2), 1, 0, 1, 3),
    "1x1 kernel": ((2, 3, 4, 4), (5, 3, 1, 1), 1, 0, 1, 1),
    "kernel the size of the input": ((2, 2, 3, 3), (4, 2, 3, 3), 1, 0, 1, 1),
}

# (input shape, kernel, stride, padding)
POOL_CASES = {
    "2x2, stride 2": ((2, 3, 6, 6), 2, None, 0),
    "odd sizes leave an edge out": ((1, 2, 7, 5), 2, None, 0),
    "overlapping": ((2, 1, 5, 6), 3, 1, 0),
    "padding": ((1, 2, 5, 5), 3, 2, 1),
    "pairs": ((2, 2, 6, 7), (2, 3), (1, 2), (1, 1)),
    "1x1": ((1, 1, 3, 4), 1, None, 0),
    "batch 1, one channel, whole image": ((1, 1, 4, 4), 4, None, 0),
}


def conv_inputs(x_shape, w_shape):
    x = RNG.standard_normal(x_shape)
    weight = RNG.standard_normal(w_shape)
    return x, weight, RNG.standard_normal(w_shape[0])


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_matches_the_loops_of_its_definition(case):
    x_shape, w_shape, stride, padding, dilation, groups = case
    x, weight, bias = conv_inputs(x_shape, w_shape)
    inputs = [Tensor(a, requires_grad=True) for a in (x, weight, bias)]
    out = F.conv2d(*inputs, stride=stride, padding=padding, dilation=dilation, groups=groups)
    upstream = RNG.standard_normal(out.shape)
    expected = loop_conv2d(x, weight, bias, upstream, stride, padding, dilation, groups)
    np.testing.assert_allclose(out.data, expected[0], rtol=1e-12, atol=1e-12)
    out.backward(upstream)
    for tensor, gradient in zip(inputs, expected[1:]):
        np.testing.assert_allclose(tensor.grad.data, gradient, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_pooling_matches_the_loops_of_its_definition(case, kind):
    shape, kernel, stride, padding = case
    x = Tensor(RNG.standard_normal(shape), requires_grad=True)
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    out = pool(x, kernel, stride, padding)
    upstream = RNG.standard_normal(out.shape)
    value, gradient = loop_pool(x.data, upstream, kernel, stride, padding, kind)
    np.testing.assert_allclose(out.data, value, rtol=1e-12, atol=1e-12)
    out.backward(upstream)
    np.testing.assert_allclose(x.grad.data, gradient, rtol=1e-12, atol=1e-12)


# ----- against PyTorch, float64 ---------------------------------------------------------------
def torch_leaves(*arrays):
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def assert_same_values_and_gradients(ours, theirs, our_inputs, their_inputs):
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = RNG.standard_normal(ours.shape)
    ours.backward(upstream)
    theirs.backward(torch.from_numpy(upstream))
    for mine, torch_input in zip(our_inputs, their_inputs):
        np.testing.assert_allclose(mine.grad.data, torch_input.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no bias"])
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_matches_torch(case, with_bias):
    x_shape, w_shape, stride, padding, dilation, groups = case
    arrays = conv_inputs(x_shape, w_shape)[: 3 if with_bias else 2]
    inputs = [Tensor(a, requires_grad=True) for a in arrays]
    leaves = torch_leaves(*arrays)
    ours = F.conv2d(*inputs, stride=stride, padding=padding, dilation=dilation, groups=groups)
    bias = leaves[2] if with_bias else None
    theirs = torch_functional.conv2d(leaves[0], leaves[1], bias, stride, padding, dilation, groups)
    assert_same_values_and_gradients(ours, theirs, inputs, leaves)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_pooling_matches_torch(case, kind):
    shape, kernel, stride, padding = case
    x = RNG.standard_normal(shape)
    ours_x, (theirs_x,) = Tensor(x, requires_grad=True), torch_leaves(x)
    pools = {"max": (F.max_pool2d, torch_functional.max_pool2d)}
    pools["avg"] = (F.avg_pool2d, torch_functional.avg_pool2d)
    ours, theirs = pools[kind]
    assert_same_values_and_gradients(
        ours(ours_x, kernel, stride, padding),
        theirs(theirs_x, kernel, stride, padding),
        [ours_x],
        [theirs_x],
    )


def test_im2col_is_torchs_unfold_and_col2im_its_fold():
    x = RNG.standard_normal((2, 3, 6, 5))
    window = {"kernel": (2, 3), "stride": (2, 1), "padding": 1, "dilation": (1, 2)}
    columns = F.im2col(Tensor(x), **window)
    torch_window = {"dilation": (1, 2), "padding": 1, "stride": (2, 1)}
    unfolded = torch_functional.unfold(torch.from_numpy(x), (2, 3), **torch_window)
    np.testing.assert_array_equal(columns.data, unfolded.numpy())
    y = RNG.standard_normal(columns.shape)
    folded = torch_functional.fold(torch.from_numpy(y), (6, 5), (2, 3), **torch_window)
    np.testing.assert_allclose(F.col2im(Tensor(y), (6, 5), **window).data, folded.numpy())


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), y> = <x, col2im(y)>: each is the other's backward."""
    x = RNG.standard_normal((2, 2, 7, 6))
    window = {"kernel": 3, "stride": 2, "padding": (1, 0), "dilation": (2, 1)}
    columns = F.im2col(Tensor(x), **window).data
    y = RNG.standard_normal(columns.shape)
    back = F.col2im(Tensor(y), (7, 6), **window).data
    np.testing.assert_allclose(np.vdot(columns, y), np.vdot(x, back), rtol=1e-12)


# ----- central differences, first and second order ---------------------------------------------
# Smaller than CONV_CASES: a second-order check costs a Jacobian of the gradient.
SECOND_ORDER_CASES = {
    "pairs": ((1, 2, 4, 5), (2, 2, 2, 3), (2, 1), (1, 0), (1, 2), 1),
    "dilation and padding": ((2, 1, 5, 5), (2, 1, 2, 2), 1, 1, 2, 1),
    "groups": ((1, 4, 4, 4), (4, 2, 2, 2), 1, 1, 1, 2),
    "depthwise": ((1, 3, 4, 3), (3, 1, 2, 2), 1, 0, 1, 3),
}


@pytest.mark.parametrize("case", SECOND_ORDER_CASES.values(), ids=SECOND_ORDER_CASES.keys())
def test_conv2d_gradients_of_gradients_match_central_differences(case):
    x_shape, w_shape, stride, padding, dilation, groups = case
    inputs = [Tensor(a, requires_grad=True) for a in conv_inputs(x_shape, w_shape)]

    def conv(x, weight, bias):
        out = F.conv2d(x, weight, bias, stride, padding, dilation, groups)
        return (out * out).sum()  # not linear in x or weight alone: a real second derivative

    assert gradcheck(conv, inputs, order=2) is True


@pytest.mark.parametrize(
    "window",
    [
        {"kernel": 2},
        {"kernel": (3, 2), "stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)},
        {"kernel": 3, "stride": 1, "padding": 1, "dilation": 2},
    ],
)
def test_im2col_and_col2im_gradients_match_central_differences(window):
    x = Tensor(RNG.standard_normal((2, 2, 5, 4)), requires_grad=True)
    assert gradcheck(lambda x: F.im2col(x, **window), [x], order=2) is True
    columns = Tensor(RNG.standard_normal(F.im2col(x, **window).shape), requires_grad=True)
    assert gradcheck(lambda c: F.col2im(c, (5, 4), **window), [columns], order=2) is True


def test_a_conv_net_has_hessian_vector_products_as_in_torch():
    """conv -> relu -> max pool -> conv -> avg pool: second order through every new op."""
    x, w1 = RNG.standard_normal((2, 2, 8, 8)), RNG.standard_normal((3, 2, 3, 3))
    w2 = RNG.standard_normal((2, 3, 2, 2))
    vectors = [RNG.standard_normal(w.shape) for w in (w1, w2)]

    def net(functional, x, w1, w2):
        hidden = functional.max_pool2d(functional.relu(functional.conv2d(x, w1, padding=1)), 2)
        return (functional.avg_pool2d(functional.conv2d(hidden, w2), 3, 1, 1) ** 2).sum()

    ours = [Tensor(w, requires_grad=True) for w in (w1, w2)]
    grads = minigrad.gradients(net(F, Tensor(x), *ours), ours, create_graph=True)
    along = sum((g * Tensor(v)).sum() for g, v in zip(grads, vectors))
    hessian_vector = minigrad.gradients(along, ours)
    theirs = torch_leaves(w1, w2)
    torch_grads = torch.autograd.grad(
        net(torch_functional, torch.from_numpy(x), *theirs), theirs, create_graph=True
    )
    torch_along = sum((g * torch.from_numpy(v)).sum() for g, v in zip(torch_grads, vectors))
    for mine, expected in zip(hessian_vector, torch.autograd.grad(torch_along, theirs)):
        np.testing.assert_allclose(mine.data, expected.numpy(), rtol=1e-9, atol=1e-12)


# ----- what the ops promise beyond the values ----------------------------------------------------
def test_conv2d_fused_and_composed_twins_agree():
    x_shape, w_shape, stride, padding, dilation, groups = CONV_CASES["groups"]
    arrays = conv_inputs(x_shape, w_shape)
    fused, composed = ([Tensor(a, requires_grad=True) for a in arrays] for _ in range(2))
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    upstream = RNG.standard_normal(F.conv2d(*fused, **params).shape)
    F.conv2d(*fused, **params).backward(upstream)
    F.conv2d_composed(*composed, **params).backward(upstream)
    np.testing.assert_allclose(
        F.conv2d(*fused, **params).data, F.conv2d_composed(*composed, **params).data, rtol=1e-12
    )
    for a, b in zip(fused, composed):
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-12, atol=1e-12)


def test_conv2d_in_slices_of_the_batch_is_conv2d_in_one(monkeypatch):
    """Big batches are convolved a few images at a time (their columns stay small): values,
    gradients and gradients of gradients do not depend on where the batch is cut."""
    x_shape, w_shape, stride, padding, dilation, groups = CONV_CASES["groups"]
    arrays = conv_inputs((3, *x_shape[1:]), w_shape)
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    whole = [Tensor(a, requires_grad=True) for a in arrays]
    upstream = RNG.standard_normal(F.conv2d(*whole, **params).shape)
    F.conv2d(*whole, **params).backward(upstream)
    monkeypatch.setattr(minigrad.ops.conv, "COLUMNS_BYTES", 1)  # one image per slice
    sliced = [Tensor(a, requires_grad=True) for a in arrays]
    out = F.conv2d(*sliced, **params)
    out.backward(upstream)
    np.testing.assert_allclose(out.data, F.conv2d_composed(*arrays, **params).data, rtol=1e-12)
    for a, b in zip(sliced, whole):
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-12, atol=1e-12)

    def conv(x, weight, bias):
        out = F.conv2d(x, weight, bias, **params)
        return (out * out).sum()

    assert gradcheck(conv, sliced, order=2) is True


def test_max_pool_sends_a_tie_to_the_first_largest_entry_row_by_row():
    x = Tensor(np.array([[[[1.0, 3.0, 2.0, 2.0], [3.0, 0.0, 2.0, 2.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0, 1, 1, 0], [0, 0, 0, 0]]]])
    leaf = torch.tensor(x.data, requires_grad=True)
    torch_functional.max_pool2d(leaf, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, leaf.grad.numpy())


def test_overlapping_max_windows_add_up_their_gradients():
    x = Tensor(np.array([[[[0.0, 5.0, 1.0]]]]), requires_grad=True)
    F.max_pool2d(x, (1, 2), stride=1).sum().backward()  # 5 wins both windows
    np.testing.assert_array_equal(x.grad.data, [[[[0, 2, 0]]]])


def test_conv_net_stays_float32_and_keeps_no_columns():
    images = RNG.random((4, 1, 8, 8), dtype=np.float32)
    weight = Tensor(RNG.standard_normal((3, 1, 3, 3)).astype(np.float32), requires_grad=True)
    bias = Tensor(np.zeros(3, np.float32), requires_grad=True)
    out = F.avg_pool2d(F.max_pool2d(F.conv2d(images, weight, bias).relu(), 2), 3)
    assert out.dtype == np.float32
    conv = out.op.inputs[0].op.inputs[0].op.inputs[0].op
    assert conv.saved is None  # backward makes the columns again, a slice of images at a time
    out.sum().backward()
    assert weight.grad.dtype == np.float32 and bias.grad.dtype == np.float32


def test_images_that_need_no_gradient_take_the_weights_dtype():
    weight = Tensor(np.ones((2, 1, 2, 2), np.float32), requires_grad=True)
    digits = (RNG.random((3, 1, 4, 4)) * 255).astype(np.uint8)  # load_mnist(normalize=False)
    assert F.conv2d(digits, weight).dtype == np.float32
    with pytest.warns(UserWarning, match="conv2d: the input is float64 but the weight is float32"):
        assert F.conv2d(digits.astype(np.float64), weight).dtype == np.float32


def test_an_empty_batch_convolves_and_pools_to_an_empty_batch():
    x = Tensor(np.zeros((0, 2, 5, 5)), requires_grad=True)
    weight = Tensor(RNG.standard_normal((3, 2, 3, 3)), requires_grad=True)
    out = F.max_pool2d(F.conv2d(x, weight, padding=1), 2)
    assert out.shape == (0, 3, 2, 2)
    out.sum().backward()
    assert x.grad.shape == x.shape and np.all(weight.grad.data == 0)


def test_conv2d_without_a_bias_is_conv2d_with_zeros():
    x, weight, _ = conv_inputs((2, 3, 5, 5), (4, 3, 3, 3))
    zeros = Tensor(np.zeros(4), requires_grad=True)
    with_zeros = F.conv2d(x, weight, zeros, padding=1)
    np.testing.assert_array_equal(F.conv2d(x, weight, padding=1).data, with_zeros.data)
    with_zeros.sum().backward()
    np.testing.assert_array_equal(zeros.grad.data, np.full(4, 25.0 * 2))


# ----- messages ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: F.conv2d(np.ones((2, 784)), np.ones((3, 1, 5, 5))),
            r"conv2d: the input must be a batch of images \(N, C, H, W\), got \(2, 784\); "
            r"flat rows .* x.reshape\(2, 1, 28, 28\)",
        ),
        (
            lambda: F.conv2d(np.ones((1, 28, 28)), np.ones((3, 1, 5, 5))),
            r"conv2d: .*got \(1, 28, 28\); for a single image add a batch axis",
        ),
        (
            lambda: F.conv2d(np.ones((2, 1, 8, 8)), np.ones((25, 30))),
            r"conv2d: weight must be \(filters, channels / groups, KH, KW\).*got shape \(25, 30\)",
        ),
        (
            lambda: F.conv2d(np.ones((2, 3, 8, 8)), np.ones((4, 2, 3, 3))),
            r"conv2d: the input \(2, 3, 8, 8\) has 3 channels, but the weight \(4, 2, 3, 3\) "
            r"with groups=1 takes weight.shape\[1\] \* groups = 2",
        ),
        (
            lambda: F.conv2d(np.ones((2, 3, 8, 8)), np.ones((3, 4, 3, 3))),
            r"needs weight.transpose\(1, 0, 2, 3\)",
        ),
        (
            lambda: F.conv2d(np.ones((2, 4, 8, 8)), np.ones((6, 1, 3, 3)), groups=3),
            r"conv2d: groups=3 must divide both the input's 4 channels \(input \(2, 4, 8, 8\)\) "
            r"and the weight's 6 filters",
        ),
        (
            lambda: F.conv2d(np.ones((2, 1, 4, 4)), np.ones((3, 1, 5, 5)), padding=0),
            r"conv2d: the 5x5 kernel is larger than the input \(2, 1, 4, 4\) padded by "
            r"\(0, 0\) \(4x4\)",
        ),
        (
            lambda: F.conv2d(np.ones((2, 1, 6, 6)), np.ones((3, 1, 3, 3)), dilation=3),
            r"conv2d: the 3x3 kernel dilated by \(3, 3\), spanning 7x7, is larger than the input",
        ),
        (
            lambda: F.conv2d(np.ones((2, 1, 6, 6)), np.ones((3, 1, 3, 3)), stride=0),
            r"conv2d: stride must be at least 1, got 0",
        ),
        (
            lambda: F.conv2d(np.ones((2, 1, 6, 6)), np.ones((3, 1, 3, 3)), np.ones(2)),
            r"conv2d: the bias must have one entry per filter, shape \(3,\), got \(2,\)",
        ),
        (
            lambda: F.max_pool2d(np.ones((2, 1, 6, 6)), 2, stride=(1, -1)),
            r"max_pool2d: stride must be at least 1, got \(1, -1\)",
        ),
        (
            lambda: F.avg_pool2d(np.ones((2, 1, 6, 6)), 2, padding=2),
            r"avg_pool2d: padding \(2, 2\) must be at most half the kernel \(2, 2\)",
        ),
        (lambda: F.max_pool2d(np.ones((6, 6)), 2), r"max_pool2d: the input must be a batch"),
        (lambda: F.im2col(np.ones((1, 1, 3, 3)), 2.5), r"im2col: kernel must be an int or a pair"),
        (
            lambda: F.col2im(np.ones((1, 4, 5)), (3, 3), 2),
            r"col2im: columns of shape \(1, 4, 5\) do not fit a 2x2 kernel on 3x3 images",
        ),
    ],
)
def test_bad_shapes_and_windows_are_refused_naming_the_op_and_shapes(call, message):
    with pytest.raises(OpError, match=message):
        call()


def test_the_op_refuses_what_the_function_would_have_normalised():
    x, weight, bias = (Tensor(a) for a in conv_inputs((1, 1, 4, 4), (1, 1, 2, 2)))
    with pytest.raises(OpError, match="conv2d: groups must be a positive int, got 0"):
        minigrad.OPS["conv2d"].apply(x, weight, bias, groups=0)


# ----- the benchmark's sides compute the same thing ------------------------------------------
@pytest.mark.parametrize("net", ["SIMPLE", "DEEP"])
def test_the_conv_benchmark_sides_take_the_same_steps(monkeypatch, net):
    """benchmarks/conv.py times minigrad and the book's im2col in NumPy (and PyTorch, which
    it checks itself: torch.optim takes seconds to import) on the book's conv nets: from the
    same weights and batches, their losses agree step by step."""
    from benchmarks import conv as benchmark
    from benchmarks import conv_reference

    monkeypatch.setattr(benchmark, "BATCH", 8)  # the same steps on smaller batches
    x = RNG.random((16, 1, 28, 28), dtype=np.float32)
    t = RNG.integers(0, 10, 16)
    net = getattr(conv_reference, net)
    params = conv_reference.make_params(seed=0, net=net)
    sides = [
        benchmark.minigrad_side(net, params, x, t),
        benchmark.minigrad_side(net, params, x, t, F.conv2d_composed),
        benchmark.replayed_side(net, params, x, t),
        benchmark.numpy_side(net, params, x, t),
        benchmark.numpy_side(net, params, x, t, tuned=False),
    ]
    for batch in (0, 1, 0, 1):  # replay traces two steps, then replays
        losses = [step(batch) for step in sides]
        np.testing.assert_allclose(losses, losses[0], rtol=1e-4)


def test_the_books_conv_layers_in_numpy_match_central_differences():
    from benchmarks import conv_reference

    for tuned in (True, False):  # the benchmark's two styles: tuned, and the book's code
        conv_reference.check_gradients(conv_reference.SIMPLE, tuned)
        conv_reference.check_gradients(conv_reference.DEEP, tuned)
