"""Mini-batches over NumPy arrays: the loop the seeds write with `np.random.choice`, reusable.

Each epoch visits every example once (shuffled with a seeded generator if asked), so a
run with the same seed sees the same batches in the same order.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad.checks import check_count, check_flag
from minigrad.nn import Seed, as_generator
from minigrad.tensor import Tensor

__all__ = ["DataLoader"]


def _check_array(index: int, array: Any) -> None:
    """Batches are cut along the first axis by slices and (shuffled) index arrays, which
    lists and scalars do not take: only arrays (or Tensors) of one axis or more."""
    if not isinstance(array, (np.ndarray, Tensor)):
        fix = (
            "batch_size, shuffle, seed and drop_last are keyword-only: "
            "DataLoader(x, t, batch_size=...)"
            if index > 0 and isinstance(array, numbers.Number)
            else "pass NumPy arrays (np.asarray(...))"
        )
        raise TypeError(
            f"DataLoader: argument {index} is {array!r:.40} ({type(array).__name__}), "
            f"not an array; {fix}"
        )
    if array.ndim == 0:
        raise ValueError(
            f"DataLoader: argument {index} is a 0-d array ({array!r:.40}); batches are cut "
            "along the first axis, so give arrays of one row per example"
        )


class DataLoader:
    """Batches of `arrays` (e.g. images and labels), cut along the first axis together.

    shuffle: a new order every epoch, drawn from `nn.as_generator(seed)` (an int seed or a
    Generator).
    drop_last: skip the last batch when it is smaller than `batch_size`.
    Without shuffle, batches are views (no copies); with it, one gather per array.
    """

    def __init__(
        self,
        *arrays: np.ndarray,
        batch_size: int = 100,
        shuffle: bool = False,
        seed: Seed = None,
        drop_last: bool = False,
    ) -> None:
        if not arrays:
            raise ValueError("DataLoader: give at least one array, e.g. DataLoader(x, t)")
        for index, array in enumerate(arrays):
            _check_array(index, array)
        lengths = [len(array) for array in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(
                f"DataLoader: arrays must have the same length (first axis), got {lengths}"
            )
        check_count("DataLoader", "batch_size", batch_size, 1)
        check_flag("DataLoader", "shuffle", shuffle)
        check_flag("DataLoader", "drop_last", drop_last)
        self.arrays = arrays
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = as_generator(seed, "DataLoader")

    @property
    def size(self) -> int:
        """Number of examples."""
        return len(self.arrays[0])

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.drop_last:
            return self.size // self.batch_size
        return -(-self.size // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        order = self.rng.permutation(self.size) if self.shuffle else None
        for number in range(len(self)):
            rows = slice(number * self.batch_size, (number + 1) * self.batch_size)
            if order is None:
                yield tuple(array[rows] for array in self.arrays)
            else:
                yield tuple(array[order[rows]] for array in self.arrays)
