"""Turn the book's pickled weights (`sample_weight.pkl`) into a pickle-free `.npz` or
`.safetensors` file, and either of those into the other.

    python -m models.convert_weights sample_weight.pkl      # writes sample_weight.npz
    python -m models.convert_weights sample_weight.pkl -o sample_weight.safetensors
    python -m models.convert_weights weights.npz            # writes weights.safetensors

Unpickling can run any code a file names, so this reads the pickle with an unpickler
that only lets NumPy rebuild arrays: anything else in the file is refused, unrun. The
names and arrays are kept as they are (no layout change: see minigrad.torch_layout).
"""

from __future__ import annotations

import argparse
import codecs
import io
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.files import (
    SAFETENSORS,
    NpzError,
    SafetensorsFileError,
    read_npz,
    read_safetensors,
    write_weights,
)
from minigrad.nn import check_numeric

try:
    from numpy._core import multiarray, numeric
except ImportError:  # NumPy < 2
    from numpy.core import multiarray, numeric

# What an ndarray pickles into, under the module names NumPy 1 and NumPy 2 use.
ALLOWED = {
    (module, name): target
    for prefix in ("numpy.core", "numpy._core")
    for module, name, target in (
        (f"{prefix}.multiarray", "_reconstruct", multiarray._reconstruct),
        (f"{prefix}.multiarray", "scalar", multiarray.scalar),
        (f"{prefix}.numeric", "_frombuffer", numeric._frombuffer),
    )
} | {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how protocols 0-2 store bytes
}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asked for something other than NumPy arrays."""


class ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        raise UnsafePickleError(
            f"refused to load {module}.{name}: a weights pickle should hold only NumPy "
            "arrays, and anything else could run code"
        )


def load_pickled_arrays(data: bytes) -> dict[str, np.ndarray]:
    """The {name: array} dict in a pickle, allowing nothing but numeric NumPy arrays."""
    try:
        loaded = ArraysOnlyUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError:
        raise
    except Exception as error:  # bytes that are not a pickle fail in any of a dozen ways
        raise pickle.UnpicklingError(
            "it is not a pickle of NumPy arrays, or it is cut short"
        ) from error
    if not isinstance(loaded, dict):
        raise UnsafePickleError(f"expected a dict of arrays, found {type(loaded).__name__}")
    for key, value in loaded.items():
        if not isinstance(key, str) or not isinstance(value, np.ndarray):
            raise UnsafePickleError(f"entry {key!r} is a {type(value).__name__}, not an array")
    check_numeric("pickled weights", loaded)
    return loaded


def read_source(source: Path) -> dict[str, np.ndarray]:
    """The arrays of a `.safetensors`, `.npz` or (anything else) pickle file."""
    if source.suffix == SAFETENSORS:
        return read_safetensors(source)[0]
    if source.suffix == ".npz":
        return read_npz(source)
    return load_pickled_arrays(source.read_bytes())


def default_target(source: Path) -> Path:
    """The same name as an `.npz`, or, for an `.npz`, as a `.safetensors` file."""
    return source.with_suffix(SAFETENSORS if source.suffix == ".npz" else ".npz")


def convert(source: Path, target: Path) -> dict[str, np.ndarray]:
    arrays = read_source(source)
    write_weights(target, arrays)
    return arrays


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.convert_weights",
        description="Convert pickled weights (the book's sample_weight.pkl) to a safe .npz or "
        ".safetensors file (by the output's extension), or one of those into the other.",
    )
    parser.add_argument("pickle", type=Path, help="the .pkl, .npz or .safetensors file")
    parser.add_argument(
        "-o", "--output", type=Path, help="default: the same name, .npz (.safetensors for an .npz)"
    )
    args = parser.parse_args(argv)
    target = args.output or default_target(args.pickle)
    try:
        arrays = convert(args.pickle, target)
    except (
        OSError,
        pickle.UnpicklingError,
        TypeError,
        NpzError,
        SafetensorsFileError,
    ) as error:
        print(f"error: cannot convert {args.pickle}: {error}", file=sys.stderr)
        return 1
    shapes = ", ".join(f"{key} {array.shape}" for key, array in arrays.items())
    print(f"wrote {target}: {shapes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
