"""Write a trained network in the formats other tools read, beside its weights.

    python -m models.export runs/default-20260101-120000                  # model.onnx
    python -m models.export RUN_DIR --format safetensors                  # model.safetensors
    python -m models.export RUN_DIR --format safetensors --layout torch   # for torch.nn.Linear
    python -m models.export --weights sample_weight.npz --preset book3    # any weights file

The network comes from the run's config.json, or from --preset, as for models.evaluate.
ONNX: one forward traced with a batch of TRACE_BATCH zero digits, the batch axis left
dynamic. safetensors: the weights by parameter path, with the preset in the metadata;
`--layout torch` stores Linear weights (out, in), as torch.nn.Linear holds them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import minigrad.onnx
from minigrad.files import SafetensorsFileError, write_safetensors
from minigrad.torch_layout import to_torch_state_dict
from models.convnet import IMAGE
from models.evaluate import (
    EvaluationError,
    add_weights_arguments,
    chosen_weights,
    load_model,
    locate,
    settings_for,
)
from models.mlp import Preset
from models.networks import MnistNet

FORMATS = {"onnx": "model.onnx", "safetensors": "model.safetensors"}
TRACE_BATCH = 7  # a batch size no other axis has, so the exporter can tell it is the batch


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m models.export",
        description="Export saved MNIST network weights as ONNX or safetensors.",
    )
    add_weights_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="default: onnx")
    parser.add_argument(
        "--layout",
        choices=("minigrad", "torch"),
        default="minigrad",
        help="safetensors only: torch stores Linear weights (out, in); default: (in, out)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="default: model.onnx or model.safetensors beside the weights",
    )
    args = parser.parse_args(argv)
    args.weights = chosen_weights(parser, args)
    if args.layout != "minigrad" and args.format != "safetensors":
        parser.error(
            "--layout applies to --format safetensors (ONNX holds the graph, not a layout)"
        )
    return args


def example_input(preset: Preset) -> np.ndarray:
    """What the exporter traces the network on: TRACE_BATCH digits of zeros, as rows of
    784 for an MLP and as images (N, 1, 28, 28) for a conv net."""
    shape = (preset.sizes[0],) if preset.images_flat else IMAGE
    return np.zeros((TRACE_BATCH, *shape), dtype=np.float32)


def export_onnx(model: MnistNet, preset: Preset, target: Path) -> Path:
    return minigrad.onnx.export(
        model, example_input(preset), target, input_names=["digits"], output_names=["scores"]
    )


def export_safetensors(
    model: MnistNet, name: str, preset: Preset, layout: str, target: Path
) -> Path:
    arrays = to_torch_state_dict(model) if layout == "torch" else model.state_dict()
    metadata = {
        "layout": layout,
        "preset": name,
        "settings": json.dumps(dataclasses.asdict(preset)),
    }
    return write_safetensors(target, arrays, metadata)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    weights, config_path = locate(args.weights)
    target = args.output or weights.parent / FORMATS[args.format]
    try:
        if not weights.is_file():
            raise EvaluationError(f"no weights file at {weights}")
        name, preset = settings_for(config_path, args.preset, weights)
        model = load_model(weights, name, preset)
        if args.format == "onnx":
            written = export_onnx(model, preset, target)
        else:
            written = export_safetensors(model, name, preset, args.layout, target)
    except (EvaluationError, ImportError, minigrad.onnx.ExportError, SafetensorsFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    detail = "batch axis dynamic" if args.format == "onnx" else f"{args.layout} layout"
    sizes = ": " + " -> ".join(map(str, preset.sizes)) if preset.network == "mlp" else ""
    print(f"wrote {written} ({name}{sizes}, {detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
