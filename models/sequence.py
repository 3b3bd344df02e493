"""Row-by-row MNIST: an LSTM (or RNN) reads each image as 28 time steps of 28 pixels, and a
linear layer classifies its last hidden state.

    python -m models.sequence                     # the recipe below; test accuracy per epoch
    python -m models.sequence --cell rnn          # a tanh RNN instead of the LSTM
    python -m models.sequence --quick             # a smoke run on 3,000 digits, seconds

The recipe (`Recipe()`): LSTM with 128 hidden units, Adam lr 2e-3 with cosine decay to 0 over
the run, gradients clipped to norm 1, batch 128, 3 epochs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from minigrad import Tensor, nn, no_grad, optim
from minigrad import functional as F
from minigrad.data import DataLoader
from minigrad.datasets import load_mnist

ROWS = COLUMNS = 28
CLASSES = 10
CELLS = {"lstm": nn.LSTM, "rnn": nn.RNN}
QUICK_TRAIN, QUICK_TEST = 3000, 1000


@dataclass(frozen=True)
class Recipe:
    """How the sequence model is built and trained."""

    cell: str = "lstm"  # a key of CELLS
    hidden_size: int = 128
    lr: float = 2e-3  # Adam's, lowered along a cosine to 0 over the run
    max_grad_norm: float = 1.0  # recurrent gradients can spike; clip their global norm
    batch_size: int = 128
    epochs: int = 3
    seed: int = 0


class RowClassifier(nn.Module):
    """Reads (N, 28, 28) images one row per time step; scores = last hidden state @ W + b."""

    def __init__(self, cell: str = "lstm", hidden_size: int = 128, rng: nn.Seed = None) -> None:
        if cell not in CELLS:
            raise ValueError(f"RowClassifier: cell must be one of {sorted(CELLS)}, got {cell!r}")
        rng = nn.as_generator(rng, "RowClassifier", "rng")
        self.recurrent = CELLS[cell](COLUMNS, hidden_size, batch_first=True, rng=rng)
        self.head = nn.Linear(hidden_size, CLASSES, rng=rng)

    def forward(self, images: Any) -> Tensor:
        array = images.data if isinstance(images, Tensor) else np.asarray(images)
        if array.shape[1:] not in ((ROWS, COLUMNS), (1, ROWS, COLUMNS)):
            raise ValueError(
                f"RowClassifier: images must be (N, 28, 28) or (N, 1, 28, 28), got shape "
                f"{array.shape}; load them with load_mnist(flatten=False)"
            )
        _, state = self.recurrent(array.reshape(len(array), ROWS, COLUMNS))
        last_h = state[0] if isinstance(state, tuple) else state  # LSTM: (h_n, c_n)
        return self.head(last_h[-1])


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    loss: float  # the mean loss of the epoch's batches
    test_accuracy: float
    seconds: float


def accuracy(model: RowClassifier, x: np.ndarray, t: np.ndarray, batch_size: int = 1000) -> float:
    """The fraction of `x` classified as `t`, in batches, recording nothing."""
    correct = 0
    with no_grad():
        for start in range(0, len(x), batch_size):
            scores = model(x[start : start + batch_size]).data
            correct += int(np.sum(scores.argmax(axis=1) == t[start : start + batch_size]))
    return correct / max(len(x), 1)


def train(
    recipe: Recipe,
    train_split: tuple[np.ndarray, np.ndarray],
    test_split: tuple[np.ndarray, np.ndarray],
    progress: bool = True,
) -> tuple[RowClassifier, list[EpochResult]]:
    """Train a RowClassifier by `recipe`; one EpochResult per epoch, printed as it ends.

    Each step runs eagerly, not through `minigrad.replay`: the step slices its images into
    rows outside any recorded op, which replay would freeze, and in a step of ~500 ops
    over 128x512 gate arrays the arithmetic, not the bookkeeping, is what takes the time.
    """
    rng = np.random.default_rng(recipe.seed)
    model = RowClassifier(recipe.cell, recipe.hidden_size, rng)
    loader = DataLoader(*train_split, batch_size=recipe.batch_size, shuffle=True, seed=rng)
    optimizer = optim.Adam(model.parameters(), lr=recipe.lr)
    schedule = optim.CosineLR(optimizer, total_steps=recipe.epochs * len(loader))
    results = []
    for epoch in range(1, recipe.epochs + 1):
        start, loss_sum = time.perf_counter(), 0.0
        bar = tqdm(
            loader,
            desc=f"epoch {epoch}/{recipe.epochs}",
            unit="batch",
            mininterval=0.5,
            leave=False,
            disable=not progress,
        )
        with bar:
            for batches_done, (x, t) in enumerate(bar, start=1):
                loss = F.softmax_cross_entropy(model(x), t)
                optimizer.zero_grad()
                loss.backward()
                optim.clip_grad_norm(model.parameters(), recipe.max_grad_norm)
                optimizer.step()
                schedule.step()
                loss_sum += loss.item()
                if progress and batches_done % 10 == 0:
                    bar.set_postfix_str(f"loss {loss_sum / batches_done:.4f}", refresh=False)
        result = EpochResult(
            epoch,
            loss_sum / len(loader),
            accuracy(model, *test_split),
            time.perf_counter() - start,
        )
        results.append(result)
        print(
            f"epoch {epoch}/{recipe.epochs} | loss {result.loss:.4f} | test acc "
            f"{result.test_accuracy:.2%} | {result.seconds:.1f} s",
            flush=True,
        )
    return model, results


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = Recipe()
    parser = argparse.ArgumentParser(
        prog="python -m models.sequence",
        description="Classify MNIST row by row with a minigrad LSTM or RNN.",
    )
    parser.add_argument("--cell", choices=CELLS, default=defaults.cell)
    parser.add_argument("--hidden-size", type=int, default=defaults.hidden_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: 1 epoch on {QUICK_TRAIN:,} training digits, {QUICK_TEST:,} test digits",
    )
    parser.add_argument("--save", type=Path, help="write the trained weights to this .npz")
    parser.add_argument("--data-dir", type=Path, help="where MNIST is cached")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    recipe = Recipe(
        cell=args.cell,
        hidden_size=args.hidden_size,
        lr=args.lr,
        batch_size=args.batch_size,
        epochs=1 if args.quick else args.epochs,
        seed=args.seed,
    )
    start = time.perf_counter()
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False, data_dir=args.data_dir)
    if args.quick:
        x_train, t_train, x_test, t_test = (
            x_train[:QUICK_TRAIN],
            t_train[:QUICK_TRAIN],
            x_test[:QUICK_TEST],
            t_test[:QUICK_TEST],
        )
    print(
        f"{recipe.cell.upper()} {recipe.hidden_size} over 28 rows of 28 pixels, Adam lr "
        f"{recipe.lr:g} with cosine decay, batch {recipe.batch_size}, {recipe.epochs} epoch(s)"
    )
    model, results = train(recipe, (x_train, t_train), (x_test, t_test), not args.no_progress)
    if args.save:
        print(f"wrote {model.save(args.save)}")
    print(
        f"test accuracy {results[-1].test_accuracy:.2%} after {recipe.epochs} epoch(s), "
        f"{time.perf_counter() - start:.1f} s in total"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
