"""How long a fast-mode gradcheck of a 784-100-10 MLP on a batch of 100 takes.

The seeds trained this kind of net with numerical gradients for 17 hours; a full
element-by-element check of it needs two forward passes per parameter (about 160,000).
Fast mode needs two per parameter tensor. Run: python benchmarks/gradcheck_speed.py
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

import minigrad.functional as F
from minigrad import Tensor, gradcheck


def mnist_batch(batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A real MNIST batch if it is cached, else random pixels in [0, 1) and labels."""
    try:
        from dataset.mnist import load_mnist

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    images, labels = mnist_batch(args.batch, rng)
    inputs = [Tensor(images), Tensor(labels), *parameters(rng, args.hidden)]
    calls = 0

    def counted_loss(*tensors: Tensor) -> Tensor:
        nonlocal calls
        calls += 1
        return mlp_loss(*tensors)

    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the float32 -> float64 promotion notice
        for _ in range(args.repeat):
            calls = 0
            start = time.perf_counter()
            assert gradcheck(counted_loss, inputs, mode="fast") is True
            times.append(time.perf_counter() - start)
    count = sum(t.size for t in inputs[2:])
    print(
        f"fast gradcheck of a 784-{args.hidden}-10 MLP, batch {args.batch}, {count:,} "
        f"parameters: median {statistics.median(times) * 1000:.1f} ms, best "
        f"{min(times) * 1000:.1f} ms over {args.repeat} runs; {calls} evaluations of the loss "
        f"(a full check needs {2 * count + 1:,})"
    )


if __name__ == "__main__":
    main()
