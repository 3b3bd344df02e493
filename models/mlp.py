"""The MNIST MLP and its named recipes (presets), from the seed tutorials' networks to ours.

A preset is plain data: change one field of `PRESETS` to retune a recipe. The network
itself is `minigrad.nn.MLP`, whose forward is the math: h = activation(h @ W + b) per
hidden layer, then scores = h @ W + b.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import fields as fields_of
from pathlib import Path
from typing import Any

import numpy as np

from minigrad import Tensor, nn, no_grad, optim
from minigrad import functional as F
from minigrad.files import SAFETENSORS, read_npz, read_safetensors
from minigrad.torch_layout import from_torch_state_dict

CLASSES = 10


@dataclass(frozen=True)
class Preset:
    """One recipe: the network, its cost, and how it is trained."""

    description: str
    network: str = "mlp"  # a key of models.networks.NETWORKS
    sizes: tuple[int, ...] = ()  # the MLP's layer sizes
    channels: tuple[int, ...] = ()  # the convnet's filters per conv layer
    activation: str = "relu"
    output_activation: str | None = None  # Nielsen squashes the scores with a sigmoid too
    cost: str = "cross_entropy"  # softmax cross-entropy, or "quadratic" (Nielsen)
    init: str | float = "he"  # "he", "xavier", or the std of a normal (the book's 0.01)
    dropout: float = 0.0
    optimizer: str = "sgd"  # a key of OPTIMIZERS
    lr: float = 0.1
    momentum: float = 0.0  # sgd and rmsprop
    weight_decay: float = 0.0
    schedule: str = "constant"  # "constant", "cosine" (per batch, to 0), "onecycle" or "step"
    lr_step_epochs: int = 1  # "step": multiply lr by lr_gamma after this many epochs
    lr_gamma: float = 0.1
    max_grad_norm: float | None = None  # clip gradients to this global norm
    batch_size: int = 100
    epochs: int = 1
    steps: int | None = None  # stop after this many updates (the book counts iterations)
    validation: int = 0  # hold back the last N training digits (Nielsen trains on 50,000)

    @property
    def images_flat(self) -> bool:
        """An MLP takes rows of 784 pixels, a conv net images (1, 28, 28)."""
        return self.network == "mlp"


# The book trains its chapter 3 and chapter 4 networks alike: "book3" only adds a layer.
BOOK = Preset(
    "the book's TwoLayerNet: 784-50-10 sigmoid, weight_init_std=0.01, SGD lr 0.1, "
    "batch 100, 10,000 iterations",
    sizes=(784, 50, 10),
    activation="sigmoid",
    init=0.01,
    lr=0.1,
    batch_size=100,
    epochs=17,
    steps=10_000,
)

PRESETS: dict[str, Preset] = {
    "nielsen": Preset(
        "Nielsen's network.py: [784, 30, 10] sigmoid, quadratic cost, SGD lr 3.0, batch 10",
        sizes=(784, 30, 10),
        activation="sigmoid",
        output_activation="sigmoid",
        cost="quadratic",
        init=1.0,  # np.random.randn
        lr=3.0,
        batch_size=10,
        epochs=30,
        validation=10_000,
    ),
    "book": BOOK,
    "book3": replace(
        BOOK,
        description="the book's chapter 3 network, 784-50-100-10 sigmoid: run its weights with "
        "`python -m models.evaluate WEIGHTS --preset book3`",
        sizes=(784, 50, 100, 10),
    ),
    "default": Preset(
        "784-512-256-10 ReLU, He init, Adam lr 1e-3 with cosine decay, batch 128",
        sizes=(784, 512, 256, 10),
        optimizer="adam",
        lr=1e-3,
        schedule="cosine",
        batch_size=128,
        epochs=5,
    ),
    "fast": Preset(
        "784-512-256-10 ReLU, dropout 0.2, He init, Adam lr 2e-3 with cosine decay, batch 256",
        sizes=(784, 512, 256, 10),
        dropout=0.2,
        optimizer="adam",
        lr=2e-3,
        schedule="cosine",
        batch_size=256,
        epochs=10,
    ),
    "best": Preset(
        "784-1024-1024-10 ReLU, dropout 0.2, He init, Adam lr 1e-3 with cosine decay, batch 128",
        sizes=(784, 1024, 1024, 10),
        dropout=0.2,
        optimizer="adam",
        lr=1e-3,
        schedule="cosine",
        batch_size=128,
        epochs=15,
    ),
    "simple_convnet": Preset(
        "the book's SimpleConvNet (ch. 7): conv 30 5x5, relu, max pool 2, affine 4320-100-10, "
        "weight_init_std=0.01, Adam lr 1e-3, batch 100, 20 epochs",
        network="simple_convnet",
        init=0.01,
        optimizer="adam",
        lr=1e-3,
        epochs=20,
    ),
    "deep_convnet": Preset(
        "the book's DeepConvNet (ch. 8): six 3x3 convs 16-16-32-32-64-64, pool after each "
        "pair, affine 1024-50-10 with dropout 0.5, He init, Adam lr 1e-3, batch 100, 20 epochs",
        network="deep_convnet",
        dropout=0.5,
        optimizer="adam",
        lr=1e-3,
        epochs=20,
    ),
    "convnet": Preset(
        "ours: 3x3 convs 16-32-64 with BatchNorm, max pools after the first two, one affine "
        "layer; Adam with a one-cycle rate peaking at 5e-3, batch 100, 5 epochs",
        network="convnet",
        channels=(16, 32, 64),
        optimizer="adam",
        lr=5e-3,
        schedule="onecycle",
        epochs=5,
    ),
}

OPTIMIZERS = {
    "sgd": optim.SGD,
    "adagrad": optim.AdaGrad,
    "rmsprop": optim.RMSprop,
    "adam": optim.Adam,
    "adamw": optim.AdamW,
}
COSTS = ("cross_entropy", "quadratic")


def preset_from_settings(settings: dict[str, Any]) -> Preset:
    """A preset from its fields as config.json stores them (`dataclasses.asdict`); fields this
    version does not know are left out."""
    fields = {field.name for field in fields_of(Preset)}
    known = {name: value for name, value in settings.items() if name in fields}
    tuples = {name: tuple(known[name]) for name in ("sizes", "channels") if name in known}
    return Preset(**dict(known, **tuples))


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


class MnistMLP(nn.MLP):
    """The MLP of a preset, with the cost it is trained on (the book's TwoLayerNet.loss)."""

    def __init__(self, preset: Preset, rng: nn.Seed = None) -> None:
        if preset.cost not in COSTS:
            raise ValueError(f"cost must be one of {COSTS}, got {preset.cost!r}")
        super().__init__(
            preset.sizes,
            activation=preset.activation,
            output_activation=preset.output_activation,
            init=preset.init,
            dropout=preset.dropout,
            rng=rng,
        )
        self.cost = preset.cost

    def loss(self, scores: Tensor, labels: np.ndarray, reduction: str = "mean") -> Tensor:
        """Cross-entropy of softmax(scores), or Nielsen's 0.5 * ||y - onehot(t)||^2 per digit.

        reduction: "mean" over the batch (what training steps on) or "sum".
        """
        return self.loss_against(scores, self.targets(labels), reduction)

    def targets(self, labels: np.ndarray) -> np.ndarray:
        """What the cost compares the scores with: the labels, or their one-hot rows in the
        parameters' dtype for the quadratic cost. A replayed step takes these as an argument:
        one-hot rows made inside the step would be a new constant every batch."""
        if self.cost == "cross_entropy":
            return labels
        return np.eye(self.sizes[-1], dtype=self.layers[-1].weight.dtype)[labels]

    def loss_against(self, scores: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
        """The cost of `scores` against `targets(labels)`."""
        if self.cost == "cross_entropy":
            return F.softmax_cross_entropy(scores, targets, reduction=reduction)
        return F.mean_squared_error(scores, targets, reduction=reduction)

    def load_weights(self, path: str) -> MnistMLP:
        """Load an `.npz` or `.safetensors` file saved by `save` (`layers.0.weight`, ...) or
        under the book's names (W1, b1, ...), e.g. the book's sample weights converted by
        `models.convert_weights`. A `.safetensors` file whose metadata says layout "torch"
        (`python -m models.export --layout torch`) holds Linear weights (out, in)."""
        arrays, metadata = (
            read_safetensors(path) if Path(path).suffix == SAFETENSORS else (read_npz(path), {})
        )
        if metadata.get("layout") == "torch":
            from_torch_state_dict(self, arrays)
            return self
        if any(name.startswith("layers.") for name in arrays):
            self.load_state_dict(arrays)
        else:
            self.load_book_params(arrays)
        return self


@dataclass(frozen=True)
class Evaluation:
    """Mean loss and accuracy over a set of digits, and the predicted digit for each."""

    loss: float
    accuracy: float
    predictions: np.ndarray


def evaluate(model: MnistMLP, x: np.ndarray, t: np.ndarray, batch_size: int = 1000) -> Evaluation:
    """Batched inference in eval mode (dropout off), recording nothing.

    The loss is summed per batch in float64, so the result does not depend on batch_size.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    was_training = model.training
    model.eval()
    total_loss = 0.0
    predictions = np.empty(len(x), dtype=np.int64)
    with no_grad():
        for start in range(0, len(x), batch_size):
            rows = slice(start, start + batch_size)
            scores = model(x[rows])
            total_loss += float(model.loss(scores, t[rows], reduction="sum").item())
            predictions[rows] = scores.data.argmax(axis=1)
    model.train(was_training)
    count = max(len(x), 1)
    return Evaluation(total_loss / count, float(np.mean(predictions == t)), predictions)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """counts[true digit, predicted digit]."""
    flat = np.asarray(labels, dtype=np.int64) * CLASSES + predictions
    return np.bincount(flat, minlength=CLASSES * CLASSES).reshape(CLASSES, CLASSES)
