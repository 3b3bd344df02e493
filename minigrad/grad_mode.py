"""Whether new ops are recorded, and inside which modules: the engine's one global state.

`no_grad()` switches recording off, `module_scope(name)` tags the ops recorded inside, and
`Recording.numbers` numbers ops in the order they are recorded, so an op's inputs were
always made by lower numbers.
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
