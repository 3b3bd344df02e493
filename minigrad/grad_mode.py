"""Whether new ops are recorded, and inside which modules: the engine's one global state.

`no_grad()` switches recording off, `module_scope(name)` tags the ops recorded inside, and
`Recording.numbers` numbers ops in the order they are recorded, so an op's inputs were
always made by lower numbers. `keep_values()` makes the graph hold every value it records,
including those no backward rule reads (see `Op.reads_inputs`).
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any


class Recording:
    """The state itself: read on every op, so plain class attributes."""

    enabled = True
    scope: tuple[str, ...] = ()
    numbers = itertools.count()
    anomaly: Any = None  # the active `detect_anomaly`, if any
    keep_values = False  # True inside `keep_values()`


def is_grad_enabled() -> bool:
    return Recording.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Record ops (True) or not (False) inside a `with` block or a decorated function."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(Recording.enabled)
        Recording.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        Recording.enabled = self.previous.pop()


class keep_values(contextlib.ContextDecorator):
    """Keep every value the graphs recorded inside hold, for as long as the graphs live.

    By default an op whose backward reads only its output (relu, sigmoid, tanh) holds its
    input weakly: the conv's or linear's output before a relu is freed as soon as nothing
    else holds it, as PyTorch frees what no backward saves. Graph pictures then show those
    values as freed; inside this block they keep them, to show their statistics.
    """

    def __init__(self) -> None:
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(Recording.keep_values)
        Recording.keep_values = True

    def __exit__(self, *exc: object) -> None:
        Recording.keep_values = self.previous.pop()


def no_grad() -> set_grad_enabled:
    """Record nothing: for inference and for updating parameters in place."""
    return set_grad_enabled(False)


def enable_grad() -> set_grad_enabled:
    return set_grad_enabled(True)


class module_scope:
    """Tag every op recorded inside with `name` (nested scopes stack up).

    `nn.Module` enters one per call, so graph pictures can group a layer's ops. A plain
    class rather than a generator: it is entered on every layer call of training.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.outer: tuple[str, ...] = ()

    def __enter__(self) -> None:
        self.outer = Recording.scope
        Recording.scope = self.outer + (self.name,)

    def __exit__(self, *exc: object) -> None:
        Recording.scope = self.outer
