"""Hand-written NumPy forward/backward passes (no autodiff) that the benchmarks time minigrad
against, on the same data, initial weights and batch order. minigrad must stay within 5% of them.

Everything runs in the dtype of the arrays passed in: float32 for benchmarks (see make_params).
Run this file to check its gradients against central differences in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

Params = dict[str, np.ndarray]


def make_params(
    sizes: Sequence[int],
    seed: int,
    weight_std: float | None = None,
    dtype: type[np.floating] = np.float32,
) -> Params:
    """Weights W1, W2, ... shaped (fan_in, fan_out) and zero biases b1, b2, ...

    weight_std None draws He init (std sqrt(2 / fan_in)); a number draws normal with that std
    (the book's TwoLayerNet uses 0.01).
    """
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(pairwise(sizes), start=1):
        std = np.sqrt(2.0 / fan_in) if weight_std is None else weight_std
        params[f"W{layer}"] = (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)
        params[f"b{layer}"] = np.zeros(fan_out, dtype=dtype)
    return params


def sigmoid(z: np.ndarray) -> np.ndarray:
    # The tanh form cannot overflow, unlike 1 / (1 + exp(-z)) in float32 for z < -88.
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def relu_mlp_gradients(params: Params, x: np.ndarray, t: np.ndarray) -> tuple[float, Params]:
    """Mean softmax cross-entropy of the ReLU MLP x -> W1 -> ReLU -> W2 on integer labels t,
    and its gradients w.r.t. params (none w.r.t. x).

    Any sizes and batch sizes: the batch-1 784-1024-10 benchmark runs it as written, its
    weight gradients `x.T @ grad` as a book-style NumPy user computes them."""
    hidden = x @ params["W1"]
    hidden += params["b1"]
    np.maximum(hidden, 0, out=hidden)
    logits = hidden @ params["W2"]
    logits += params["b2"]

    rows = np.arange(len(t))
    logits -= logits.max(axis=1, keepdims=True)
    exp_logits = np.exp(logits)
    sum_exp = exp_logits.sum(axis=1)
    loss = float(np.mean(np.log(sum_exp) - logits[rows, t]))

    # d(loss)/d(logits) = (softmax - onehot) / batch
    grad_logits = exp_logits
    grad_logits /= sum_exp[:, None]
    grad_logits[rows, t] -= 1
    grad_logits /= len(t)

    grad_hidden = grad_logits @ params["W2"].T
    grad_hidden *= hidden > 0
    grads = {
        "W1": x.T @ grad_hidden,
        "b1": grad_hidden.sum(axis=0),
        "W2": hidden.T @ grad_logits,
        "b2": grad_logits.sum(axis=0),
    }
    return loss, grads


def train_epoch_relu_mlp(
    params: Params, x: np.ndarray, t: np.ndarray, batch_order: np.ndarray, lr: float
) -> float:
    """One epoch of plain SGD on the ReLU MLP; batch_order is (steps, batch) example indices.
    Updates params in place and returns the mean of the per-step losses."""
    loss_sum = 0.0
    for batch in batch_order:
        loss, grads = relu_mlp_gradients(params, x[batch], t[batch])
        for key, grad in grads.items():
            params[key] -= lr * grad
        loss_sum += loss
    return loss_sum / len(batch_order)


def sigmoid_mse_gradients(
    params: Params, x: np.ndarray, t_onehot: np.ndarray
) -> tuple[float, Params]:
    """Nielsen's network: sigmoid hidden and output layers, cost 0.5 * ||a - y||^2 summed per
    example and averaged over the batch; returns it and its gradients w.r.t. params."""
    hidden = sigmoid(x @ params["W1"] + params["b1"])
    output = sigmoid(hidden @ params["W2"] + params["b2"])
    error = output - t_onehot
    loss = 0.5 * float(np.sum(error * error)) / len(x)

    grad_z2 = error * output * (1 - output) / len(x)
    grad_z1 = (grad_z2 @ params["W2"].T) * hidden * (1 - hidden)
    grads = {
        "W1": x.T @ grad_z1,
        "b1": grad_z1.sum(axis=0),
        "W2": hidden.T @ grad_z2,
        "b2": grad_z2.sum(axis=0),
    }
    return loss, grads


def train_epoch_sigmoid_mse(
    params: Params, x: np.ndarray, t_onehot: np.ndarray, batch_order: np.ndarray, lr: float
) -> float:
    """One epoch of plain SGD on Nielsen's sigmoid/quadratic-cost network (he uses batch 10,
    lr 3.0). Updates params in place and returns the mean of the per-step losses."""
    loss_sum = 0.0
    for batch in batch_order:
        loss, grads = sigmoid_mse_gradients(params, x[batch], t_onehot[batch])
        for key, grad in grads.items():
            params[key] -= lr * grad
        loss_sum += loss
    return loss_sum / len(batch_order)


def tiny_forward_backward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """loss = sigmoid(x @ W + b).sum() and its gradients w.r.t. W and b (x needs none).
    Meant for x 2x3, W 3xk: it times per-op overhead, not arithmetic."""
    activation = sigmoid(x @ W + b)
    grad_z = activation * (1 - activation)
    return float(activation.sum()), x.T @ grad_z, grad_z.sum(axis=0)


def predict(params: Params, x: np.ndarray) -> np.ndarray:
    """Logits of the ReLU MLP in params (any number of layers) for a batch x of shape (n, in)."""
    n_layers = len(params) // 2
    activation = x
    for layer in range(1, n_layers + 1):
        activation = activation @ params[f"W{layer}"] + params[f"b{layer}"]
        if layer < n_layers:
            np.maximum(activation, 0, out=activation)
    return activation


def central_difference(loss_of: Callable[[], float], array: np.ndarray, eps: float) -> np.ndarray:
    """d(loss_of())/d(array) by central differences, perturbing array in place."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        loss_plus = loss_of()
        array[index] = saved - eps
        loss_minus = loss_of()
        array[index] = saved
        grad[index] = (loss_plus - loss_minus) / (2 * eps)
    return grad


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-12)
    return float(np.abs(analytic - numeric).max() / scale)


def _check_one_step(
    name: str,
    train_epoch: Callable[..., float],
    loss_of: Callable[[Params], float],
    params: Params,
    x: np.ndarray,
    target: np.ndarray,
) -> dict[str, float]:
    """Runs one full-batch step of train_epoch with lr 1, so the change in each parameter is
    minus its gradient, and compares that and the returned loss with loss_of."""
    before = {key: value.copy() for key, value in params.items()}
    one_step = np.arange(len(x))[None, :]
    returned_loss = train_epoch(params, x, target, one_step, 1.0)
    errors = {f"{name} loss": abs(returned_loss - loss_of(before))}
    for key, value in before.items():
        numeric = central_difference(lambda: loss_of(before), value, eps=1e-6)
        errors[f"{name} d{key}"] = _relative_error(value - params[key], numeric)
    return errors


def _softmax_cross_entropy(logits: np.ndarray, t: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(t)), t].mean())


def _nielsen_cost(params: Params, x: np.ndarray, t_onehot: np.ndarray) -> float:
    hidden = 1 / (1 + np.exp(-(x @ params["W1"] + params["b1"])))
    output = 1 / (1 + np.exp(-(hidden @ params["W2"] + params["b2"])))
    return float(0.5 * np.sum((output - t_onehot) ** 2) / len(x))


def self_check() -> dict[str, float]:
    """Largest relative gradient error of each checked quantity on tiny float64 instances."""
    rng = np.random.default_rng(0)
    x = rng.random((5, 4))
    labels = rng.integers(0, 3, size=5)
    onehot = np.eye(3)[labels]

    relu_params = make_params([4, 6, 3], seed=1, weight_std=0.5, dtype=np.float64)
    errors = _check_one_step(
        "relu_mlp",
        train_epoch_relu_mlp,
        lambda params: _softmax_cross_entropy(predict(params, x), labels),
        relu_params,
        x,
        labels,
    )
    sigmoid_params = make_params([4, 6, 3], seed=2, weight_std=1.0, dtype=np.float64)
    sigmoid_params["b1"] += rng.standard_normal(6)
    errors |= _check_one_step(
        "sigmoid_mse",
        train_epoch_sigmoid_mse,
        lambda params: _nielsen_cost(params, x, onehot),
        sigmoid_params,
        x,
        onehot,
    )

    x_tiny, W, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    loss, grad_W, grad_b = tiny_forward_backward(x_tiny, W, b)

    def tiny_loss() -> float:
        return float(np.sum(1 / (1 + np.exp(-(x_tiny @ W + b)))))

    errors["tiny loss"] = abs(loss - tiny_loss())
    errors["tiny dW"] = _relative_error(grad_W, central_difference(tiny_loss, W, eps=1e-6))
    errors["tiny db"] = _relative_error(grad_b, central_difference(tiny_loss, b, eps=1e-6))
    return errors


if __name__ == "__main__":
    tolerance = 1e-6
    results = self_check()
    for quantity, error in results.items():
        print(f"{'PASS' if error < tolerance else 'FAIL'}  {quantity:<20} error {error:.1e}")
    failed = sum(error >= tolerance for error in results.values())
    print("PASS" if not failed else f"FAIL ({failed} of {len(results)})")
    raise SystemExit(1 if failed else 0)
