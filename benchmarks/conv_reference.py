"""The book's conv nets (chapter 7's SimpleConvNet, chapter 8's DeepConvNet) written out in
NumPy, layer by layer, with its im2col: what `benchmarks/conv.py` times minigrad against.

A net is a list of layers, `SIMPLE` and `DEEP` below, which the benchmark also runs in
minigrad and PyTorch. As in the book: `im2col` copies one kernel offset at a time into
columns laid out (N*OH*OW, C*FH*FW), the convolution is `columns @ W.reshape(FN, -1).T`
followed by a transpose back to (N, FN, OH, OW), pooling takes the argmax of each window's
row of columns, and its backward scatters into such rows and adds them back with `col2im`.
Two styles: `tuned=True` leaves out where the book's code is slow for no reason of method:
arrays keep the input's dtype (the book's `np.zeros` makes float64 columns, and its weights
are float64), relu uses np.maximum instead of a boolean mask and a copy, pooling reads each
window's maximum at its argmax instead of reducing twice, and the images' gradient is not
computed (the book's Convolution always does). `tuned=False` is the book's code as it is
written, in float64 (pass float64 params and images, which gives the first convolution the
book's float64 columns too), but for one copy: `im2col` skips `np.pad` when there is no
padding, where the book's pads by zero rows and so copies its input.
DeepConvNet's dropout is left out on every side: a fixed mask would cost a multiply, and a
random one would make the sides take different steps.
Adam is PyTorch's (and minigrad's) formula, so all sides take the same steps.

Run this file to check its gradients against central differences in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Params = dict[str, np.ndarray]
POOL, CLASSES = 2, 10


@dataclass(frozen=True)
class Net:
    """A stack of layers on 1x28x28 images: ("conv", filters, kernel, padding), ("relu",),
    ("pool",) for 2x2 max pooling, ("affine", outputs). Weights are numbered W1, b1, W2, ...
    in order; `he` draws them with the book's He init (std sqrt(2 / fan-in)), else with
    std 0.01 (its weight_init_std)."""

    name: str
    layers: tuple[tuple[Any, ...], ...]
    he: bool

    def weighted(self) -> list[str]:
        """The number of each conv and affine layer's weights, in order."""
        found = [layer for layer in self.layers if layer[0] in ("conv", "affine")]
        return [str(number) for number in range(1, len(found) + 1)]

    def inputs(self) -> list[tuple[tuple[Any, ...], tuple[int, ...]]]:
        """Each layer with the shape (C, H, W) or (features,) of one image it takes."""
        shape: tuple[int, ...] = (1, 28, 28)
        found = []
        for layer in self.layers:
            found.append((layer, shape))
            if layer[0] == "conv":
                _, filters, kernel, padding = layer
                side = shape[1] + 2 * padding - kernel + 1
                shape = (filters, side, side)
            elif layer[0] == "pool":
                shape = (shape[0], shape[1] // POOL, shape[2] // POOL)
            elif layer[0] == "affine":
                shape = (layer[1],)
        return found


SIMPLE = Net(
    "SimpleConvNet",
    (("conv", 30, 5, 0), ("relu",), ("pool",), ("affine", 100), ("relu",), ("affine", CLASSES)),
    he=False,
)
DEEP = Net(
    "DeepConvNet",
    (
        *(("conv", 16, 3, 1), ("relu",), ("conv", 16, 3, 1), ("relu",), ("pool",)),
        *(("conv", 32, 3, 1), ("relu",), ("conv", 32, 3, 2), ("relu",), ("pool",)),
        *(("conv", 64, 3, 1), ("relu",), ("conv", 64, 3, 1), ("relu",), ("pool",)),
        *(("affine", 50), ("relu",), ("affine", CLASSES)),
    ),
    he=True,
)


def make_params(seed: int, net: Net = SIMPLE, dtype: type[np.floating] = np.float32) -> Params:
    """The net's initial weights and zero biases; affine weights are (in, out), as the
    book's Affine layers take them."""
    rng = np.random.default_rng(seed)
    params = {}
    weighted = [(layer, shape) for layer, shape in net.inputs() if layer[0] in ("conv", "affine")]
    for number, (layer, shape) in zip(net.weighted(), weighted):
        if layer[0] == "conv":
            weight, fan_in = (layer[1], shape[0], layer[2], layer[2]), shape[0] * layer[2] ** 2
        else:
            weight, fan_in = (math.prod(shape), layer[1]), math.prod(shape)
        std = math.sqrt(2 / fan_in) if net.he else 0.01
        params[f"W{number}"] = (std * rng.standard_normal(weight)).astype(dtype)
        params[f"b{number}"] = np.zeros(layer[1], dtype)
    return params


def im2col(images: np.ndarray, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0):
    """(N, C, H, W) to columns (N*OH*OW, C*FH*FW), one kernel offset at a time."""
    n, c, height, width = images.shape
    out_h = (height + 2 * pad - filter_h) // stride + 1
    out_w = (width + 2 * pad - filter_w) // stride + 1
    padded = np.pad(images, [(0, 0), (0, 0), (pad, pad), (pad, pad)]) if pad else images
    col = np.zeros((n, c, filter_h, filter_w, out_h, out_w), images.dtype)
    for y in range(filter_h):
        for x in range(filter_w):
            col[:, :, y, x] = padded[
                :, :, y : y + stride * out_h : stride, x : x + stride * out_w : stride
            ]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, -1)


def col2im(col: np.ndarray, shape: tuple, filter_h: int, filter_w: int, stride=1, pad=0):
    """Columns (N*OH*OW, C*FH*FW) added back into images of `shape` (N, C, H, W)."""
    n, c, height, width = shape
    out_h = (height + 2 * pad - filter_h) // stride + 1
    out_w = (width + 2 * pad - filter_w) // stride + 1
    col = col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    images = np.zeros(
        (n, c, height + 2 * pad + stride - 1, width + 2 * pad + stride - 1), col.dtype
    )
    for y in range(filter_h):
        for x in range(filter_w):
            images[:, :, y : y + stride * out_h : stride, x : x + stride * out_w : stride] += col[
                :, :, y, x
            ]
    return images[:, :, pad : height + pad, pad : width + pad]


# ----- the book's layers: forward returns what backward needs -----------------------------
def conv_forward(x, weight, bias, padding):
    """Convolution.forward: columns @ W.T, transposed back to (N, FN, OH, OW)."""
    filters, _, kernel, _ = weight.shape
    col = im2col(x, kernel, kernel, pad=padding)
    out_side = x.shape[2] + 2 * padding - kernel + 1
    out = (col @ weight.reshape(filters, -1).T + bias).reshape(len(x), out_side, out_side, -1)
    return out.transpose(0, 3, 1, 2), (x.shape, col, weight, padding)


def conv_backward(grad, saved, images_need_grad):
    """Convolution.backward: the weights' gradients, and the images' if needed (the book
    computes them always)."""
    shape, col, weight, padding = saved
    filters, _, kernel, _ = weight.shape
    dout = grad.transpose(0, 2, 3, 1).reshape(-1, filters)
    grads = (dout.sum(axis=0), (col.T @ dout).transpose(1, 0).reshape(weight.shape))
    if not images_need_grad:
        return None, grads
    dcol = dout @ weight.reshape(filters, -1)
    return col2im(dcol, shape, kernel, kernel, pad=padding), grads


def pool_forward(x, tuned=True):
    """Pooling.forward: the argmax of each window's row of columns, and its maximum."""
    n, c, height, width = x.shape
    pool_col = im2col(x, POOL, POOL, POOL).reshape(-1, POOL * POOL)
    arg_max = np.argmax(pool_col, axis=1)
    if tuned:  # the maximum read at the argmax, without a second pass
        pooled = pool_col[np.arange(len(pool_col)), arg_max]
    else:
        pooled = np.max(pool_col, axis=1)
    pooled = pooled.reshape(n, height // POOL, width // POOL, c).transpose(0, 3, 1, 2)
    return pooled, (x.shape, arg_max)


def pool_backward(grad, saved):
    """Pooling.backward: scatter into rows of columns at the argmax, then col2im."""
    shape, arg_max = saved
    dout = grad.transpose(0, 2, 3, 1)
    dmax = np.zeros((dout.size, POOL * POOL), dout.dtype)
    dmax[np.arange(arg_max.size), arg_max] = dout.reshape(-1)
    return col2im(dmax.reshape(dout.size // shape[1], -1), shape, POOL, POOL, POOL)


def relu_forward(x, tuned=True):
    """Relu.forward: the output, and what backward keeps (the book's: the mask x <= 0,
    through which it zeroes a copy of x)."""
    if tuned:
        out = np.maximum(x, 0)
        return out, out
    mask = x <= 0
    out = x.copy()
    out[mask] = 0
    return out, mask


def relu_backward(grad, kept, tuned=True):
    """Relu.backward; the book's zeroes the gradient in place through its mask (every
    gradient reaching a relu here is a fresh array, so that is safe)."""
    if tuned:
        return grad * (kept > 0)
    grad[kept] = 0
    return grad


def scores(net: Net, params: Params, x: np.ndarray, tuned: bool = True) -> tuple[np.ndarray, list]:
    """The net's logits for images x (N, 1, 28, 28), and each layer's saved values."""
    numbers = iter(net.weighted())
    saved = []
    for layer in net.layers:
        if layer[0] == "conv":
            number = next(numbers)
            x, kept = conv_forward(x, params[f"W{number}"], params[f"b{number}"], layer[3])
        elif layer[0] == "relu":
            x, kept = relu_forward(x, tuned)
        elif layer[0] == "pool":
            x, kept = pool_forward(x, tuned)
        else:
            number = next(numbers)
            kept, x = x, x.reshape(len(x), -1) @ params[f"W{number}"] + params[f"b{number}"]
        saved.append(kept)
    return x, saved


def gradients(
    net: Net, params: Params, x: np.ndarray, t: np.ndarray, tuned: bool = True
) -> tuple[float, Params]:
    """Mean softmax cross-entropy of the net on images x and integer labels t, and the
    gradients of every weight, layer by layer backwards."""
    logits, saved = scores(net, params, x, tuned)
    # SoftmaxWithLoss
    n = len(x)
    logits = logits - logits.max(axis=1, keepdims=True)
    exp_logits = np.exp(logits)
    sum_exp = exp_logits.sum(axis=1)
    rows = np.arange(n)
    loss = float(np.mean(np.log(sum_exp) - logits[rows, t]))
    grad = exp_logits / sum_exp[:, None]
    grad[rows, t] -= 1
    grad /= n
    grads: Params = {}
    numbers = reversed(net.weighted())
    for position in reversed(range(len(net.layers))):
        kind, kept = net.layers[position][0], saved[position]
        if kind == "relu":
            grad = relu_backward(grad, kept, tuned)
        elif kind == "pool":
            grad = pool_backward(grad, kept)
        elif kind == "conv":
            number = next(numbers)
            grad, (grads[f"b{number}"], grads[f"W{number}"]) = conv_backward(
                grad, kept, images_need_grad=position > 0 or not tuned
            )
        else:
            number = next(numbers)
            flat = kept.reshape(n, -1)
            grads[f"W{number}"], grads[f"b{number}"] = flat.T @ grad, grad.sum(axis=0)
            grad = (grad @ params[f"W{number}"].T).reshape(kept.shape)
    return loss, grads


def predict(net: Net, params: Params, x: np.ndarray) -> np.ndarray:
    return scores(net, params, x)[0]


class Adam:
    """PyTorch's Adam on a dict of arrays, updated in place (the book's keeps eps inside
    the square root's bias correction; this one matches minigrad.optim.Adam)."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, 1e-8
        self.step_count = 0
        self.m: Params = {}
        self.v: Params = {}

    def update(self, params: Params, grads: Params) -> None:
        self.step_count += 1
        for key, grad in grads.items():
            m = self.m.setdefault(key, np.zeros_like(grad))
            v = self.v.setdefault(key, np.zeros_like(grad))
            m *= self.beta1
            m += (1 - self.beta1) * grad
            v *= self.beta2
            v += (1 - self.beta2) * grad * grad
            denominator = np.sqrt(v) / math.sqrt(1 - self.beta2**self.step_count) + self.eps
            params[key] -= (self.lr / (1 - self.beta1**self.step_count)) * m / denominator


def train_step(
    net: Net, params: Params, optimizer: Adam, x: np.ndarray, t: np.ndarray, tuned: bool = True
) -> float:
    loss, grads = gradients(net, params, x, t, tuned)
    optimizer.update(params, grads)
    return loss


def check_gradients(net: Net = SIMPLE, tuned: bool = True) -> None:
    """Every gradient against central differences, in float64, at a few entries each."""
    rng = np.random.default_rng(0)
    params = make_params(seed=1, net=net, dtype=np.float64)
    for key in params:
        params[key] = params[key] + 0.05 * rng.standard_normal(params[key].shape)
    x, t = rng.random((3, 1, 28, 28)), rng.integers(0, CLASSES, 3)
    _, grads = gradients(net, params, x, t, tuned)
    for key, grad in grads.items():
        for index in map(tuple, rng.integers(0, params[key].shape, (5, params[key].ndim))):
            saved = params[key][index]
            params[key][index] = saved + 1e-6
            above = gradients(net, params, x, t, tuned)[0]
            params[key][index] = saved - 1e-6
            below = gradients(net, params, x, t, tuned)[0]
            params[key][index] = saved
            numeric = (above - below) / 2e-6
            assert abs(numeric - grad[index]) <= 1e-6 + 1e-4 * abs(numeric), (key, index)
    style = "tuned" if tuned else "as written"
    print(f"conv_reference: every gradient of {net.name} ({style}) matches central differences")


if __name__ == "__main__":
    for tuned in (True, False):
        check_gradients(SIMPLE, tuned)
        check_gradients(DEEP, tuned)
