"""Data sets, importable from anywhere once minigrad is installed."""

from minigrad.datasets.mnist import load_mnist

__all__ = ["load_mnist"]
