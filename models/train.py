"""Train an MNIST MLP preset and keep everything worth looking at in one run folder.

    python -m models.train                      # the `default` preset
    python -m models.train --preset nielsen     # Nielsen's network.py, 30 epochs
    python -m models.train --quick              # a smoke run in a few seconds
    python -m models.train --eager              # never replay the step (see choose_step)

The folder (default `runs/<preset>-<time>/`) gets weights.npz, config.json, metrics.json,
metrics.csv, curves.png, misclassified.png, and graph.svg / graph_expanded.svg of one
training step. Each file is written whole or not at all (`minigrad.files.atomic_path`): under
a temporary name beside it, renamed when complete.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import io
import json
import math
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from minigrad import Tensor, optim, replay
from minigrad.data import DataLoader
from minigrad.datasets.mnist import MnistError, load_mnist, save_digit_grid
from minigrad.files import atomic_path, atomic_write
from models.mlp import OPTIMIZERS, PRESETS, MnistMLP, Preset, confusion_matrix, evaluate

QUICK_TRAIN, QUICK_TEST = 3_000, 1_000  # --quick: digits kept from each split
TRAIN_EVAL_SIZE = 10_000  # train metrics are measured on this many training digits
MISCLASSIFIED_SHOWN = 40
GRAPH_BATCH = 4

Split = tuple[np.ndarray, np.ndarray]


class RunError(Exception):
    """A problem the user can fix (an unwritable folder, no data); shown without a traceback."""


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not (text.isdecimal() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0 (`float` alone accepts inf, nan and -1)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan  # refused below, with the same message
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text!r}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m models.train",
        description="Train an MNIST MLP preset with minigrad and save the run.",
        epilog="presets:\n"
        + "\n".join(f"  {name:8} {preset.description}" for name, preset in PRESETS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", default="default", choices=PRESETS, help="default: default")
    parser.add_argument("--epochs", type=positive_int, help="whole epochs (default: the preset's)")
    parser.add_argument(
        "--batch-size", type=positive_int, help="examples per update (default: the preset's)"
    )
    parser.add_argument("--lr", type=positive_float, help="learning rate (default: the preset's)")
    parser.add_argument(
        "--optimizer", choices=OPTIMIZERS, help="update rule (default: the preset's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="same seed, same run (default 0)")
    parser.add_argument("--out", type=Path, help="run folder (default runs/<preset>-<time>)")
    parser.add_argument("--data-dir", type=Path, help="where MNIST is cached")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: 1 epoch on {QUICK_TRAIN:,} training digits, {QUICK_TEST:,} test digits",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--eager",
        action="store_true",
        help="build and walk every step's graph (default: replay it unless there is dropout)",
    )
    return parser.parse_args(argv)


def resolve_preset(args: argparse.Namespace) -> Preset:
    """The preset with the command line's overrides; --epochs replaces a step budget."""
    preset = PRESETS[args.preset]
    changes: dict[str, Any] = {}
    if args.quick:
        changes.update(epochs=1, steps=None, validation=0)
    if args.epochs is not None:
        changes.update(epochs=args.epochs, steps=None)
    if args.batch_size is not None:
        changes["batch_size"] = args.batch_size
    if args.lr is not None:
        changes["lr"] = args.lr
    if args.optimizer is not None:
        changes["optimizer"] = args.optimizer
    return dataclasses.replace(preset, **changes)


# ----- the run folder ---------------------------------------------------------------------------
def make_run_folder(out: Path | None, preset_name: str) -> Path:
    """Create the folder and prove it is writable, before any time is spent training."""
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{preset_name}-{stamp}"
        suffix = 2
        while out.exists():
            out = Path("runs") / f"{preset_name}-{stamp}-{suffix}"
            suffix += 1
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise RunError(
            f"cannot write to the output folder {out} ({error.strerror or error}); "
            "choose another with --out"
        ) from error
    return out


@contextlib.contextmanager
def removed_if_left_empty(folder: Path) -> Iterator[None]:
    """On failure or Ctrl-C, remove the run folder if nothing was written into it."""
    try:
        yield
    except BaseException:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def write_text(path: Path, text: str) -> None:
    with atomic_write(path) as out:
        out.write(text.encode())


# ----- data ---------------------------------------------------------------------------------------
def load_splits(preset: Preset, quick: bool, data_dir: Path | None) -> dict[str, Split]:
    """train / (val) / test, as float32 images in [0, 1] and integer labels."""
    try:
        loaded = load_mnist(
            normalize=True, flatten=True, data_dir=data_dir, validation=preset.validation
        )
    except MnistError as error:
        raise RunError(f"could not load MNIST: {error}") from error
    names = ("train", "val", "test") if preset.validation else ("train", "test")
    splits = {name: (x, t.astype(np.int64)) for name, (x, t) in zip(names, loaded)}
    if quick:
        splits = {
            name: (x[:size], t[:size])
            for (name, (x, t)), size in zip(splits.items(), (QUICK_TRAIN, QUICK_TEST))
        }
    return splits


# ----- training -----------------------------------------------------------------------------------
def make_optimizer(preset: Preset, model: MnistMLP) -> optim.Optimizer:
    options: dict[str, Any] = {"lr": preset.lr}
    if preset.weight_decay:
        options["weight_decay"] = preset.weight_decay
    if preset.momentum:
        options["momentum"] = preset.momentum
    return OPTIMIZERS[preset.optimizer](model.parameters(), **options)


def make_schedule(
    preset: Preset, optimizer: optim.Optimizer, total_steps: int, steps_per_epoch: int
) -> optim.LRSchedule | None:
    """Schedules count batches, so cosine decays smoothly over the whole run."""
    if preset.schedule == "cosine":
        return optim.CosineLR(optimizer, total_steps)
    if preset.schedule == "step":
        return optim.StepLR(optimizer, preset.lr_step_epochs * steps_per_epoch, preset.lr_gamma)
    if preset.schedule == "constant":
        return None
    raise ValueError(f"schedule must be 'constant', 'cosine' or 'step', got {preset.schedule!r}")


def eager(loss_fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """The step `replay(loss_fn)` would run, run plainly: the loss, after backward()."""

    def step(*args: Any) -> Tensor:
        loss = loss_fn(*args)
        loss.backward()
        return loss

    return step


STEP_PATHS = {"replay": replay, "eager": eager}


@dataclasses.dataclass(frozen=True)
class StepPath:
    """How the training step runs (a key of STEP_PATHS), and why."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"step: {self.name} ({self.reason})"


def choose_step(preset: Preset, eager: bool = False) -> StepPath:
    """Replay, unless told not to or the preset has dropout: its new masks each batch make
    a graph that never repeats, which replay would only find out and warn about."""
    if eager:
        return StepPath("eager", "--eager")
    if preset.dropout:
        return StepPath("eager", "dropout draws new masks each batch")
    return StepPath("replay", "the graph repeats every batch")


class Trainer:
    """Runs the update steps: loss and gradients (replayed or eager), optional clipping,
    optimizer step."""

    def __init__(
        self, preset: Preset, model: MnistMLP, loader: DataLoader, progress: bool, path: StepPath
    ):
        self.preset = preset
        self.model = model

        def batch_loss(x: Any, targets: Any) -> Tensor:
            return model.loss_against(model(x), targets)

        self.step = STEP_PATHS[path.name](batch_loss)
        self.loader = loader
        self.progress = progress
        self.total_steps = preset.steps or preset.epochs * len(loader)
        self.epochs = math.ceil(self.total_steps / len(loader))
        self.optimizer = make_optimizer(preset, model)
        self.schedule = make_schedule(preset, self.optimizer, self.total_steps, len(loader))
        self.steps_done = 0

    def epoch(self, number: int) -> float:
        """One pass over the loader (cut short by a step budget); the mean batch loss."""
        steps = min(len(self.loader), self.total_steps - self.steps_done)
        bar = tqdm(
            total=steps,
            desc=f"epoch {number}/{self.epochs}",
            unit="batch",
            mininterval=0.5,
            leave=False,
            disable=not self.progress,
        )
        model, optimizer, schedule = self.model, self.optimizer, self.schedule
        clip = self.preset.max_grad_norm
        loss_sum = 0.0
        with bar:
            for batches_done, (x, t) in zip(range(1, steps + 1), self.loader):
                optimizer.zero_grad()
                loss = self.step(x, model.targets(t))
                if clip:
                    optim.clip_grad_norm(optimizer.params, clip)
                optimizer.step()
                if schedule:
                    schedule.step()
                loss_sum += loss.item()
                if bar.update():
                    bar.set_postfix_str(f"loss {loss_sum / batches_done:.4f}", refresh=False)
        self.steps_done += steps
        return loss_sum / steps


def measure(model: MnistMLP, splits: dict[str, Split]) -> dict[str, float]:
    """Loss and accuracy on every split; "train" on its first TRAIN_EVAL_SIZE digits only,
    which costs a sixth of a full pass and tracks the full figure closely."""
    row = {}
    for name, (x, t) in splits.items():
        if name == "train":
            x, t = x[:TRAIN_EVAL_SIZE], t[:TRAIN_EVAL_SIZE]
        result = evaluate(model, x, t)
        row[f"{name}_loss"] = result.loss
        row[f"{name}_accuracy"] = result.accuracy
    return row


def epoch_line(row: dict[str, Any], epochs: int, test_size: int) -> str:
    parts = [f"epoch {row['epoch']:>{len(str(epochs))}}/{epochs}", f"loss {row['batch_loss']:.4f}"]
    for name in ("train", "val", "test"):
        if f"{name}_loss" in row:
            parts.append(f"{name} loss {row[f'{name}_loss']:.4f} acc {row[f'{name}_accuracy']:.2%}")
    correct = round(row["test_accuracy"] * test_size)
    parts[-1] += f" ({correct} / {test_size})"
    parts.append(f"{row['train_seconds']:.1f} s")
    return " | ".join(parts)


def train(
    preset: Preset,
    splits: dict[str, Split],
    seed: int,
    progress: bool,
    path: StepPath | None = None,
) -> tuple[MnistMLP, list[dict[str, Any]]]:
    """Train a fresh model; print and return one metrics row per epoch. `path` defaults
    to `choose_step(preset)`."""
    init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)
    model = MnistMLP(preset, rng=np.random.default_rng(init_seed))
    x_train, t_train = splits["train"]
    loader = DataLoader(
        x_train,
        t_train,
        batch_size=preset.batch_size,
        shuffle=True,
        seed=np.random.default_rng(shuffle_seed),
    )
    trainer = Trainer(preset, model, loader, progress, path or choose_step(preset))
    history = []
    for number in range(1, trainer.epochs + 1):
        start = time.perf_counter()
        row: dict[str, Any] = {"epoch": number, "lr": trainer.optimizer.lr}
        row["batch_loss"] = trainer.epoch(number)
        row["train_seconds"] = time.perf_counter() - start
        row.update(measure(model, splits))
        row["steps"] = trainer.steps_done
        history.append(row)
        print(epoch_line(row, trainer.epochs, len(splits["test"][1])), flush=True)
    return model, history


# ----- what the run leaves behind ---------------------------------------------------------------
def write_metrics_csv(path: Path, history: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    write_text(path, buffer.getvalue())


def plot_curves(path: Path, history: list[dict[str, Any]]) -> None:
    """Loss and accuracy per epoch, train (and val) against test."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(10, 4))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, [row["batch_loss"] for row in history], "o:", label="batches (running)")
    for name in ("train", "val", "test"):
        if f"{name}_loss" in history[0]:
            loss_axes.plot(epochs, [row[f"{name}_loss"] for row in history], "o-", label=name)
            accuracy = [100 * row[f"{name}_accuracy"] for row in history]
            accuracy_axes.plot(epochs, accuracy, "o-", label=name)
    for axes, title in ((loss_axes, "loss"), (accuracy_axes, "accuracy (%)")):
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary)


def plot_misclassified(path: Path, x: np.ndarray, t: np.ndarray, predictions: np.ndarray) -> bool:
    wrong = np.flatnonzero(predictions != t)[:MISCLASSIFIED_SHOWN]
    if not len(wrong):
        return False
    save_digit_grid(path, x[wrong], t[wrong], predictions=predictions[wrong])
    return True


def draw_graphs(folder: Path, model: MnistMLP, x: np.ndarray, t: np.ndarray) -> list[Path]:
    """graph.svg (one box per layer) and graph_expanded.svg (every op) of one training step."""
    try:
        from minigrad.viz import GraphvizNotFoundError, draw
    except ImportError as error:
        print(f"note: no graph pictures ({error}); pip install -e '.[viz]'")
        return []
    images = Tensor(x[:GRAPH_BATCH], name="x")
    loss = model.loss(model(images), t[:GRAPH_BATCH])
    loss.name = "loss"
    loss.backward(retain_graph=True)
    written = []
    try:
        for name, collapse in (("graph.svg", True), ("graph_expanded.svg", False)):
            draw(loss, path=folder / name, collapse=collapse)
            written.append(folder / name)
    except GraphvizNotFoundError as error:
        print(f"note: no graph pictures: {error}")
    finally:
        model.zero_grad()
    return written


def save_run(
    folder: Path,
    model: MnistMLP,
    config: dict[str, Any],
    history: list[dict[str, Any]],
    splits: dict[str, Split],
) -> list[Path]:
    """Write every file of the run; return their paths."""
    x_test, t_test = splits["test"]
    final = evaluate(model, x_test, t_test)
    metrics = {
        "history": history,
        "test_accuracy": final.accuracy,
        "test_loss": final.loss,
        "confusion_matrix": confusion_matrix(t_test, final.predictions).tolist(),
    }
    written = [model.save(folder / "weights.npz")]
    for name, content in (("config.json", config), ("metrics.json", metrics)):
        write_text(folder / name, json.dumps(content, indent=2) + "\n")
        written.append(folder / name)
    write_metrics_csv(folder / "metrics.csv", history)
    plot_curves(folder / "curves.png", history)
    written += [folder / "metrics.csv", folder / "curves.png"]
    if plot_misclassified(folder / "misclassified.png", x_test, t_test, final.predictions):
        written.append(folder / "misclassified.png")
    x_train, t_train = splits["train"]
    written += draw_graphs(folder, model, x_train, t_train)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    given = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(given)
    preset = resolve_preset(args)
    try:
        folder = make_run_folder(args.out, args.preset)
        with removed_if_left_empty(folder):
            splits = load_splits(preset, args.quick, args.data_dir)
            path = choose_step(preset, args.eager)
            print(f"{args.preset}: {preset.description}", flush=True)
            print(path, flush=True)
            model, history = train(preset, splits, args.seed, not args.no_progress, path)
            config = {
                "preset": args.preset,
                "settings": dataclasses.asdict(preset),
                "seed": args.seed,
                "quick": args.quick,
                "step": path.name,
                "command": shlex.join(["python", "-m", "models.train", *given]),
                "numpy": np.__version__,
            }
            written = save_run(folder, model, config, history, splits)
    except RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {folder}/: {', '.join(path.name for path in written)}")
    last = history[-1]
    train_seconds = sum(row["train_seconds"] for row in history)
    print(
        f"{args.preset}: test accuracy {last['test_accuracy']:.2%} after {len(history)} "
        f"epoch(s), {train_seconds / len(history):.1f} s per epoch, "
        f"{time.perf_counter() - started:.1f} s in total"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
