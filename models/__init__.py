"""The MNIST MLP, its presets, and the commands that train and evaluate it.

NumPy's OpenBLAS starts one thread per core. When anything else runs on a 2-core machine,
the second thread spins against it: on a heavily loaded machine, training `default` took
195 s with two threads and 38 s with one (22 s on an idle one; see the README). So
unless OPENBLAS_NUM_THREADS is already set, these commands use one BLAS thread. This takes
effect only when NumPy is first imported after this package, as with `python -m
models.train`; set OPENBLAS_NUM_THREADS=2 to use both cores of an otherwise idle machine.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
