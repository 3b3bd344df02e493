"""The MNIST convolutional networks: the book's SimpleConvNet (chapter 7) and DeepConvNet
(chapter 8), and ours (`convnet`), each a forward that reads as the math.

They take images (N, 1, 28, 28), are trained on softmax cross-entropy, and load weights
saved by `save` or stored under the book's names (W1, b1, ...), layer by layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from minigrad import Tensor, nn
from minigrad import functional as F
from minigrad.files import read_npz
from models.mlp import CLASSES, Preset

IMAGE = (1, 28, 28)


class MnistConvNet(nn.Module):
    """What every conv net here shares: its cost and how weights are loaded. A subclass
    builds its layers and lists, in `book_layers`, those that hold the book's W1, W2, ..."""

    book_layers: tuple[str, ...] = ()

    def loss(self, scores: Tensor, labels: np.ndarray, reduction: str = "mean") -> Tensor:
        return self.loss_against(scores, labels, reduction)

    def targets(self, labels: np.ndarray) -> np.ndarray:
        return labels

    def loss_against(self, scores: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
        return F.softmax_cross_entropy(scores, targets, reduction=reduction)

    def _book_parameters(self) -> dict[str, nn.Parameter]:
        named = {}
        for number, name in enumerate(self.book_layers, start=1):
            layer = getattr(self, name)
            named[f"W{number}"], named[f"b{number}"] = layer.weight, layer.bias
        return named

    def load_book_params(self, params: Mapping[str, Any]) -> MnistConvNet:
        """Load the book's W1, b1, W2, ... (its conv weights are (F, C, KH, KW) as ours, its
        affine weights (in, out) as nn.Linear's)."""
        nn.copy_into(f"{type(self).__name__}.load_book_params", self._book_parameters(), params)
        return self

    def load_weights(self, path: str) -> MnistConvNet:
        """An `.npz` saved by `save`, or one under the book's names (W1, b1, ...), such as
        the book's params.pkl converted by `models.convert_weights`."""
        arrays = read_npz(path)
        if "W1" in arrays:
            return self.load_book_params(arrays)
        self.load_state_dict(arrays)
        return self


class SimpleConvNet(MnistConvNet):
    """The book's SimpleConvNet: conv 30 5x5 -> relu -> max pool 2 -> affine 4320->100 ->
    relu -> affine 100->10."""

    book_layers = ("conv", "affine1", "affine2")

    def __init__(self, preset: Preset, rng: nn.Seed = None) -> None:
        rng = nn.as_generator(rng, "SimpleConvNet", "rng")
        self.conv = nn.Conv2d(1, 30, 5, init=preset.init, rng=rng)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.affine1 = nn.Linear(30 * 12 * 12, 100, preset.init, rng)
        self.affine2 = nn.Linear(100, CLASSES, preset.init, rng)

    def forward(self, x: Any) -> Tensor:
        h = self.flatten(self.pool(self.conv(x).relu()))
        return self.affine2(self.affine1(h).relu())


class DeepConvNet(MnistConvNet):
    """The book's DeepConvNet: six 3x3 convs (16, 16, 32, 32, 64, 64 filters, padding 1
    but 2 for the fourth), relu after each and max pool 2 after each pair, then affine
    1024->50, relu, dropout, affine 50->10, dropout.

    Our dropout scales while training (by 1 / (1 - p)), the book's at test time (by 1 - p),
    so `load_book_params` folds the book's two test-time scalings into W8 and b8: the
    scores come out as the book's own."""

    book_layers = ("conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "affine1", "affine2")

    def __init__(self, preset: Preset, rng: nn.Seed = None) -> None:
        rng = nn.as_generator(rng, "DeepConvNet", "rng")
        channels = (1, 16, 16, 32, 32, 64, 64)
        paddings = (1, 1, 1, 2, 1, 1)
        for number, padding in enumerate(paddings, start=1):
            conv = nn.Conv2d(channels[number - 1], channels[number], 3, padding=padding, rng=rng)
            setattr(self, f"conv{number}", conv)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.affine1 = nn.Linear(64 * 4 * 4, 50, preset.init, rng)
        self.dropout1 = nn.Dropout(preset.dropout, rng)
        self.affine2 = nn.Linear(50, CLASSES, preset.init, rng)
        self.dropout2 = nn.Dropout(preset.dropout, rng)
        self.p = preset.dropout

    def forward(self, x: Any) -> Tensor:
        h = self.pool(self.conv2(self.conv1(x).relu()).relu())
        h = self.pool(self.conv4(self.conv3(h).relu()).relu())
        h = self.pool(self.conv6(self.conv5(h).relu()).relu())
        h = self.dropout1(self.affine1(self.flatten(h)).relu())
        return self.dropout2(self.affine2(h))

    def load_book_params(self, params: Mapping[str, Any]) -> DeepConvNet:
        # The book's test-time scores: (keep * (keep * h) @ W8 + keep * b8), keep = 1 - p.
        keep = 1.0 - self.p
        folded = dict(params)
        if "W8" in folded and "b8" in folded:
            folded["W8"] = np.asarray(folded["W8"]) * keep * keep
            folded["b8"] = np.asarray(folded["b8"]) * keep
        super().load_book_params(folded)
        return self


class ConvNet(MnistConvNet):
    """Ours, for accuracy in little time: two blocks of 3x3 conv -> BatchNorm -> relu ->
    max pool 2 (28 -> 14 -> 7), a third 3x3 conv -> BatchNorm -> relu, then one affine
    layer to the scores. BatchNorm lets a one-cycle schedule run a high rate from the start."""

    def __init__(self, preset: Preset, rng: nn.Seed = None) -> None:
        rng = nn.as_generator(rng, "ConvNet", "rng")
        first, second, third = preset.channels
        self.conv1 = nn.Conv2d(1, first, 3, padding=1, bias=False, rng=rng)
        self.norm1 = nn.BatchNorm2d(first)
        self.conv2 = nn.Conv2d(first, second, 3, padding=1, bias=False, rng=rng)
        self.norm2 = nn.BatchNorm2d(second)
        self.conv3 = nn.Conv2d(second, third, 3, bias=False, rng=rng)
        self.norm3 = nn.BatchNorm2d(third)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.affine = nn.Linear(third * 5 * 5, CLASSES, preset.init, rng)

    def forward(self, x: Any) -> Tensor:
        h = self.pool(self.norm1(self.conv1(x)).relu())
        h = self.pool(self.norm2(self.conv2(h)).relu())
        h = self.norm3(self.conv3(h)).relu()
        return self.affine(self.flatten(h))
