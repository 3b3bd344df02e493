"""minigrad's weights in PyTorch's layout, and back.

minigrad's `nn.Linear` stores its weight (in, out), as the book's W1, so that the forward
reads x @ W + b; `torch.nn.Linear` stores (out, in). These two functions transpose the
weight of every `nn.Linear` and leave everything else (biases, convolution filters,
buffers) as it is, under the same dotted names, which are PyTorch's for the same module
tree: minigrad's `Sequential(Linear, ReLU, Linear)` names `0.weight` and `2.weight`, as
torch's does. minigrad never imports torch: the arrays are NumPy's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from minigrad.nn import Linear, Module

__all__ = ["from_torch_state_dict", "to_torch_state_dict", "transposed_names"]


def transposed_names(model: Module) -> list[str]:
    """The state_dict names whose arrays the two layouts store transposed: each
    `nn.Linear`'s weight."""
    return [
        f"{path}.weight" if path else "weight"
        for path, module in model.named_modules()
        if isinstance(module, Linear)
    ]


def to_torch_state_dict(model: Module) -> dict[str, np.ndarray]:
    """`model.state_dict()` in PyTorch's layout: Linear weights (out, in)."""
    state = model.state_dict()
    for name in transposed_names(model):
        state[name] = np.ascontiguousarray(state[name].T)
    return state


def from_torch_state_dict(model: Module, state: Mapping[str, Any]) -> Module:
    """Load weights in PyTorch's layout (arrays, or CPU torch tensors) into `model`,
    transposing Linear weights back to (in, out). As `load_state_dict`, nothing changes
    unless every name and shape fits."""
    arrays = {name: np.asarray(value) for name, value in state.items()}
    for name in transposed_names(model):
        if name in arrays and arrays[name].ndim == 2:
            arrays[name] = arrays[name].T
    model.load_state_dict(arrays)
    return model
