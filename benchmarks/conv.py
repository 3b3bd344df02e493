"""The book's conv nets, SimpleConvNet and DeepConvNet (`benchmarks/conv_reference.py` has
their layers), trained in minigrad, in hand-written NumPy with the book's im2col (twice: the
book's code as written, in float64, and tuned, in float32) and in PyTorch eager, if
installed; plus memory and inference.

Training: softmax cross-entropy, Adam lr 1e-3, batch 100 (DeepConvNet without dropout, on
every side). Every side starts from the same weights and trains on the same MNIST batches
(random images if MNIST is not cached); the first step's losses must agree. After a
warm-up, rounds of steps alternate between the sides, so load from other jobs hits every
side alike; the script prints ms per step (median and range over rounds) and the ratios of
the medians (in brackets: of the fastest rounds) to PyTorch, to the book's code, to the
tuned NumPy reference and to the GEMM floor: the step's matrix products alone, each one
float32 GEMM of the best layout (columns (C*KH*KW, N*OH*OW) for a convolution), with
nothing else.

Memory: one DeepConvNet training step in a fresh process per side, after a warm-up step
(Adam's moments exist by then). The figure is the step's peak resident memory (Linux's
VmHWM, reset just before it) minus the resident memory just before it: what the step
itself allocates, NumPy and PyTorch alike (tracemalloc would not see PyTorch's buffers).
Each process runs with MALLOC_MMAP_THRESHOLD_ fixed, so freed arrays go back to the system
on both sides instead of staying in malloc's heap and hiding the next step's peak.

Inference: SimpleConvNet's scores for the 10,000 test digits in batches of 1,000, without
recording a graph. Run from the repository root:

    python -m benchmarks.conv                        # 3-10 minutes on 2 shared cores
    python -m benchmarks.conv --rounds 3 --steps 3 --inference-rounds 1 --skip-memory
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
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
from benchmarks.benchmark import peak_resident_mb, reset_peak, resident_mb  # noqa: E402
from minigrad import Tensor, nn, no_grad, optim, replay  # noqa: E402

BATCH, LR, BATCHES = 100, 1e-3, 20
INFERENCE_BATCH = 1000
BOOK, TUNED, FLOOR = "NumPy, the book's code", "NumPy, tuned", "GEMM floor"
MEMORY_SIDES = ("minigrad", "torch")
Step = Callable[[int], float]


def digits(count: int, test: bool = False) -> tuple[np.ndarray, np.ndarray, str]:
    """MNIST digits (N, 1, 28, 28) if they are cached, else random pixels."""
    try:
        from dataset.mnist import load_mnist

        (x, t) = load_mnist(flatten=False)[1 if test else 0]
        return x[:count], t[:count].astype(np.int64), "MNIST"
    except Exception:  # no cached data: the timing does not depend on the pixel values
        rng = np.random.default_rng(0)
        x = rng.random((count, 1, 28, 28), dtype=np.float32)
        return x, rng.integers(0, 10, count), "random images"


def forward(net: ref.Net, weights: dict, x, conv: Callable, pool: Callable, affine: Callable):
    """The net's logits in any framework: `conv(x, W, b, padding=...)`, `pool(x, 2)` and
    `affine(x, W, b)` (W is (in, out)) are its functions; relu and flatten are methods."""
    numbers = iter(net.weighted())
    for layer in net.layers:
        if layer[0] == "relu":
            x = x.relu()
        elif layer[0] == "pool":
            x = pool(x, ref.POOL)
        else:
            number = next(numbers)
            weight, bias = weights[f"W{number}"], weights[f"b{number}"]
            if layer[0] == "conv":
                x = conv(x, weight, bias, padding=layer[3])
            else:
                x = affine(x.flatten(1), weight, bias)
    return x


def minigrad_logits(net: ref.Net, weights: dict, x, conv: Callable = F.conv2d):
    return forward(net, weights, x, conv, F.max_pool2d, F.linear)


def minigrad_weights(params: ref.Params) -> dict[str, nn.Parameter]:
    return {key: nn.Parameter(value.copy()) for key, value in params.items()}


def rows_of(batch: int) -> slice:
    return slice(batch * BATCH, (batch + 1) * BATCH)


def minigrad_side(net: ref.Net, params: ref.Params, x, t, conv: Callable = F.conv2d) -> Step:
    weights = minigrad_weights(params)
    optimizer = optim.Adam(list(weights.values()), lr=LR)

    def step(batch: int) -> float:
        rows = rows_of(batch)
        loss = F.softmax_cross_entropy(minigrad_logits(net, weights, x[rows], conv), t[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def replayed_side(net: ref.Net, params: ref.Params, x, t) -> Step:
    weights = minigrad_weights(params)
    optimizer = optim.Adam(list(weights.values()), lr=LR)
    loss_of = replay(
        lambda images, labels: F.softmax_cross_entropy(
            minigrad_logits(net, weights, images), labels
        )
    )

    def step(batch: int) -> float:
        rows = rows_of(batch)
        optimizer.zero_grad()
        loss = loss_of(x[rows], t[rows])
        optimizer.step()
        return loss.item()

    return step


def numpy_side(net: ref.Net, params: ref.Params, x, t, tuned: bool = True) -> Step:
    """The reference in NumPy; untuned, the book's code as written, in float64 as the book
    computes (its weights are float64 and its im2col makes float64 columns; the images are
    cast here so that the first convolution's columns are float64 too)."""
    dtype = np.float32 if tuned else np.float64
    params = {key: value.astype(dtype) for key, value in params.items()}
    x = x.astype(dtype, copy=False)
    optimizer = ref.Adam(lr=LR)

    def step(batch: int) -> float:
        rows = rows_of(batch)
        return ref.train_step(net, params, optimizer, x[rows], t[rows], tuned)

    return step


def affine_for_torch(x, weight, bias):
    return x @ weight + bias


def torch_functions():
    """PyTorch's module, and `forward`'s three functions in it; None if not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
    functional = torch.nn.functional
    return torch, (functional.conv2d, functional.max_pool2d, affine_for_torch)


def torch_side(net: ref.Net, params: ref.Params, x, t) -> Step:
    """The same step in PyTorch eager, on as many threads as NumPy's BLAS."""
    torch, functions = torch_functions()
    weights = {key: torch.tensor(value, requires_grad=True) for key, value in params.items()}
    optimizer = torch.optim.Adam(list(weights.values()), lr=LR)
    x_all, t_all = torch.from_numpy(x), torch.from_numpy(t)

    def step(batch: int) -> float:
        rows = rows_of(batch)
        logits = forward(net, weights, x_all[rows], *functions)
        loss = torch.nn.functional.cross_entropy(logits, t_all[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def gemm_side(net: ref.Net) -> Step:
    """The step's matrix products alone, on random float32 arrays: forward, the weights'
    gradient and (past the first layer) the inputs' gradient of every conv and affine."""
    rng = np.random.default_rng(1)
    products = []
    for position, (layer, shape) in enumerate(net.inputs()):
        if layer[0] == "conv":
            _, filters, kernel, padding = layer
            side = shape[1] + 2 * padding - kernel + 1
            inner, outer = shape[0] * kernel * kernel, BATCH * side * side
        elif layer[0] == "affine":
            filters, inner, outer = layer[1], int(np.prod(shape)), BATCH
        else:
            continue
        weight = rng.random((filters, inner), dtype=np.float32)
        columns = rng.random((inner, outer), dtype=np.float32)
        grad = rng.random((filters, outer), dtype=np.float32)
        products.append((weight, columns, grad, position > 0))

    def step(batch: int) -> float:
        for weight, columns, grad, inputs_need_grad in products:
            weight @ columns, grad @ columns.T
            if inputs_need_grad:
                weight.T @ grad
        return 0.0

    return step


def alternate(sides: dict[str, Step], rounds: int, steps: int) -> dict[str, list[float]]:
    """A warm-up round each, then `rounds` timed rounds of `steps` steps, side after side.
    Returns seconds per step, per round."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for round_index in range(rounds + 1):
        for name, step in sides.items():
            start = time.perf_counter()
            for offset in range(steps):
                step((round_index * steps + offset) % BATCHES)
            if round_index:
                times[name].append((time.perf_counter() - start) / steps)
    return times


def ratio(times: dict[str, list[float]], name: str, to: str | None) -> str:
    """The ratio of the medians, and (in brackets) of the fastest rounds, which other jobs
    on a shared machine disturb least."""
    if to is None or to not in times:
        return "-"
    medians = statistics.median(times[name]) / statistics.median(times[to])
    return f"{medians:5.2f} ({min(times[name]) / min(times[to]):4.2f})"


def report(title: str, times: dict[str, list[float]], torch_name: str | None) -> None:
    print(f"\n{title} (ms)")
    print(
        f"  {'':28} {'median':>7} {'range':>13} {'x PyTorch':>12} {'x book':>12} "
        f"{'x tuned':>12} {'x floor':>12}"
    )
    for name, values in times.items():
        print(
            f"  {name:28} {statistics.median(values) * 1e3:7.1f} "
            f"{min(values) * 1e3:6.1f}-{max(values) * 1e3:<6.1f} "
            f"{ratio(times, name, torch_name):>12} {ratio(times, name, BOOK):>12} "
            f"{ratio(times, name, TUNED):>12} {ratio(times, name, FLOOR):>12}"
        )


def train_sides(net: ref.Net, x, t, with_torch: bool) -> tuple[dict[str, Step], str | None]:
    params = ref.make_params(seed=0, net=net)
    sides = {
        "minigrad": minigrad_side(net, params, x, t),
        "minigrad, composed conv": minigrad_side(net, params, x, t, F.conv2d_composed),
        "minigrad replay": replayed_side(net, params, x, t),
        BOOK: numpy_side(net, params, x, t, tuned=False),
        TUNED: numpy_side(net, params, x, t),
    }
    torch_name = None
    if with_torch:
        import torch

        torch_name = f"PyTorch {torch.__version__} eager"
        sides[torch_name] = torch_side(net, params, x, t)
    first_losses = {name: step(0) for name, step in sides.items()}  # the same math everywhere
    spread = max(first_losses.values()) - min(first_losses.values())
    print(
        f"{net.name}: first-step loss {first_losses['minigrad']:.6f} on every side "
        f"(spread {spread:.1e})"
    )
    assert spread < 1e-4, first_losses
    sides[FLOOR] = gemm_side(net)
    return sides, torch_name


def train(net: ref.Net, x, t, with_torch: bool, rounds: int, steps: int) -> None:
    sides, torch_name = train_sides(net, x, t, with_torch)
    times = alternate(sides, rounds, steps)
    report(f"{net.name} training step, batch {BATCH}", times, torch_name)
    target = 1.3 if net is ref.SIMPLE else 3.0
    versus_torch = ratio(times, "minigrad", torch_name)
    print(f"  target: minigrad at most {target}x PyTorch eager: {versus_torch}")
    faster = ratio(times, BOOK, "minigrad")
    print(f"  target: minigrad at least 3x faster than the book's code: {faster}")
    print(f"  (and than the tuned im2col reference: {ratio(times, TUNED, 'minigrad')})")


def inference(with_torch: bool, rounds: int) -> None:
    """SimpleConvNet's scores for the 10,000 test digits, batch after batch, no graph."""
    x, _, _ = digits(10_000, test=True)
    params = ref.make_params(seed=0, net=ref.SIMPLE)
    weights = {key: Tensor(value) for key, value in params.items()}
    batches = [x[start : start + INFERENCE_BATCH] for start in range(0, len(x), INFERENCE_BATCH)]

    def minigrad_scores():
        with no_grad():
            return np.concatenate([minigrad_logits(ref.SIMPLE, weights, b).data for b in batches])

    def numpy_scores():
        return np.concatenate([ref.predict(ref.SIMPLE, params, b) for b in batches])

    sides = {"minigrad": minigrad_scores, TUNED: numpy_scores}
    torch_name = None
    if with_torch:
        torch, functions = torch_functions()
        torch_weights = {key: torch.from_numpy(value) for key, value in params.items()}

        def torch_scores():
            with torch.no_grad():
                return np.concatenate(
                    [
                        forward(ref.SIMPLE, torch_weights, torch.from_numpy(b), *functions).numpy()
                        for b in batches
                    ]
                )

        torch_name = f"PyTorch {torch.__version__} eager"
        sides[torch_name] = torch_scores
    expected = numpy_scores()
    for scores in sides.values():
        np.testing.assert_allclose(scores(), expected, rtol=1e-4, atol=1e-5)
    times = alternate({name: lambda batch, f=f: f() for name, f in sides.items()}, rounds, 1)
    report(
        f"SimpleConvNet inference, 10,000 test digits in batches of {INFERENCE_BATCH}",
        times,
        torch_name,
    )
    print(f"  target: minigrad at most 1.2x PyTorch eager: {ratio(times, 'minigrad', torch_name)}")


def memory_of(side: str) -> dict[str, float]:
    """One DeepConvNet step's own peak memory, in this (fresh) process: see the docstring."""
    x, t, _ = digits(2 * BATCH)
    params = ref.make_params(seed=0, net=ref.DEEP)
    step = (
        minigrad_side(ref.DEEP, params, x, t)
        if side == "minigrad"
        else torch_side(ref.DEEP, params, x, t)
    )
    step(0)  # warm-up: Adam's moments and the allocators' first requests
    before = resident_mb()
    reset_peak()
    step(1)
    return {"before": before, "peak": peak_resident_mb()}


def memory(sides: tuple[str, ...]) -> None:
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
    results = {}
    for side in sides:
        command = [sys.executable, "-m", "benchmarks.conv", "--memory-of", side]
        output = subprocess.run(
            command, check=True, capture_output=True, text=True, env=environment
        ).stdout
        results[side] = json.loads(output.strip().splitlines()[-1])
    print(f"\nDeepConvNet, one training step's peak memory, batch {BATCH}, fresh process each (MB)")
    print(f"  {'':10} {'resident before':>16} {'step peak':>10} {'step own':>9}")
    for side, result in results.items():
        own = result["peak"] - result["before"]
        print(f"  {side:10} {result['before']:16.1f} {result['peak']:10.1f} {own:9.1f}")
    if "torch" in results:
        own = {side: r["peak"] - r["before"] for side, r in results.items()}
        print(f"  target: minigrad at most 1.5x PyTorch's: {own['minigrad'] / own['torch']:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per side")
    parser.add_argument("--steps", type=int, default=5, help="training steps per round")
    parser.add_argument("--inference-rounds", type=int, default=3, help="of 10,000 digits")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-of", choices=MEMORY_SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_of:
        print(json.dumps(memory_of(args.memory_of)))
        return
    x, t, source = digits(BATCHES * BATCH)
    with_torch = torch_functions() is not None
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, "
        f"{os.environ['OPENBLAS_NUM_THREADS']} thread(s), {source}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for net in (ref.SIMPLE, ref.DEEP):
        train(net, x, t, with_torch, args.rounds, args.steps)
    inference(with_torch, args.inference_rounds)
    if not args.skip_memory:
        memory(MEMORY_SIDES if with_torch else ("minigrad",))
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
