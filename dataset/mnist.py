"""The book's import path, kept: its scripts add their parent folder to sys.path and write
`from dataset.mnist import load_mnist`. Drop this `dataset/` folder into the book's tree
(or run from this repository's root) with minigrad installed; the one implementation is
`minigrad.datasets.mnist`.
"""

from minigrad.datasets.mnist import *  # noqa: F403  (the same names, one implementation)
from minigrad.datasets.mnist import main

if __name__ == "__main__":
    raise SystemExit(main())
