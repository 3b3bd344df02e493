"""The book's SimpleConvNet training step in minigrad, in hand-written NumPy (the book's
im2col layers, `benchmarks/conv_reference.py`) and in PyTorch eager, if installed.

conv 30 5x5 on 1x28x28 -> relu -> max pool 2 -> affine 4320->100 -> relu -> affine
100->10, softmax cross-entropy, Adam lr 1e-3, batch 100. Every side starts from the same
weights and trains on the same MNIST batches (random images if MNIST is not cached). After
a warm-up, rounds of steps alternate between the sides; the script prints ms per step
(median and range over rounds) and the ratios of the medians to PyTorch and to NumPy.
minigrad runs twice more: with the composed convolution (im2col, matmul, add) instead of
the fused op, and through `minigrad.replay`. Run from the repository root:

    python -m benchmarks.conv                   # about a minute on 2 cores
    python -m benchmarks.conv --rounds 5 --steps 10
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# One BLAS thread, as minigrad's commands use, and as many for PyTorch: set
# OPENBLAS_NUM_THREADS to use more on both sides.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import minigrad.functional as F  # noqa: E402
from benchmarks import conv_reference as ref  # noqa: E402
from minigrad import nn, optim, replay  # noqa: E402

BATCH, LR = 100, 1e-3
NUMPY = "NumPy, book's im2col"


def images_and_labels(count: int) -> tuple[np.ndarray, np.ndarray, str]:
    """MNIST training digits (N, 1, 28, 28) if they are cached, else random pixels."""
    try:
        from dataset.mnist import load_mnist

        (x, t), _ = load_mnist(flatten=False)
        return x[:count], t[:count].astype(np.int64), "MNIST"
    except Exception:  # no cached data: the timing does not depend on the pixel values
        rng = np.random.default_rng(0)
        x = rng.random((count, 1, 28, 28), dtype=np.float32)
        return x, rng.integers(0, 10, count), "random images"


class SimpleConvNet(nn.Module):
    """The book's SimpleConvNet in minigrad, from the same weights as the reference."""

    def __init__(self, params: ref.Params, conv: Callable = F.conv2d) -> None:
        self.W1, self.b1 = nn.Parameter(params["W1"].copy()), nn.Parameter(params["b1"].copy())
        self.affine1, self.affine2 = nn.Linear(*params["W2"].shape), nn.Linear(*params["W3"].shape)
        for layer, key in ((self.affine1, "2"), (self.affine2, "3")):
            layer.weight.data, layer.bias.data = params[f"W{key}"].copy(), params[f"b{key}"].copy()
        self.conv = conv

    def forward(self, x):
        hidden = F.max_pool2d(self.conv(x, self.W1, self.b1).relu(), 2)
        return self.affine2(self.affine1(hidden.flatten(1)).relu())


def minigrad_side(params: ref.Params, x, t, conv: Callable = F.conv2d) -> Callable[[int], float]:
    model = SimpleConvNet(params, conv)
    optimizer = optim.Adam(model.parameters(), lr=LR)

    def step(batch: int) -> float:
        rows = slice(batch * BATCH, (batch + 1) * BATCH)
        loss = F.softmax_cross_entropy(model(x[rows]), t[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def replayed_side(params: ref.Params, x, t) -> Callable[[int], float]:
    model = SimpleConvNet(params)
    optimizer = optim.Adam(model.parameters(), lr=LR)
    loss_of = replay(lambda images, labels: F.softmax_cross_entropy(model(images), labels))

    def step(batch: int) -> float:
        rows = slice(batch * BATCH, (batch + 1) * BATCH)
        optimizer.zero_grad()
        loss = loss_of(x[rows], t[rows])
        optimizer.step()
        return loss.item()

    return step


def numpy_side(params: ref.Params, x, t) -> Callable[[int], float]:
    params = {key: value.copy() for key, value in params.items()}
    optimizer = ref.Adam(lr=LR)

    def step(batch: int) -> float:
        rows = slice(batch * BATCH, (batch + 1) * BATCH)
        return ref.train_step(params, optimizer, x[rows], t[rows])

    return step


def torch_side(params: ref.Params, x, t) -> tuple[str, Callable[[int], float]] | None:
    """The same step in PyTorch eager, on as many threads as NumPy's BLAS, if installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
    functional = torch.nn.functional
    weights = {key: torch.tensor(value, requires_grad=True) for key, value in params.items()}
    optimizer = torch.optim.Adam(list(weights.values()), lr=LR)
    x_all, t_all = torch.from_numpy(x), torch.from_numpy(t)

    def step(batch: int) -> float:
        rows = slice(batch * BATCH, (batch + 1) * BATCH)
        images, labels = x_all[rows], t_all[rows]
        conv = functional.conv2d(images, weights["W1"], weights["b1"])
        hidden = functional.max_pool2d(torch.relu(conv), 2).flatten(1)
        hidden = torch.relu(hidden @ weights["W2"] + weights["b2"])
        loss = functional.cross_entropy(hidden @ weights["W3"] + weights["b3"], labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return f"PyTorch {torch.__version__} eager", step


def alternate(
    sides: dict[str, Callable[[int], float]], rounds: int, steps: int, batches: int
) -> dict[str, list[float]]:
    """A warm-up round each, then `rounds` timed rounds of `steps` steps, side after side,
    so load from other jobs hits every side alike. Returns seconds per step, per round."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for round_index in range(rounds + 1):
        for name, step in sides.items():
            start = time.perf_counter()
            for offset in range(steps):
                step((round_index * steps + offset) % batches)
            if round_index:
                times[name].append((time.perf_counter() - start) / steps)
    return times


def report(times: dict[str, list[float]], baseline: str | None) -> None:
    """ms per step, median and range over rounds, and ratios: of the medians, and (in
    brackets) of the fastest rounds, which other jobs on a shared machine disturb least."""

    def ratios(name: str, to: str) -> str:
        medians = statistics.median(times[name]) / statistics.median(times[to])
        return f"{medians:5.2f} ({min(times[name]) / min(times[to]):4.2f})"

    print(f"\nSimpleConvNet training step, batch {BATCH} (ms per step)")
    print(f"  {'':28} {'median':>7} {'range':>13} {'x PyTorch':>12} {'x NumPy':>12}")
    for name, values in times.items():
        versus_torch = ratios(name, baseline) if baseline else "-"
        print(
            f"  {name:28} {statistics.median(values) * 1e3:7.1f} "
            f"{min(values) * 1e3:6.1f}-{max(values) * 1e3:<6.1f} {versus_torch:>12} "
            f"{ratios(name, NUMPY):>12}"
        )
    if baseline:
        print(f"  target: minigrad at most 1.3x PyTorch eager: {ratios('minigrad', baseline)}")
    faster = ratios(NUMPY, "minigrad")
    print(f"  target: minigrad at least 3x faster than the book's im2col: {faster}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per side")
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    args = parser.parse_args(argv)
    batches = 20
    x, t, source = images_and_labels(batches * BATCH)
    threads = os.environ["OPENBLAS_NUM_THREADS"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, {threads} thread(s), {source}"
    )
    params = ref.make_params(seed=0)
    sides = {
        "minigrad": minigrad_side(params, x, t),
        "minigrad, composed conv": minigrad_side(params, x, t, F.conv2d_composed),
        "minigrad replay": replayed_side(params, x, t),
        NUMPY: numpy_side(params, x, t),
    }
    torch = torch_side(params, x, t)
    if torch:
        sides[torch[0]] = torch[1]
    first_losses = {name: step(0) for name, step in sides.items()}  # the same math everywhere
    spread = max(first_losses.values()) - min(first_losses.values())
    print(f"first-step loss {first_losses['minigrad']:.6f} on every side (spread {spread:.1e})")
    assert spread < 1e-4, first_losses
    report(alternate(sides, args.rounds, args.steps, batches), torch[0] if torch else None)


if __name__ == "__main__":
    main()
