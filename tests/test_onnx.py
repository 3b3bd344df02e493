"""ONNX export, checked in onnxruntime: every registered op on Hypothesis-drawn inputs
(also at another batch size than the traced one), and the MNIST presets digit for digit.

onnx and onnxruntime are the `export` extra; without them every test here fails, saying
what to install.
"""

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad.onnx
from minigrad import OPS, Op, OpError, Tensor, nn, no_grad, optim
from minigrad import functional as F
from minigrad.datasets import load_mnist
from minigrad.ops.base import NotExportable
from minigrad.testing import op_cases
from models import export as export_command
from models.evaluate import CONFIG_NAME, WEIGHTS_NAME
from models.mlp import PRESETS, MnistMLP
from models.networks import build_model

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


def test_every_onnx_table_entry_names_an_op_of_its_module():
    for module in {sys.modules[op.__module__] for op in OPS.values()}:
        for name in getattr(module, "ONNX", {}):
            assert name in OPS and OPS[name].__module__ == module.__name__, (module, name)


def test_getitem_with_two_index_arrays_is_refused_with_what_to_do(folder):
    def pick(x):
        return x[np.array([0, 1]), np.array([1, 2])]

    with pytest.raises(minigrad.onnx.ExportError, match="index in two steps"):
        minigrad.onnx.export(pick, np.ones((3, 3), np.float32), folder / "x.onnx")


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


def test_a_reshape_that_keeps_the_batch_follows_it(folder):
    """x.reshape(len(x), -1) records the traced batch; the export keeps the input's."""

    def flat_scores(x):
        return x.reshape(len(x), -1).sum(axis=1)

    images = np.random.default_rng(0).random((7, 2, 3, 4), dtype=np.float32)
    path = minigrad.onnx.export(flat_scores, images, folder / "reshape.onnx")
    more = np.random.default_rng(1).random((10, 2, 3, 4), dtype=np.float32)
    (got,) = run(path, [more])
    np.testing.assert_allclose(got, more.reshape(10, -1).sum(axis=1), rtol=RTOL, atol=ATOL)


class TinyConvNet(nn.Module):
    """conv, relu, max pool, flatten, linear: what a ConvNet preset records, built from F."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.filters = nn.Parameter(rng.standard_normal((4, 1, 3, 3)).astype(np.float32))
        self.filter_bias = nn.Parameter(rng.standard_normal(4).astype(np.float32))
        self.scores = nn.Linear(4 * 3 * 3, 10, rng=1)

    def forward(self, images):
        features = F.relu(F.conv2d(images, self.filters, self.filter_bias, padding=1))
        pooled = F.max_pool2d(features, 2)
        return self.scores(pooled.reshape(len(pooled), -1))


@pytest.mark.parametrize("batch", [1, 3, 10])
def test_a_small_convnet_runs_at_any_batch_size(folder, batch):
    model = TinyConvNet()
    rng = np.random.default_rng(batch)
    path = minigrad.onnx.export(model, rng.random((7, 1, 6, 6), np.float32), folder / "cnn.onnx")
    images = rng.random((batch, 1, 6, 6), np.float32)
    (got,) = run(path, [images])
    np.testing.assert_allclose(got, model(images).data, rtol=RTOL, atol=ATOL)


# ----- the MNIST presets, digit for digit ------------------------------------------------
@dataclass(frozen=True)
class PresetModel:
    """A preset's network as the preset check builds it, and the MNIST layout it reads."""

    build: Callable[[], nn.Module]
    flatten: bool  # rows of 784 (an MLP) or images (N, 1, 28, 28)


def network(name):
    return PresetModel(lambda: build_model(PRESETS[name], rng=0), PRESETS[name].images_flat)


PRESET_MODELS = {name: network(name) for name in PRESETS}


def trained_briefly(model, x, t, steps=60, batch=100):
    """60 Adam steps on the training digits, so the scores have margins a trained
    network has (an untrained one's near-ties could flip on the last bit)."""
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    for step in range(steps):
        rows = slice(step * batch, (step + 1) * batch)
        loss = F.softmax_cross_entropy(model(x[rows]), t[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


@pytest.mark.parametrize("name", PRESET_MODELS)
def test_exported_preset_predicts_every_test_digit_as_minigrad_does(name, folder):
    preset = PRESET_MODELS[name]
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=preset.flatten)
    model = trained_briefly(preset.build(), x_train, t_train.astype(np.int64))
    path = minigrad.onnx.export(model, x_test[:7], folder / f"{name}.onnx")
    model.eval()
    with no_grad():
        expected = model(x_test).data
    (got,) = run(path, [x_test])  # all 10,000 at once: a batch other than the traced 7
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    predictions = got.argmax(axis=1)
    assert len(np.unique(predictions)) >= 5  # a network that tells digits apart, not one class
    np.testing.assert_array_equal(predictions, expected.argmax(axis=1))
    accuracy = np.mean(predictions == t_test)
    assert accuracy == np.mean(expected.argmax(axis=1) == t_test)


# ----- what the file holds -------------------------------------------------------------------
def test_weights_are_initializers_named_by_their_paths_and_the_batch_is_dynamic(folder):
    model = nn.MLP([4, 8, 3], rng=0)
    path = minigrad.onnx.export(model, np.ones((5, 4), np.float32), folder / "mlp.onnx")
    written = onnx.load(str(path))
    onnx.checker.check_model(written, full_check=True)
    assert {i.name for i in written.graph.initializer} == {
        name for name, _ in model.named_parameters()
    }
    for value in (*written.graph.input, *written.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == minigrad.onnx.BATCH
    assert max(o.version for o in written.opset_import) >= 17


def test_a_static_export_keeps_the_traced_batch(folder):
    path = minigrad.onnx.export(
        nn.MLP([4, 3], rng=0),
        np.ones((5, 4), np.float32),
        folder / "static.onnx",
        dynamic_batch=False,
    )
    (value,) = onnx.load(str(path)).graph.input
    assert value.type.tensor_type.shape.dim[0].dim_value == 5


def test_inputs_and_outputs_take_the_names_given(folder):
    def two(x, y):
        return x * y, x + y

    arrays = [np.ones((2, 3), np.float32), np.full((2, 3), 2, np.float32)]
    path = minigrad.onnx.export(two, arrays, folder / "two.onnx", ["x", "y"], ["product", "total"])
    runner = session(path)
    assert [i.name for i in runner.get_inputs()] == ["x", "y"]
    product, total = runner.run(["product", "total"], {"x": arrays[0], "y": arrays[1]})
    np.testing.assert_array_equal(product, arrays[0] * arrays[1])
    np.testing.assert_array_equal(total, arrays[0] + arrays[1])


def test_an_op_without_an_entry_is_refused_by_name(folder):
    class Unmapped(Op, register=False):  # kept out of OPS, which other tests enumerate
        name = "unmapped"

        def forward(self, a):
            return a * 2

    with pytest.raises(minigrad.onnx.ExportError, match="'unmapped' has no ONNX entry.*test_onnx"):
        minigrad.onnx.export(Unmapped.apply, np.ones(3, np.float32), folder / "x.onnx")


def test_a_not_exportable_entry_says_why(folder, monkeypatch):
    monkeypatch.setitem(
        sys.modules["minigrad.ops.activations"].ONNX, "relu", NotExportable("no reason")
    )
    with pytest.raises(
        minigrad.onnx.ExportError, match="'relu' cannot be exported to ONNX: no reason"
    ):
        minigrad.onnx.export(F.relu, np.ones(3, np.float32), folder / "x.onnx")


def test_without_the_extra_the_error_says_what_to_install(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # what a missing package looks like to import
    with pytest.raises(ImportError, match=r"pip install minigrad\[export\]"):
        minigrad.onnx.export(F.relu, np.ones(3, np.float32), folder / "x.onnx")


def test_a_failed_export_leaves_no_file(folder):
    path = folder / "never.onnx"
    with pytest.raises(minigrad.onnx.ExportError):
        minigrad.onnx.export(lambda x: x.data, np.ones(3, np.float32), path)
    assert not path.exists()


def test_the_core_never_imports_the_export_packages():
    """onnx, onnxruntime and safetensors load only when a file is exported or read."""
    code = (
        "import json, sys\n"
        "import minigrad, minigrad.onnx, minigrad.torch_layout, models.export\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'onnx', 'onnxruntime', 'safetensors'})))\n"
    )
    root = Path(minigrad.__file__).parent.parent
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


def test_the_export_command_writes_model_onnx_beside_a_runs_weights(tmp_path, capsys):
    preset = PRESETS["book"]
    model = MnistMLP(preset, rng=0)
    model.save(tmp_path / WEIGHTS_NAME)
    config = {"preset": "book", "settings": dataclasses.asdict(preset)}
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config))
    assert export_command.main([str(tmp_path)]) == 0
    assert f"wrote {tmp_path / 'model.onnx'}" in capsys.readouterr().out
    digits = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    runner = session(tmp_path / "model.onnx")
    (scores,) = runner.run(["scores"], {"digits": digits})
    np.testing.assert_allclose(scores, model(digits).data, rtol=1e-5, atol=1e-6)


def test_the_export_command_says_when_it_cannot_tell_the_network(tmp_path, capsys):
    MnistMLP(PRESETS["book"], rng=0).save(tmp_path / WEIGHTS_NAME)
    assert export_command.main([str(tmp_path)]) == 1
    assert "pass --preset" in capsys.readouterr().err
    assert not (tmp_path / "model.onnx").exists()
