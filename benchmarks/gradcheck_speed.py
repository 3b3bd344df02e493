"""How long a fast-mode gradcheck of a 784-100-10 MLP on a batch of 100 takes.

The seeds trained this kind of net with numerical gradients for 17 hours; a full
element-by-element check of it needs two forward passes per parameter (about 160,000).
Fast mode needs two per parameter tensor. Run: python benchmarks/gradcheck_speed.py
(add --planted-bug to time a check that fails and has to localise the bug).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

# One BLAS thread, as minigrad's commands use: on a busy 2-core machine a second thread
# spins against other work and a 8 ms check takes 0.4 s. Set OPENBLAS_NUM_THREADS to override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import minigrad.functional as F  # noqa: E402
from minigrad import Tensor, gradcheck  # noqa: E402
from minigrad.ops import Relu  # noqa: E402


def mnist_batch(batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A real MNIST batch if it is cached, else random pixels in [0, 1) and labels."""
    try:
        from minigrad.datasets.mnist import load_mnist

        (images, labels), _ = load_mnist(normalize=True, flatten=True)
        return images[:batch], labels[:batch].astype(np.int64)
    except Exception:  # no cached data: the timing does not depend on the pixel values
        return rng.random((batch, 784), dtype=np.float32), rng.integers(0, 10, batch)


def mlp_loss(x: Tensor, labels: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    return F.softmax_cross_entropy(F.linear(F.linear(x, W1, b1).relu(), W2, b2), labels)


def parameters(rng: np.random.Generator, hidden: int) -> list[Tensor]:
    def param(*shape: int, name: str) -> Tensor:
        return Tensor(0.1 * rng.standard_normal(shape, dtype=np.float32), True, name=name)

    return [
        param(784, hidden, name="W1"),
        param(hidden, name="b1"),
        param(hidden, 10, name="W2"),
        param(10, name="b2"),
    ]


def time_checks(inputs: list[Tensor], repeat: int) -> tuple[list[float], int, object]:
    """Seconds per fast check, loss evaluations in the last one, and its result."""
    calls = 0

    def counted_loss(*tensors: Tensor) -> Tensor:
        nonlocal calls
        calls += 1
        return mlp_loss(*tensors)

    times, result = [], None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the float32 -> float64 promotion notice
        for _ in range(repeat):
            calls = 0
            start = time.perf_counter()
            result = gradcheck(counted_loss, inputs, mode="fast", raise_exception=False)
            times.append(time.perf_counter() - start)
    return times, calls, result


def planted_relu_bug() -> None:
    """relu's backward scaled by 1.5: what finding and localising a real bug costs."""
    original = Relu.backward

    def wrong(self, grad, out, a):
        return [g * 1.5 for g in original(self, grad, out, a)]

    Relu.backward = wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--planted-bug", action="store_true", help="time a check that fails and localises"
    )
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    images, labels = mnist_batch(args.batch, rng)
    inputs = [Tensor(images), Tensor(labels), *parameters(rng, args.hidden)]
    if args.planted_bug:
        planted_relu_bug()
    times, calls, result = time_checks(inputs, args.repeat)
    if args.planted_bug == bool(result):
        raise SystemExit(f"unexpected gradcheck verdict: {result}")
    count = sum(t.size for t in inputs[2:])
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}"
    )
    print(
        f"fast gradcheck of a 784-{args.hidden}-10 MLP, batch {args.batch}, {count:,} "
        f"parameters: median {statistics.median(times) * 1000:.1f} ms, best "
        f"{min(times) * 1000:.1f} ms over {args.repeat} runs; {calls} evaluations of the loss "
        f"(a full check needs {2 * count + 1:,})"
    )
    if args.planted_bug:
        print(result.worst)


if __name__ == "__main__":
    main()
