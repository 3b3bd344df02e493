"""Mini-batches over NumPy arrays: the loop the seeds write with `np.random.choice`, reusable.

Each epoch visits every example once (shuffled with a seeded generator if asked), so a
run with the same seed sees the same batches in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from minigrad.nn import Seed, as_generator

__all__ = ["DataLoader"]


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
        lengths = [len(array) for array in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(
                f"DataLoader: arrays must have the same length (first axis), got {lengths}"
            )
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        self.arrays = arrays
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = as_generator(seed)

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
