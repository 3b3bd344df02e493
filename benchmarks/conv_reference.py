"""The book's SimpleConvNet (chapter 7) written out in NumPy, layer by layer, with its
im2col: what `benchmarks/conv.py` times minigrad against.

As in the book: `im2col` copies one kernel offset at a time into columns laid out
(N*OH*OW, C*FH*FW), the convolution is `columns @ W.reshape(FN, -1).T` followed by a
transpose back to (N, FN, OH, OW), pooling takes the argmax of each window's row of
columns, and its backward scatters into such rows and adds them back with `col2im`. Where
the book's code is slow for no reason of method it is not copied: arrays keep the input's
dtype (the book's `np.zeros` makes float64 columns), relu uses np.maximum instead of boolean
indexing, pooling reads each window's maximum at its argmax instead of reducing twice, and
the images' gradient is not computed (the book's Convolution always does).
Adam is PyTorch's (and minigrad's) formula, so all sides take the same steps.

Run this file to check its gradients against central differences in float64.
"""

from __future__ import annotations

import math

import numpy as np

Params = dict[str, np.ndarray]
FILTERS, KERNEL, HIDDEN, CLASSES, POOL = 30, 5, 100, 10, 2


def make_params(seed: int, dtype: type[np.floating] = np.float32) -> Params:
    """The book's SimpleConvNet weights: normal with std 0.01 (weight_init_std), zero
    biases; W2 and W3 are (in, out), as its Affine layers take them."""
    rng = np.random.default_rng(seed)
    side = (28 - KERNEL + 1) // POOL
    shapes = {
        "W1": (FILTERS, 1, KERNEL, KERNEL),
        "W2": (FILTERS * side * side, HIDDEN),
        "W3": (HIDDEN, CLASSES),
    }
    params = {}
    for layer, shape in enumerate(shapes.values(), start=1):
        params[f"W{layer}"] = (0.01 * rng.standard_normal(shape)).astype(dtype)
        params[f"b{layer}"] = np.zeros(shape[0] if layer == 1 else shape[1], dtype)
    return params


def im2col(images: np.ndarray, filter_h: int, filter_w: int, stride: int = 1) -> np.ndarray:
    """(N, C, H, W) to columns (N*OH*OW, C*FH*FW), one kernel offset at a time (no padding)."""
    n, c, height, width = images.shape
    out_h, out_w = (height - filter_h) // stride + 1, (width - filter_w) // stride + 1
    col = np.zeros((n, c, filter_h, filter_w, out_h, out_w), images.dtype)
    for y in range(filter_h):
        for x in range(filter_w):
            col[:, :, y, x] = images[
                :, :, y : y + stride * out_h : stride, x : x + stride * out_w : stride
            ]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, -1)


def col2im(col: np.ndarray, shape: tuple, filter_h: int, filter_w: int, stride: int = 1):
    """Columns (N*OH*OW, C*FH*FW) added back into images of `shape` (N, C, H, W)."""
    n, c, height, width = shape
    out_h, out_w = (height - filter_h) // stride + 1, (width - filter_w) // stride + 1
    col = col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    images = np.zeros((n, c, height + stride - 1, width + stride - 1), col.dtype)
    for y in range(filter_h):
        for x in range(filter_w):
            images[:, :, y : y + stride * out_h : stride, x : x + stride * out_w : stride] += col[
                :, :, y, x
            ]
    return images[:, :, :height, :width]


def simple_convnet_gradients(params: Params, x: np.ndarray, t: np.ndarray) -> tuple[float, Params]:
    """Mean softmax cross-entropy of conv 5x5 -> relu -> max pool 2 -> affine -> relu ->
    affine on images x (N, 1, 28, 28) and integer labels t, and its gradients."""
    n = len(x)
    W1, b1 = params["W1"], params["b1"]
    # Convolution.forward
    col = im2col(x, KERNEL, KERNEL)
    col_W = W1.reshape(FILTERS, -1).T
    out_h = out_w = x.shape[2] - KERNEL + 1
    conv = (col @ col_W + b1).reshape(n, out_h, out_w, -1).transpose(0, 3, 1, 2)
    # Relu.forward
    relu1 = np.maximum(conv, 0)
    # Pooling.forward
    pooled_h, pooled_w = out_h // POOL, out_w // POOL
    pool_col = im2col(relu1, POOL, POOL, POOL).reshape(-1, POOL * POOL)
    arg_max = np.argmax(pool_col, axis=1)
    pooled = pool_col[np.arange(len(pool_col)), arg_max]  # the book's np.max, without a 2nd pass
    pooled = pooled.reshape(n, pooled_h, pooled_w, FILTERS).transpose(0, 3, 1, 2)
    # Affine, Relu, Affine
    flat = pooled.reshape(n, -1)
    hidden = np.maximum(flat @ params["W2"] + params["b2"], 0)
    logits = hidden @ params["W3"] + params["b3"]
    # SoftmaxWithLoss
    logits = logits - logits.max(axis=1, keepdims=True)
    exp_logits = np.exp(logits)
    sum_exp = exp_logits.sum(axis=1)
    rows = np.arange(n)
    loss = float(np.mean(np.log(sum_exp) - logits[rows, t]))
    grad_logits = exp_logits / sum_exp[:, None]
    grad_logits[rows, t] -= 1
    grad_logits /= n
    # Affine and Relu backward
    grads = {"W3": hidden.T @ grad_logits, "b3": grad_logits.sum(axis=0)}
    grad_hidden = (grad_logits @ params["W3"].T) * (hidden > 0)
    grads["W2"], grads["b2"] = flat.T @ grad_hidden, grad_hidden.sum(axis=0)
    grad_pooled = (grad_hidden @ params["W2"].T).reshape(pooled.shape)
    # Pooling.backward
    dout = grad_pooled.transpose(0, 2, 3, 1)
    dmax = np.zeros((dout.size, POOL * POOL), dout.dtype)
    dmax[np.arange(arg_max.size), arg_max] = dout.reshape(-1)
    grad_relu1 = col2im(dmax.reshape(dout.size // FILTERS, -1), relu1.shape, POOL, POOL, POOL)
    # Relu.backward, Convolution.backward (parameters only: the images need no gradient)
    grad_conv = grad_relu1 * (conv > 0)
    dout = grad_conv.transpose(0, 2, 3, 1).reshape(-1, FILTERS)
    grads["b1"] = dout.sum(axis=0)
    grads["W1"] = (col.T @ dout).transpose(1, 0).reshape(W1.shape)
    return loss, grads


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


def train_step(params: Params, optimizer: Adam, x: np.ndarray, t: np.ndarray) -> float:
    loss, grads = simple_convnet_gradients(params, x, t)
    optimizer.update(params, grads)
    return loss


def check_gradients() -> None:
    """Every gradient against central differences, in float64, at a few entries each."""
    rng = np.random.default_rng(0)
    params = make_params(seed=1, dtype=np.float64)
    for key in params:
        params[key] = params[key] + 0.05 * rng.standard_normal(params[key].shape)
    x, t = rng.random((3, 1, 28, 28)), rng.integers(0, CLASSES, 3)
    _, grads = simple_convnet_gradients(params, x, t)
    for key, grad in grads.items():
        for index in map(tuple, rng.integers(0, params[key].shape, (5, params[key].ndim))):
            saved = params[key][index]
            params[key][index] = saved + 1e-6
            above = simple_convnet_gradients(params, x, t)[0]
            params[key][index] = saved - 1e-6
            below = simple_convnet_gradients(params, x, t)[0]
            params[key][index] = saved
            numeric = (above - below) / 2e-6
            assert abs(numeric - grad[index]) <= 1e-6 + 1e-4 * abs(numeric), (key, index)
    print("conv_reference: every gradient matches central differences")


if __name__ == "__main__":
    check_gradients()
