"""Which class builds each preset's `network`, and the one function that builds it."""

from __future__ import annotations

from minigrad import nn
from models.convnet import ConvNet, DeepConvNet, MnistConvNet, SimpleConvNet
from models.mlp import MnistMLP, Preset

NETWORKS: dict[str, type[MnistMLP] | type[MnistConvNet]] = {
    "mlp": MnistMLP,
    "simple_convnet": SimpleConvNet,
    "deep_convnet": DeepConvNet,
    "convnet": ConvNet,
}

MnistNet = MnistMLP | MnistConvNet


def build_model(preset: Preset, rng: nn.Seed = None) -> MnistNet:
    """The preset's network, its weights drawn from `rng`."""
    if preset.network not in NETWORKS:
        raise ValueError(
            f"unknown network {preset.network!r}; choose one of: {', '.join(NETWORKS)}"
        )
    if preset.network != "mlp" and preset.cost != "cross_entropy":
        raise ValueError(
            f"{preset.network}: cost must be 'cross_entropy' (conv nets have no quadratic cost), "
            f"got {preset.cost!r}"
        )
    return NETWORKS[preset.network](preset, rng=rng)


def updates_buffers(preset: Preset) -> bool:
    """Whether the network has buffers, which its training steps change outside the graph
    (BatchNorm's running statistics)."""
    return bool(build_model(preset, rng=0).buffers())
