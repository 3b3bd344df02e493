"""Train an MNIST preset (an MLP or a conv net) and keep all worth looking at in one folder.

    python -m models.train                      # the `default` preset
    python -m models.train --preset nielsen     # Nielsen's network.py, 30 epochs
    python -m models.train --quick              # a smoke run in a few seconds
    python -m models.train --eager              # never replay the step (see choose_step)
    python -m models.train --resume RUN_DIR     # continue a stopped run, number for number

The folder (default `runs/<preset>-<time>/`) gets checkpoint.npz after every epoch, then
weights.npz, config.json, metrics.json, metrics.csv, curves.png, misclassified.png, and
graph.svg / graph_expanded.svg of one training step, and for a conv net filters.png. Each
file is written whole or not at all (`minigrad.files.atomic_path`): under a temporary name
beside it, renamed when complete.
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
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from minigrad import Tensor, optim, replay
from minigrad.data import DataLoader
from minigrad.datasets.mnist import MnistError, load_mnist, save_digit_grid
from minigrad.files import NpzError, atomic_path, atomic_write, read_npz
from minigrad.nn import Conv2d, StateDictError
from models.mlp import (
    OPTIMIZERS,
    PRESETS,
    Preset,
    confusion_matrix,
    evaluate,
    preset_from_settings,
)
from models.networks import MnistNet, build_model, updates_buffers

if TYPE_CHECKING:
    from matplotlib.figure import Figure

QUICK_TRAIN, QUICK_TEST = 3_000, 1_000  # --quick: digits kept from each split
TRAIN_EVAL_SIZE = 10_000  # train metrics are measured on this many training digits
MISCLASSIFIED_SHOWN = 40
GRAPH_BATCH = 4
DEFAULT_PRESET = "default"
DEFAULT_SEED = 0
CHECKPOINT = "checkpoint.npz"

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
        description="Train an MNIST preset (an MLP or a conv net) with minigrad and save the run.",
        epilog="presets:\n"
        + "\n".join(f"  {name:14} {preset.description}" for name, preset in PRESETS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", choices=PRESETS, help=f"default: {DEFAULT_PRESET}")
    parser.add_argument("--epochs", type=positive_int, help="whole epochs (default: the preset's)")
    parser.add_argument(
        "--batch-size", type=positive_int, help="examples per update (default: the preset's)"
    )
    parser.add_argument("--lr", type=positive_float, help="learning rate (default: the preset's)")
    parser.add_argument(
        "--optimizer", choices=OPTIMIZERS, help="update rule (default: the preset's)"
    )
    parser.add_argument("--seed", type=int, help=f"same seed, same run (default {DEFAULT_SEED})")
    folder = parser.add_mutually_exclusive_group()
    folder.add_argument("--out", type=Path, help="run folder (default runs/<preset>-<time>)")
    folder.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help=f"continue the run in RUN_DIR after its last finished epoch (its {CHECKPOINT}), "
        "as if it had never stopped; with --epochs N, train it on to N epochs",
    )
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
    preset = PRESETS[args.preset or DEFAULT_PRESET]
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
            normalize=True,
            flatten=preset.images_flat,
            data_dir=data_dir,
            validation=preset.validation,
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
def make_optimizer(preset: Preset, model: MnistNet) -> optim.Optimizer:
    options: dict[str, Any] = {"lr": preset.lr}
    if preset.weight_decay:
        options["weight_decay"] = preset.weight_decay
    if preset.momentum:
        options["momentum"] = preset.momentum
    return OPTIMIZERS[preset.optimizer](model.parameters(), **options)


# Schedules whose rates depend on the run's length: a resumed run cannot change its epochs.
PLANNED_OVER_THE_RUN = ("cosine", "onecycle")


def make_schedule(
    preset: Preset, optimizer: optim.Optimizer, total_steps: int, steps_per_epoch: int
) -> optim.LRSchedule | None:
    """Schedules count batches, so cosine decays smoothly over the whole run; one cycle
    rises to the preset's lr over the first 30% of the steps, then falls to almost 0."""
    if preset.schedule == "cosine":
        return optim.CosineLR(optimizer, total_steps)
    if preset.schedule == "onecycle":
        return optim.OneCycleLR(optimizer, preset.lr, total_steps)
    if preset.schedule == "step":
        return optim.StepLR(optimizer, preset.lr_step_epochs * steps_per_epoch, preset.lr_gamma)
    if preset.schedule == "constant":
        return None
    raise ValueError(
        f"schedule must be 'constant', 'cosine', 'onecycle' or 'step', got {preset.schedule!r}"
    )


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
    """Replay, unless the preset has dropout or BatchNorm, or told not to: new masks each
    batch make a graph that never repeats, which replay would only find out and warn about;
    BatchNorm updates its running statistics outside the graph, which replay never repeats."""
    if preset.dropout:
        return StepPath("eager", "dropout draws new masks each batch")
    if updates_buffers(preset):
        return StepPath("eager", "BatchNorm updates its running statistics outside the graph")
    if eager:
        return StepPath("eager", "--eager")
    return StepPath("replay", "the graph repeats every batch")


class Trainer:
    """Everything a run steps, and so everything its checkpoint keeps: the model and the
    generator that drew it and draws its dropout masks, the loader and the generator of its
    order, the optimizer and its schedule, and one metrics row per finished epoch."""

    def __init__(
        self,
        preset: Preset,
        splits: dict[str, Split],
        seed: int,
        progress: bool,
        path: StepPath,
    ) -> None:
        self.preset = preset
        self.splits = splits
        self.progress = progress
        init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)
        # The model hands this one generator to its layers and then to its Dropouts.
        self.model_rng = np.random.default_rng(init_seed)
        self.model = model = build_model(preset, rng=self.model_rng)
        x_train, t_train = splits["train"]
        self.loader = DataLoader(
            x_train,
            t_train,
            batch_size=preset.batch_size,
            shuffle=True,
            seed=np.random.default_rng(shuffle_seed),
        )

        def batch_loss(x: Any, targets: Any) -> Tensor:
            return model.loss_against(model(x), targets)

        self.step = STEP_PATHS[path.name](batch_loss)
        self.total_steps = preset.steps or preset.epochs * len(self.loader)
        self.epochs = math.ceil(self.total_steps / len(self.loader))
        self.optimizer = make_optimizer(preset, model)
        self.schedule = make_schedule(preset, self.optimizer, self.total_steps, len(self.loader))
        self.history: list[dict[str, Any]] = []

    @property
    def steps_done(self) -> int:
        return self.history[-1]["steps"] if self.history else 0

    def run(self, after_epoch: Callable[[Trainer], None] | None = None) -> None:
        """Train the epochs not run yet, printing a line for each; `after_epoch(self)` after
        each one (the command saves its checkpoint there)."""
        for number in range(len(self.history) + 1, self.epochs + 1):
            start = time.perf_counter()
            row: dict[str, Any] = {"epoch": number, "lr": self.optimizer.lr}
            steps = min(len(self.loader), self.total_steps - self.steps_done)
            row["batch_loss"] = self.epoch(number, steps)
            row["train_seconds"] = time.perf_counter() - start
            row.update(measure(self.model, self.splits))
            row["steps"] = self.steps_done + steps
            self.history.append(row)
            print(self.epoch_line(row), flush=True)
            if after_epoch is not None:
                after_epoch(self)

    def epoch_line(self, row: dict[str, Any]) -> str:
        return epoch_line(row, self.epochs, len(self.splits["test"][1]))

    def epoch(self, number: int, steps: int) -> float:
        """One pass over the loader, cut short after `steps` batches; the mean batch loss."""
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
        return loss_sum / steps

    # ----- checkpoints --------------------------------------------------------------------
    def save_checkpoint(self, path: Path, config: dict[str, Any]) -> None:
        """Everything the next epoch depends on, in one file written whole, so a checkpoint
        is never half one epoch's and half the next's."""
        arrays = {}
        for part, state in self.state_dicts().items():
            arrays.update({f"{part}.{name}": value for name, value in state.items()})
        progress = {
            "epoch": len(self.history),
            "config": config,
            "history": self.history,
            "rng": {
                "model": self.model_rng.bit_generator.state,
                "shuffle": self.loader.rng.bit_generator.state,
            },
        }
        # JSON text as bytes: a Generator's state holds 128-bit integers, which no NumPy
        # number holds, and an .npz holds numbers only.
        arrays["progress"] = np.frombuffer(json.dumps(progress).encode(), dtype=np.uint8)
        with atomic_write(path) as out:
            np.savez(out, **arrays)

    def state_dicts(self) -> dict[str, dict[str, Any]]:
        parts = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}
        if self.schedule is not None:
            parts["schedule"] = self.schedule.state_dict()
        return parts

    def restore(self, checkpoint: Checkpoint) -> None:
        """Continue from `checkpoint` as if its epochs had just been run here."""
        try:
            self.model.load_state_dict(checkpoint.part("model"))
            self.optimizer.load_state_dict(checkpoint.part("optimizer"))
            if self.schedule is not None:
                self.schedule.load_state_dict(checkpoint.part("schedule"))
            self.model_rng.bit_generator.state = checkpoint.progress["rng"]["model"]
            self.loader.rng.bit_generator.state = checkpoint.progress["rng"]["shuffle"]
        except (StateDictError, optim.StateError, KeyError, TypeError, ValueError) as error:
            raise RunError(f"{checkpoint.path} does not fit this run: {error}") from error
        self.history = checkpoint.progress["history"]


@dataclasses.dataclass
class Checkpoint:
    """A run's checkpoint.npz as read back: the arrays and the progress record."""

    path: Path
    arrays: dict[str, np.ndarray]
    progress: dict[str, Any]

    def part(self, name: str) -> dict[str, np.ndarray]:
        """The state_dict saved under `name.` ("model", "optimizer", "schedule")."""
        prefix = f"{name}."
        return {
            key.removeprefix(prefix): value
            for key, value in self.arrays.items()
            if key.startswith(prefix)
        }


def read_checkpoint(folder: Path) -> Checkpoint:
    if not folder.is_dir():
        raise RunError(f"--resume: there is no run folder {folder}")
    path = folder / CHECKPOINT
    try:
        arrays = read_npz(path)
    except FileNotFoundError as error:
        raise RunError(
            f"--resume: {folder} has no {CHECKPOINT}; a run saves one after each epoch, so "
            "this run finished none (or is no run folder): start it again"
        ) from error
    except NpzError as error:
        raise RunError(f"--resume: {error}") from error
    progress = read_progress(arrays.pop("progress", None))
    if progress is None:
        raise RunError(
            f"--resume: {path} holds no readable progress record; it was not written by "
            "this command"
        )
    return Checkpoint(path, arrays, progress)


def read_progress(saved: np.ndarray | None) -> dict[str, Any] | None:
    """The record `save_checkpoint` stores as JSON bytes; None if it is missing or unreadable."""
    try:
        progress = json.loads(saved.tobytes())
    except (AttributeError, ValueError):
        return None
    if not (isinstance(progress, dict) and {"config", "history", "rng"} <= progress.keys()):
        return None
    return progress


def measure(model: MnistNet, splits: dict[str, Split]) -> dict[str, float]:
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
) -> tuple[MnistNet, list[dict[str, Any]]]:
    """Train a fresh model; print and return one metrics row per epoch. `path` defaults
    to `choose_step(preset)`."""
    trainer = Trainer(preset, splits, seed, progress, path or choose_step(preset))
    trainer.run()
    return trainer.model, trainer.history


# ----- what the run leaves behind ---------------------------------------------------------------
def write_metrics_csv(path: Path, history: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    write_text(path, buffer.getvalue())


# One colour per split, the same in every panel of every preset's picture.
SPLIT_COLOURS = {"batches": "#7f7f7f", "train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}


def plot_curves(path: Path, history: list[dict[str, Any]], preset_name: str) -> None:
    """Save `curves_figure` as a PNG, whole or not at all."""
    figure = curves_figure(history, preset_name)
    with atomic_path(path) as temporary:
        figure.savefig(temporary)


def curves_figure(history: list[dict[str, Any]], preset_name: str) -> Figure:
    """Loss and accuracy per epoch, train (and val) against test, under a title naming the
    preset and its final test accuracy."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(10, 4.3))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    batches = [row["batch_loss"] for row in history]
    loss_axes.plot(epochs, batches, "o:", color=SPLIT_COLOURS["batches"], label="batches (running)")
    for name in ("train", "val", "test"):
        if f"{name}_loss" in history[0]:
            looks = {"color": SPLIT_COLOURS[name], "label": name}
            loss_axes.plot(epochs, [row[f"{name}_loss"] for row in history], "o-", **looks)
            accuracy = [100 * row[f"{name}_accuracy"] for row in history]
            accuracy_axes.plot(epochs, accuracy, "o-", **looks)
    for axes, title in ((loss_axes, "loss"), (accuracy_axes, "accuracy (%)")):
        axes.set_xlabel("epoch")
        axes.set_xlim(0.5, epochs[-1] + 0.5)
        # whole epochs as ticks, even for a single epoch
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend()
    final = history[-1]
    figure.suptitle(
        f"{preset_name}: test accuracy {final['test_accuracy']:.2%} after "
        f"{final['epoch']} epoch(s)",
        fontweight="bold",
    )
    figure.tight_layout()
    return figure


def plot_misclassified(
    path: Path, x: np.ndarray, t: np.ndarray, predictions: np.ndarray, preset_name: str
) -> bool:
    """The first test digits the model gets wrong, titled with how many it got wrong."""
    wrong = np.flatnonzero(predictions != t)
    if not len(wrong):
        return False
    shown = wrong[:MISCLASSIFIED_SHOWN]
    title = f"{preset_name}: the first {len(shown)} of the {len(wrong)} test digits it gets wrong"
    save_digit_grid(path, x[shown], t[shown], predictions=predictions[shown], title=title)
    return True


def plot_filters(path: Path, model: MnistNet, columns: int = 8) -> bool:
    """The first conv layer's filters as a grid of gray squares, dark for positive
    weights, as the book's visualize_filter.py draws them; False if there is no conv."""
    convs = [module for _, module in model.named_modules() if isinstance(module, Conv2d)]
    if not convs:
        return False
    from matplotlib.figure import Figure

    filters = convs[0].weight.data
    rows = math.ceil(len(filters) / columns)
    figure = Figure(figsize=(columns, rows + 0.4))
    figure.suptitle(f"first conv layer's {len(filters)} filters")
    for index, axes in enumerate(figure.subplots(rows, columns, squeeze=False).flat):
        axes.set_axis_off()
        if index < len(filters):
            axes.imshow(filters[index, 0], cmap="gray_r", interpolation="nearest")
    with atomic_path(path) as temporary:
        figure.savefig(temporary)
    return True


def draw_graphs(
    folder: Path, model: MnistNet, x: np.ndarray, t: np.ndarray, preset_name: str
) -> list[Path]:
    """graph.svg (one box per layer) and graph_expanded.svg (every op) of one training step."""
    try:
        from minigrad.viz import GraphvizNotFoundError, draw
    except ImportError as error:
        print(f"note: no graph pictures ({error}); pip install -e '.[viz]'")
        return []
    images = Tensor(x[:GRAPH_BATCH], name="images")
    targets = model.targets(t[:GRAPH_BATCH])  # labels, or one-hot rows for Nielsen's cost
    targets = Tensor(targets, name="labels" if targets.ndim == 1 else "labels, one-hot")
    loss = model.loss_against(model(images), targets)
    loss.name = "loss"
    loss.backward(retain_graph=True)
    step = f"{preset_name}: one training step on {GRAPH_BATCH} digits"
    written = []
    try:
        for name, collapse, shown in (
            ("graph.svg", True, "one box per layer"),
            ("graph_expanded.svg", False, "every op"),
        ):
            draw(loss, path=folder / name, collapse=collapse, title=f"{step}, {shown}")
            written.append(folder / name)
    except GraphvizNotFoundError as error:
        print(f"note: no graph pictures: {error}")
    finally:
        model.zero_grad()
    return written


def save_run(
    folder: Path,
    model: MnistNet,
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
    plot_curves(folder / "curves.png", history, config["preset"])
    written += [folder / "metrics.csv", folder / "curves.png"]
    misclassified = folder / "misclassified.png"
    if plot_misclassified(misclassified, x_test, t_test, final.predictions, config["preset"]):
        written.append(folder / "misclassified.png")
    if plot_filters(folder / "filters.png", model):
        written.append(folder / "filters.png")
    x_train, t_train = splits["train"]
    written += draw_graphs(folder, model, x_train, t_train, config["preset"])
    return written


# ----- new and resumed runs ------------------------------------------------------------------
@dataclasses.dataclass
class Plan:
    """What `main` runs: the folder, the preset after the options, the config.json to write,
    how the step runs, and for a resumed run the checkpoint it starts from."""

    folder: Path
    preset: Preset
    config: dict[str, Any]
    path: StepPath
    checkpoint: Checkpoint | None = None


def new_run(args: argparse.Namespace, command: str) -> Plan:
    preset = resolve_preset(args)
    name = args.preset or DEFAULT_PRESET
    folder = make_run_folder(args.out, name)
    path = choose_step(preset, args.eager)
    config = {
        "preset": name,
        "settings": dataclasses.asdict(preset),
        "seed": DEFAULT_SEED if args.seed is None else args.seed,
        "quick": args.quick,
        "step": path.name,
        "command": command,
        "numpy": np.__version__,
    }
    return Plan(folder, preset, config, path)


def resumed_run(args: argparse.Namespace, command: str) -> Plan:
    """The run in the --resume folder, as it was started: --epochs may change its length,
    and any other option given must be what the run was started with."""
    checkpoint = read_checkpoint(args.resume)
    saved = checkpoint.progress["config"]
    started_with = preset_from_settings(saved["settings"])
    differences = settings_differences(args, saved, started_with)
    if differences:
        raise RunError(
            f"--resume: {args.resume} was started with other settings: "
            f"{'; '.join(differences)}. Resume it without these options, or start a new run "
            "with them"
        )
    preset = started_with
    if args.epochs is not None:
        preset = dataclasses.replace(started_with, epochs=args.epochs, steps=None)
        check_new_length(args.resume, started_with, preset)
    check_unfinished(args.resume, preset, checkpoint.progress["history"])
    config = {
        **saved,
        "settings": dataclasses.asdict(preset),
        "resumed": [*saved.get("resumed", []), command],
    }
    return Plan(
        args.resume, preset, config, choose_step(preset, saved["step"] == "eager"), checkpoint
    )


def settings_differences(
    args: argparse.Namespace, saved: dict[str, Any], started_with: Preset
) -> list[str]:
    """The options given to a resumed run that disagree with how the run was started."""
    valued = (
        ("--preset", args.preset, saved["preset"]),
        ("--seed", args.seed, saved["seed"]),
        ("--batch-size", args.batch_size, started_with.batch_size),
        ("--lr", args.lr, started_with.lr),
        ("--optimizer", args.optimizer, started_with.optimizer),
    )
    differences = [
        f"{option} {given} (the run has {kept})"
        for option, given, kept in valued
        if given is not None and given != kept
    ]
    if args.quick and not saved["quick"]:
        differences.append("--quick (the run is not a quick one)")
    if args.eager and saved["step"] != "eager":
        differences.append("--eager (the run replays its step)")
    return differences


def check_new_length(folder: Path, started_with: Preset, preset: Preset) -> None:
    """Refuse a new length that would have changed the epochs already run."""
    if (preset.epochs, preset.steps) == (started_with.epochs, started_with.steps):
        return
    if started_with.schedule in PLANNED_OVER_THE_RUN:
        raise RunError(
            f"--resume: {folder} follows a {started_with.schedule} schedule planned over "
            f"{started_with.epochs} epoch(s); over {preset.epochs} its rates would differ from "
            f"the first epoch on. Resume it without --epochs, or start a new run with "
            f"--epochs {preset.epochs}"
        )
    if started_with.steps is not None:
        raise RunError(
            f"--resume: {folder} runs to a budget of {started_with.steps:,} steps, not whole "
            f"epochs, so --epochs cannot lengthen it. Resume it without --epochs, or start a "
            f"new run with --epochs {preset.epochs}"
        )


def check_unfinished(folder: Path, preset: Preset, history: list[dict[str, Any]]) -> None:
    steps_done = history[-1]["steps"] if history else 0
    if not (steps_done >= preset.steps if preset.steps else len(history) >= preset.epochs):
        return
    if preset.schedule in PLANNED_OVER_THE_RUN:
        further = f"its {preset.schedule} schedule ended there, so start a new run to train longer"
    elif preset.steps:
        further = f"its budget of {preset.steps:,} steps is spent: start a new run to train longer"
    else:
        further = f"pass --epochs with more than {len(history)} to train it further"
    raise RunError(
        f"--resume: {folder} has run {len(history)} epoch(s), which leaves none of its "
        f"{preset.epochs} to train; {further}"
    )


def train_planned(plan: Plan, args: argparse.Namespace) -> Trainer:
    """Train the plan's epochs (those left, if resumed), saving the checkpoint after each."""
    splits = load_splits(plan.preset, plan.config["quick"], args.data_dir)
    print(f"{plan.config['preset']}: {plan.preset.description}", flush=True)
    print(plan.path, flush=True)
    trainer = Trainer(plan.preset, splits, plan.config["seed"], not args.no_progress, plan.path)
    if plan.checkpoint is not None:
        resume(trainer, plan)
    trainer.run(lambda done: done.save_checkpoint(plan.folder / CHECKPOINT, plan.config))
    return trainer


def resume(trainer: Trainer, plan: Plan) -> None:
    """Restore the checkpoint and print the epochs it holds, as the stopped run did."""
    trainer.restore(plan.checkpoint)
    if plan.config["numpy"] != np.__version__:
        print(
            f"note: the run was started with NumPy {plan.config['numpy']}, this is "
            f"{np.__version__}; the numbers may differ in their last digits"
        )
    print(f"resuming {plan.folder} after epoch {len(trainer.history)}/{trainer.epochs}", flush=True)
    for row in trainer.history:
        print(trainer.epoch_line(row), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    given = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(given)
    command = shlex.join(["python", "-m", "models.train", *given])
    try:
        plan = resumed_run(args, command) if args.resume else new_run(args, command)
        with removed_if_left_empty(plan.folder):
            trainer = train_planned(plan, args)
            history = trainer.history
            written = [plan.folder / CHECKPOINT]
            written += save_run(plan.folder, trainer.model, plan.config, history, trainer.splits)
    except RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {plan.folder}/: {', '.join(path.name for path in written)}")
    last = history[-1]
    train_seconds = sum(row["train_seconds"] for row in history)
    print(
        f"{plan.config['preset']}: test accuracy {last['test_accuracy']:.2%} after "
        f"{len(history)} epoch(s), {train_seconds / len(history):.1f} s per epoch, "
        f"{time.perf_counter() - started:.1f} s in total"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
