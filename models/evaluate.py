"""Test accuracy and the confusion matrix of saved weights, by batched inference.

    python -m models.evaluate runs/default-20260101-120000       # a run folder
    python -m models.evaluate --weights sample_weight.npz --preset book3   # any .npz
    python -m models.evaluate model.safetensors          # as python -m models.export wrote it
    python -m models.evaluate params.npz --preset simple_convnet   # the book's, converted

The network comes from --preset, a `.safetensors` file's metadata, or the run's
config.json. Weights may use the names `save` writes (`layers.0.weight`) or the book's (W1,
b1, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minigrad.datasets.mnist import MnistError, load_mnist
from minigrad.files import SAFETENSORS, SafetensorsFileError, read_safetensors
from minigrad.nn import StateDictError
from models.mlp import (
    CLASSES,
    PRESETS,
    Preset,
    confusion_matrix,
    evaluate,
    preset_from_settings,
)
from models.networks import MnistNet, build_model

WEIGHTS_NAME = "weights.npz"
CONFIG_NAME = "config.json"


class EvaluationError(Exception):
    """Weights or settings that cannot be used; the message says what to do."""


def add_weights_arguments(parser: argparse.ArgumentParser) -> None:
    """How models.evaluate and models.export are told the weights: PATH or --weights, and
    the network if the run's config.json does not say it."""
    parser.add_argument("path", type=Path, nargs="?", help="a run folder or a weights file")
    parser.add_argument("--weights", type=Path, help="the same as PATH")
    parser.add_argument(
        "--preset", choices=PRESETS, help="the network (default: the run's config.json)"
    )


def chosen_weights(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Path:
    """The weights `add_weights_arguments` read, given exactly once."""
    if (args.path is None) == (args.weights is None):
        parser.error("give the weights once: a run folder or weights file, or --weights PATH")
    return args.weights or args.path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m models.evaluate",
        description="Report test accuracy and the confusion matrix of saved MNIST weights.",
    )
    add_weights_arguments(parser)
    parser.add_argument(
        "--batch-size", type=int, default=100, help="digits per forward pass (default 100)"
    )
    parser.add_argument("--data-dir", type=Path, help="where MNIST is cached")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    args.weights = chosen_weights(parser, args)
    return args


def locate(path: Path) -> tuple[Path, Path]:
    """The weights file and the config.json that may sit beside it."""
    if path.is_dir():
        return path / WEIGHTS_NAME, path / CONFIG_NAME
    return path, path.parent / CONFIG_NAME


def settings_for(
    config_path: Path, preset_name: str | None, weights: Path | None = None
) -> tuple[str, Preset]:
    """--preset wins; then the settings a `.safetensors` file's metadata holds (as
    `models.export` writes them); otherwise the settings the run was trained with."""
    if preset_name is not None:
        return preset_name, PRESETS[preset_name]
    if weights is not None and weights.suffix == SAFETENSORS:
        metadata = read_safetensors(weights)[1]
        if {"preset", "settings"} <= metadata.keys():
            return metadata["preset"], preset_from_settings(json.loads(metadata["settings"]))
    if not config_path.is_file():
        raise EvaluationError(
            f"no {CONFIG_NAME} beside the weights to say which network they are for; "
            f"pass --preset (one of: {', '.join(PRESETS)})"
        )
    try:
        config = json.loads(config_path.read_text())
        return config["preset"], preset_from_settings(config["settings"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise EvaluationError(f"cannot read {config_path}: {error}; pass --preset") from error


def load_model(weights: Path, name: str, preset: Preset) -> MnistNet:
    try:
        return build_model(preset).load_weights(str(weights))
    except StateDictError as error:
        raise EvaluationError(
            f"{weights} does not fit the {name} network ({error.problems}). Pass the --preset "
            f"the weights were trained with (one of: {', '.join(PRESETS)})."
        ) from error
    except (ValueError, TypeError) as error:
        raise EvaluationError(str(error)) from error


def describe(preset: Preset) -> str:
    if preset.network == "mlp":
        return f"{' -> '.join(map(str, preset.sizes))}, {preset.activation}"
    return preset.network


def format_confusion(matrix: np.ndarray) -> str:
    """Rows are true digits, columns predictions; each row ends with that digit's accuracy."""
    width = max(5, len(str(matrix.max())) + 1)
    header = "true\\pred" + "".join(f"{digit:>{width}}" for digit in range(CLASSES)) + "   recall"
    lines = [header]
    for digit, row in enumerate(matrix):
        recall = row[digit] / max(row.sum(), 1)
        cells = "".join(f"{count:>{width}}" for count in row)
        lines.append(f"{digit:>9}{cells}   {recall:6.2%}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    weights, config_path = locate(args.weights)
    try:
        if not weights.is_file():
            raise EvaluationError(f"no weights file at {weights}")
        name, preset = settings_for(config_path, args.preset, weights)
        model = load_model(weights, name, preset)
        (_, _), (x_test, t_test) = load_mnist(flatten=preset.images_flat, data_dir=args.data_dir)
    except (EvaluationError, MnistError, SafetensorsFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    result = evaluate(model, x_test, t_test.astype(np.int64), batch_size=args.batch_size)
    seconds = time.perf_counter() - start
    correct = int(np.sum(result.predictions == t_test))
    print(f"{weights} as {name} ({describe(preset)})")
    print(
        f"test accuracy {result.accuracy:.4f} ({correct} / {len(t_test)}), loss "
        f"{result.loss:.4f}, batch size {args.batch_size}, {seconds:.2f} s"
    )
    print(format_confusion(confusion_matrix(t_test, result.predictions)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
