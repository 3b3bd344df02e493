"""Argument checks shared by the optimizers, the data loader and the layers' constructors.

Each raises TypeError for a value of the wrong kind and ValueError for one out of range,
with the caller, the argument and the value in the message.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["check_count", "check_flag", "check_number", "check_positive", "check_range"]


def check_number(caller: str, name: str, value: Any) -> None:
    """Refuse anything but a real number: None, strings, arrays and bools (True is not 1.0 here)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{caller}: {name} must be a number, got {value!r:.60}")


def check_range(caller: str, name: str, value: Any, low: float, high: float) -> None:
    """A number in [low, high); NaN is never in range, and high=inf refuses inf itself."""
    check_number(caller, name, value)
    if not low <= value < high:
        raise ValueError(f"{caller}: {name} must be in [{low}, {high}), got {value}")


def check_positive(caller: str, name: str, value: Any) -> None:
    """A finite number above 0."""
    check_number(caller, name, value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{caller}: {name} must be a finite number > 0, got {value}")


def check_count(caller: str, name: str, value: Any, minimum: int) -> None:
    """A whole number (int or NumPy integer, not bool or float) of at least `minimum`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{caller}: {name} must be an int, got {value!r:.60}")
    if value < minimum:
        raise ValueError(f"{caller}: {name} must be at least {minimum}, got {value}")


def check_flag(caller: str, name: str, value: Any) -> None:
    """True or False: a string such as 'no' is truthy and would silently mean True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{caller}: {name} must be True or False, got {value!r:.60}")
