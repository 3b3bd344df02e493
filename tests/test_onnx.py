"""ONNX export, checked in onnxruntime: every registered op on Hypothesis-drawn inputs
(also at another batch size than the traced one), and the MNIST presets digit for digit.

onnx and onnxruntime are the `export` extra; without them every test here fails, saying
what to install.
"""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad.onnx
from minigrad import OPS, OpError, Tensor, nn
from minigrad import functional as F
from minigrad.ops.base import NotExportable
from minigrad.testing import op_cases

try:
    import onnx
    import onnxruntime
except ImportError:
    onnx = onnxruntime = None

ALL_OPS = sorted(OPS)
EXPORTABLE = [
    name for name in ALL_OPS if not isinstance(minigrad.onnx.onnx_entry(OPS[name]), NotExportable)
]
# float32 on both sides, with different orders of operations (a sum's, erf's polynomial,
# log(1 + x) for log1p): a few units in the last place of the largest entry.
RTOL = 1e-5
ATOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def export_installed():
    if onnx is None:
        pytest.fail(
            "onnx and onnxruntime are not installed: pip install -e '.[export]'", pytrace=False
        )


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def session(path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(path, arrays):
    runner = session(path)
    names = [i.name for i in runner.get_inputs()]
    return runner.run(None, dict(zip(names, arrays)))


# ----- every op has an entry -----------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_OPS)
def test_every_op_has_an_onnx_entry_or_says_why_not(name):
    entry = minigrad.onnx.onnx_entry(OPS[name])
    module = OPS[name].__module__
    assert entry is not None, f"op {name!r} has no entry in the ONNX table of {module}"
    if isinstance(entry, NotExportable):
        assert entry.reason.strip(), f"op {name!r} is refused without a reason"
    else:
        assert callable(entry)


# ----- every exportable op agrees with onnxruntime -------------------------------------------
def batch_twice(arrays, batch):
    """The inputs with the batch (the leading axis, where it has the first input's length)
    repeated twice."""
    return [np.concatenate([a, a]) if a.ndim and a.shape[0] == batch else a for a in arrays]


def follows_batch(traced, doubled):
    """Whether the output of the doubled inputs is the traced one's with a doubled batch."""
    if not traced.ndim:
        return not doubled.ndim
    return doubled.shape == (2 * traced.shape[0],) + traced.shape[1:]


@pytest.mark.parametrize("name", EXPORTABLE)
@settings(max_examples=12)
@given(data=st.data())
def test_onnxruntime_agrees_with_minigrad(name, data, folder):
    case = data.draw(op_cases(OPS[name], dtype=np.float32))
    arrays = [t.data for t in case.inputs]
    expected = case.run().data
    path = minigrad.onnx.export(case.run, arrays, folder / f"{name}.onnx")
    (got,) = run(path, arrays)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    if not arrays[0].ndim or arrays[0].shape[0] < 1:
        return
    doubled = batch_twice(arrays, arrays[0].shape[0])
    try:
        wanted = case.op.apply(*map(Tensor, doubled), **case.params).data
    except OpError:
        return  # the inputs have no batch axis for this op (a shape fixed by its params)
    if follows_batch(expected, wanted):
        (got,) = run(path, doubled)
        np.testing.assert_allclose(got, wanted, rtol=RTOL, atol=ATOL)
