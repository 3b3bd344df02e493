"""minigrad against hand-written NumPy (and PyTorch, if installed), measured side by side.

Same MNIST data, same initial weights, same batch order; runs alternate between
frameworks after a warm-up epoch, and the ratios of the medians and of the fastest runs
are printed. Peak memory is measured in a fresh process per framework. Run from the
repository root:

    python -m benchmarks.benchmark            # about 2 minutes on 2 cores
    python -m benchmarks.benchmark --epochs 3 --skip-memory
    python -m benchmarks.benchmark --only-batch1      # the batch-1 784-1024-10 row, 20 s
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
import timeit
from collections.abc import Callable

import numpy as np

import minigrad.functional as F
from benchmarks import numpy_reference as ref
from minigrad import Tensor, nn, no_grad, optim, replay
from minigrad.datasets.mnist import load_mnist
from minigrad.gradient_check import gradcheck

RELU_SIZES, RELU_BATCH, RELU_LR = [784, 100, 10], 100, 0.1
SIGMOID_SIZES, SIGMOID_BATCH, SIGMOID_LR = [784, 30, 10], 10, 3.0
WIDE_SIZES, WIDE_LR, WIDE_STEPS = [784, 1024, 10], 0.01, 100  # batch 1, WIDE_STEPS per run
MEMORY_RUNS = ("numpy", "minigrad", "replay")
STEPS_PER_EPOCH = 600  # of the ReLU configuration; the sigmoid one sees the same 6,000 images


# ----- the two sides of each measurement --------------------------------------------------
def minigrad_model(params: ref.Params, activation: str, output_activation=None) -> nn.MLP:
    sizes = [params["W1"].shape[0]] + [params[f"b{i}"].size for i in (1, 2)]
    model = nn.MLP(sizes, activation=activation, output_activation=output_activation)
    return model.load_book_params(params)


def minigrad_relu_epoch(model: nn.MLP, opt: optim.SGD, x, t, order) -> float:
    loss_sum = 0.0
    for batch in order:
        loss = F.softmax_cross_entropy(model(Tensor(x[batch])), t[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_sum += loss.item()
    return loss_sum / len(order)


def minigrad_sigmoid_epoch(model: nn.MLP, opt: optim.SGD, x, t_onehot, order) -> float:
    loss_sum = 0.0
    for batch in order:
        output = model(Tensor(x[batch]))
        loss = F.mean_squared_error(output, t_onehot[batch], reduction="mean")
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_sum += loss.item()
    return loss_sum / len(order)


def replayed_epoch(step: replay, opt: optim.SGD, x, targets, order) -> float:
    """An epoch through `minigrad.replay`: the same step, its graph re-run from a plan."""
    loss_sum = 0.0
    for batch in order:
        opt.zero_grad()
        loss_sum += step(x[batch], targets[batch]).item()
        opt.step()
    return loss_sum / len(order)


def torch_side(params: ref.Params, x, t, order, lr: float):
    """The ReLU MLP of `params` (two layers) in PyTorch eager, if it is installed (else None)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    weights = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = torch.optim.SGD(list(weights.values()), lr=lr)
    x_all, t_all = torch.from_numpy(x), torch.from_numpy(t.astype(np.int64))

    def epoch() -> float:
        loss_sum = 0.0
        for batch in order:
            index = torch.from_numpy(batch)
            hidden = torch.relu(x_all[index] @ weights["W1"] + weights["b1"])
            logits = hidden @ weights["W2"] + weights["b2"]
            loss = torch.nn.functional.cross_entropy(logits, t_all[index])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
        return loss_sum / len(order)

    return f"PyTorch {torch.__version__}", epoch


# ----- timing -----------------------------------------------------------------------------
def alternate(sides: dict[str, Callable[[], object]], epochs: int) -> dict[str, list[float]]:
    """One warm-up call each, then `epochs` timed calls, interleaved so load hits all alike."""
    for run in sides.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(epochs):
        for name, run in sides.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def report(
    title: str, times: dict[str, list[float]], unit: str = "s", scale: float = 1.0
) -> dict[str, tuple[float, float]]:
    """Print medians and ranges; return {name: (ratio of medians, ratio of fastest runs)}.

    On a shared machine other jobs only ever slow a run down, so the fastest runs are the
    least disturbed; the summary shows both ratios.
    """
    baseline = times["NumPy (hand-written)"]
    print(f"\n{title}")
    print(f"  {'':28} {'median':>9} {'range':>19} {'x NumPy':>8}")
    ratios = {}
    for name, values in times.items():
        median = statistics.median(values)
        low, high = min(values) * scale, max(values) * scale
        ratios[name] = (median / statistics.median(baseline), min(values) / min(baseline))
        print(
            f"  {name:28} {median * scale:8.3f}{unit} {low:8.3f}-{high:.3f}{unit:2}"
            f" {ratios[name][0]:8.3f}"
        )
    return ratios


def gemm_floor(order_steps: int) -> float:
    """Seconds the ReLU configuration's matrix products alone take for one epoch."""
    rng = np.random.default_rng(1)
    x = rng.random((RELU_BATCH, 784), dtype=np.float32)
    w1 = rng.random((784, 100), dtype=np.float32)
    h = rng.random((RELU_BATCH, 100), dtype=np.float32)
    w2 = rng.random((100, 10), dtype=np.float32)
    g = rng.random((RELU_BATCH, 10), dtype=np.float32)
    gh = rng.random((RELU_BATCH, 100), dtype=np.float32)

    def products():
        x @ w1, h @ w2, h.T @ g, g @ w2.T, x.T @ gh

    return min(timeit.repeat(products, number=order_steps, repeat=5))


# ----- memory, in a fresh process per framework -------------------------------------------
def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_resident_mb() -> float:
    """The high-water mark of resident memory since the last `reset_peak()` (Linux)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def memory_run(framework: str, epochs: int) -> dict[str, float]:
    """Train the ReLU configuration; return the training peak RSS (data loading excluded)
    and RSS after the first and last epoch."""
    (x, t), _ = load_mnist()
    params = ref.make_params(RELU_SIZES, seed=0)
    order = np.random.default_rng(0).permutation(len(x))[: STEPS_PER_EPOCH * RELU_BATCH]
    order = order.reshape(STEPS_PER_EPOCH, RELU_BATCH)
    after_data = resident_mb()
    if framework == "numpy":
        run = lambda: ref.train_epoch_relu_mlp(params, x, t, order, RELU_LR)  # noqa: E731
    elif framework == "minigrad":
        model = minigrad_model(params, "relu")
        opt = optim.SGD(model.parameters(), lr=RELU_LR)
        run = lambda: minigrad_relu_epoch(model, opt, x, t, order)  # noqa: E731
    else:
        model = minigrad_model(params, "relu")
        opt = optim.SGD(model.parameters(), lr=RELU_LR)
        step = replay(lambda images, labels: F.softmax_cross_entropy(model(images), labels))
        run = lambda: replayed_epoch(step, opt, x, t, order)  # noqa: E731
    reset_peak()
    resident = []
    for _ in range(epochs):
        run()
        resident.append(resident_mb())
    return {
        "after_data": after_data,
        "first": resident[0],
        "last": resident[-1],
        "peak": peak_resident_mb(),
    }


def measure_memory(epochs: int) -> None:
    results = {}
    for framework in MEMORY_RUNS:
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.benchmark",
                "--memory-run",
                framework,
                "--epochs",
                str(epochs),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[framework] = json.loads(output.strip().splitlines()[-1])
    steps = epochs * STEPS_PER_EPOCH
    print(f"\nMemory, 784-100-10 ReLU, {steps} steps, one fresh process each (MB)")
    print(f"  {'':10} {'after data':>11} {'epoch 1':>9} {'last':>9} {'training peak':>14}")
    for name, r in results.items():
        print(
            f"  {name:10} {r['after_data']:11.1f} {r['first']:9.1f} {r['last']:9.1f} "
            f"{r['peak']:14.1f}"
        )
    for name in MEMORY_RUNS[1:]:
        run = results[name]
        print(
            f"  {name}: peak / NumPy's {run['peak'] / results['numpy']['peak']:.3f}, "
            f"growth from epoch 1 to {epochs}: {run['last'] - run['first']:+.1f} MB"
        )


# ----- the configurations ------------------------------------------------------------------
def batch1_wide_row(x, t, rounds: int) -> tuple[str, dict[str, tuple[float, float]], str]:
    """Batch 1 through a wide layer, 784-1024-10 ReLU: the weight gradient is an outer product.

    Returns the summary row: its label, minigrad / NumPy ratios, and the target, which is
    PyTorch's ratio to NumPy (minigrad eager should be no slower than PyTorch eager).
    """
    order = np.random.default_rng(1).permutation(len(x))[:WIDE_STEPS].reshape(WIDE_STEPS, 1)
    start = ref.make_params(WIDE_SIZES, seed=0)
    numpy_params = {k: v.copy() for k, v in start.items()}
    model = minigrad_model(start, "relu")
    opt = optim.SGD(model.parameters(), lr=WIDE_LR)
    sides = {
        "NumPy (hand-written)": lambda: ref.train_epoch_relu_mlp(
            numpy_params, x, t, order, WIDE_LR
        ),
        "minigrad": lambda: minigrad_relu_epoch(model, opt, x, t, order),
    }
    torch = torch_side(start, x, t, order, WIDE_LR)
    if torch:
        sides[torch[0]] = torch[1]
    times = alternate(sides, rounds)
    ratios = report(
        f"784-1024-10 ReLU, SGD, batch 1, {WIDE_STEPS} steps per run (ms/step)",
        times,
        unit="ms",
        scale=1e3 / WIDE_STEPS,
    )
    if not torch:
        return "784-1024-10 batch 1", ratios, "<= PyTorch (not installed)"
    mine, theirs = ratios["minigrad"], ratios[torch[0]]
    print(
        f"  minigrad / PyTorch: medians {mine[0] / theirs[0]:.3f} "
        f"(fastest runs {mine[1] / theirs[1]:.3f})"
    )
    return "784-1024-10 batch 1", ratios, f"<= PyTorch ({theirs[0]:.3f})"


def print_summary(rows: list[tuple[str, dict[str, tuple[float, float]], str]]) -> None:
    print("\nsummary, minigrad / NumPy: medians (fastest runs)")
    print(f"  {'':22} {'eager':>15} {'replay':>15}  target")
    for label, measured, target in rows:
        cells = [
            f"{measured[side][0]:.3f} ({measured[side][1]:.3f})" if side in measured else "-"
            for side in ("minigrad", "minigrad replay")
        ]
        print(f"  {label:22} {cells[0]:>15} {cells[1]:>15}  {target}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per framework")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory runs")
    parser.add_argument(
        "--only-batch1", action="store_true", help="run only the batch-1 784-1024-10 row"
    )
    parser.add_argument("--memory-run", choices=MEMORY_RUNS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_run:
        print(json.dumps(memory_run(args.memory_run, max(args.epochs, 2))))
        return

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}"
    )
    (x, t), (x_test, t_test) = load_mnist()
    if args.only_batch1:
        print_summary([batch1_wide_row(x, t, args.epochs * 2)])
        return
    t_onehot = np.eye(10, dtype=np.float32)[t]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))[: STEPS_PER_EPOCH * RELU_BATCH]
    relu_order = order.reshape(STEPS_PER_EPOCH, RELU_BATCH)
    sigmoid_order = order.reshape(-1, SIGMOID_BATCH)

    # 784-100-10 ReLU, batch 100: both sides start from the same weights each epoch.
    start = ref.make_params(RELU_SIZES, seed=0)
    numpy_params = {k: v.copy() for k, v in start.items()}
    model = minigrad_model(start, "relu")
    opt = optim.SGD(model.parameters(), lr=RELU_LR)
    replayed = minigrad_model(start, "relu")
    replayed_opt = optim.SGD(replayed.parameters(), lr=RELU_LR)
    relu_step = replay(lambda images, labels: F.softmax_cross_entropy(replayed(images), labels))
    sides = {
        "NumPy (hand-written)": lambda: ref.train_epoch_relu_mlp(
            numpy_params, x, t, relu_order, RELU_LR
        ),
        "minigrad": lambda: minigrad_relu_epoch(model, opt, x, t, relu_order),
        "minigrad replay": lambda: replayed_epoch(relu_step, replayed_opt, x, t, relu_order),
    }
    torch = torch_side(start, x, t, relu_order, RELU_LR)
    if torch:
        sides[torch[0]] = torch[1]
    times = alternate(sides, args.epochs)
    ratios = report("784-100-10 ReLU, SGD, batch 100, 600 steps (s/epoch)", times)
    floor = gemm_floor(STEPS_PER_EPOCH)
    print(
        f"  GEMM floor {floor:.3f} s: minigrad spends "
        f"{floor / statistics.median(times['minigrad']):.0%} of its epoch in matrix products"
    )

    # Nielsen's 784-30-10 sigmoid, quadratic cost, batch 10: Python overhead dominates.
    start = ref.make_params(SIGMOID_SIZES, seed=0, weight_std=1.0)
    numpy_params = {k: v.copy() for k, v in start.items()}
    model = minigrad_model(start, "sigmoid", output_activation="sigmoid")
    opt = optim.SGD(model.parameters(), lr=SIGMOID_LR)
    replayed = minigrad_model(start, "sigmoid", output_activation="sigmoid")
    replayed_opt = optim.SGD(replayed.parameters(), lr=SIGMOID_LR)
    sigmoid_step = replay(
        lambda images, targets: F.mean_squared_error(replayed(images), targets, reduction="mean")
    )
    times = alternate(
        {
            "NumPy (hand-written)": lambda: ref.train_epoch_sigmoid_mse(
                numpy_params, x, t_onehot, sigmoid_order, SIGMOID_LR
            ),
            "minigrad": lambda: minigrad_sigmoid_epoch(model, opt, x, t_onehot, sigmoid_order),
            "minigrad replay": lambda: replayed_epoch(
                sigmoid_step, replayed_opt, x, t_onehot, sigmoid_order
            ),
        },
        args.epochs,
    )
    ratios_sigmoid = report(
        "784-30-10 sigmoid, quadratic cost, batch 10, 6000 steps (s/epoch)", times
    )

    wide_row = batch1_wide_row(x, t, args.epochs * 2)

    # The tiny graph: per-op overhead.
    tiny_x = rng.standard_normal((2, 3)).astype(np.float32)
    tiny_w = rng.standard_normal((3, 4)).astype(np.float32)
    tiny_b = np.zeros(4, np.float32)
    x_t, w_t, b_t = Tensor(tiny_x), Tensor(tiny_w, requires_grad=True), Tensor(tiny_b, True)

    def tiny_minigrad():
        w_t.grad = b_t.grad = None
        (x_t @ w_t + b_t).sigmoid().sum().backward()

    tiny_step = replay(lambda x_batch: (x_batch @ w_t + b_t).sigmoid().sum())

    def tiny_replayed():
        w_t.grad = b_t.grad = None
        tiny_step(tiny_x)

    calls = 2000
    times = alternate(
        {
            "NumPy (hand-written)": lambda: timeit.timeit(
                lambda: ref.tiny_forward_backward(tiny_x, tiny_w, tiny_b), number=calls
            ),
            "minigrad": lambda: timeit.timeit(tiny_minigrad, number=calls),
            "minigrad replay": lambda: timeit.timeit(tiny_replayed, number=calls),
        },
        args.epochs * 4,
    )
    tiny = report(
        "tiny graph sigmoid(x @ W + b).sum(), 2x3 @ 3x4, forward + backward",
        times,
        unit="us",
        scale=1e6 / calls,
    )

    # Inference on the 10,000 test images in one batch.
    params = ref.make_params(RELU_SIZES, seed=0)
    model = minigrad_model(params, "relu").eval()

    def infer_minigrad():
        with no_grad():
            return model(Tensor(x_test)).data

    np.testing.assert_allclose(infer_minigrad(), ref.predict(params, x_test), rtol=1e-4, atol=1e-4)
    times = alternate(
        {
            "NumPy (hand-written)": lambda: ref.predict(params, x_test),
            "minigrad": infer_minigrad,
        },
        args.epochs * 4,
    )
    inference = report(
        "inference, 10,000 test images in one batch (ms)", times, unit="ms", scale=1e3
    )

    # Fast gradcheck of the whole 784-100-10 MLP on a batch of 100.
    params = ref.make_params(RELU_SIZES, seed=0)
    leaves = [  # float64, as gradcheck would promote them anyway
        Tensor(params[k].astype(np.float64), requires_grad=True, name=k)
        for k in ("W1", "b1", "W2", "b2")
    ]
    batch = relu_order[0]

    def mlp_loss(w1, b1, w2, b2):
        return F.softmax_cross_entropy(
            F.linear(F.linear(x[batch], w1, b1).relu(), w2, b2), t[batch]
        )

    seconds = []
    for _ in range(3):
        start_time = time.perf_counter()
        assert gradcheck(mlp_loss, leaves, mode="fast") is True
        seconds.append(time.perf_counter() - start_time)
    print(
        f"\nfast gradcheck of the 784-100-10 MLP (79,510 parameters), batch 100: "
        f"median {statistics.median(seconds):.3f} s"
    )

    print_summary(
        [
            ("784-100-10 batch 100", ratios, "<= 1.05"),
            ("784-30-10 batch 10", ratios_sigmoid, "<= 1.5"),
            ("tiny graph", tiny, "<= 2.2"),
            ("inference 10k", inference, "<= 1.1"),
            wide_row,
        ]
    )
    if not args.skip_memory:
        measure_memory(max(args.epochs, 2))


if __name__ == "__main__":
    main()
