"""safetensors weights: Module.save/load by extension, PyTorch reading ours and we theirs
(Linear weights transposed by minigrad.torch_layout), and models.convert_weights.

safetensors is the `export` extra, torch the `test-torch` one."""

import dataclasses
import json
import pickle
import struct

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

from minigrad import nn
from minigrad.datasets import load_mnist
from minigrad.files import SafetensorsFileError, read_safetensors, write_safetensors
from minigrad.torch_layout import from_torch_state_dict, to_torch_state_dict, transposed_names
from models import convert_weights
from models import evaluate as evaluate_command
from models import export as export_command
from models.evaluate import CONFIG_NAME, WEIGHTS_NAME
from models.mlp import PRESETS, MnistMLP


def minigrad_net():
    return nn.Sequential(nn.Linear(4, 8, rng=1), nn.Tanh(), nn.Linear(8, 3, rng=2))


def torch_net():
    """The same network in PyTorch: the same module tree, so the same names."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def inputs():
    return np.random.default_rng(3).standard_normal((16, 4)).astype(np.float32)


def torch_scores(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def test_save_and_load_speak_safetensors_by_extension(tmp_path):
    saved = minigrad_net()
    path = saved.save(tmp_path / "weights.safetensors", metadata={"preset": "tiny"})
    arrays, metadata = read_safetensors(path)
    assert arrays.keys() == saved.state_dict().keys()  # names by path; buffers are in it too
    assert metadata == {"preset": "tiny"}
    loaded = minigrad_net()
    for parameter in loaded.parameters():
        parameter.data[...] = 0
    loaded.load(path)
    np.testing.assert_array_equal(loaded(inputs()).data, saved(inputs()).data)


def test_the_file_is_safetensors_not_a_pickle(tmp_path):
    path = minigrad_net().save(tmp_path / "weights.safetensors")
    data = path.read_bytes()
    (header_length,) = struct.unpack("<Q", data[:8])  # the format: a length, JSON, raw bytes
    header = json.loads(data[8 : 8 + header_length])
    assert set(header) - {"__metadata__"} == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert header["0.weight"]["shape"] == [4, 8] and header["0.weight"]["dtype"] == "F32"
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data)


def test_pytorch_loads_our_safetensors_and_predicts_the_same(tmp_path):
    ours = minigrad_net()
    assert transposed_names(ours) == ["0.weight", "2.weight"]
    path = write_safetensors(tmp_path / "for_torch.safetensors", to_torch_state_dict(ours))
    theirs = torch_net()
    theirs.load_state_dict(safetensors.torch.load_file(path))  # strict: every name and shape
    x = inputs()
    np.testing.assert_allclose(torch_scores(theirs, x), ours(x).data, rtol=1e-5, atol=1e-6)


def test_we_load_pytorch_safetensors_and_predict_the_same(tmp_path):
    theirs = torch_net()
    path = tmp_path / "from_torch.safetensors"
    safetensors.torch.save_file(theirs.state_dict(), path)
    ours = from_torch_state_dict(minigrad_net(), read_safetensors(path)[0])
    x = inputs()
    np.testing.assert_allclose(ours(x).data, torch_scores(theirs, x), rtol=1e-5, atol=1e-6)


class TorchMnistMLP(torch.nn.Module):
    """A PyTorch twin of a sigmoid MnistMLP: `layers` holds its Linears, as minigrad's does."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])
        )

    def forward(self, x):
        *hidden, last = self.layers
        for layer in hidden:
            x = torch.sigmoid(layer(x))
        return last(x)


def test_an_exported_preset_runs_in_pytorch_on_every_test_digit(tmp_path):
    preset = PRESETS["book3"]
    run = tmp_path / "run"
    run.mkdir()
    model = MnistMLP(preset, rng=0)
    model.save(run / WEIGHTS_NAME)
    settings = {"preset": "book3", "settings": dataclasses.asdict(preset)}
    (run / CONFIG_NAME).write_text(json.dumps(settings))
    assert export_command.main([str(run), "--format", "safetensors", "--layout", "torch"]) == 0
    state = safetensors.torch.load_file(run / "model.safetensors")
    with safetensors.safe_open(run / "model.safetensors", framework="numpy") as opened:
        metadata = opened.metadata()
    assert metadata["preset"] == "book3" and metadata["layout"] == "torch"
    assert json.loads(metadata["settings"])["sizes"] == list(preset.sizes)
    twin = TorchMnistMLP(preset.sizes)
    twin.load_state_dict(state)
    (_, _), (x_test, _) = load_mnist()
    expected = model(x_test).data
    got = torch_scores(twin, x_test)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))


def test_minigrad_layout_loads_back_with_load_weights(tmp_path):
    model = MnistMLP(PRESETS["book"], rng=0)
    path = model.save(tmp_path / "weights.safetensors")
    loaded = MnistMLP(PRESETS["book"], rng=1).load_weights(str(path))
    np.testing.assert_array_equal(loaded.layers[0].weight.data, model.layers[0].weight.data)


def test_a_file_that_is_not_safetensors_is_refused_by_name(tmp_path):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(SafetensorsFileError, match="weights.safetensors is not a readable"):
        minigrad_net().load(path)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(minigrad_net().save(tmp_path / "whole.safetensors").read_bytes()[:-10])
    with pytest.raises(SafetensorsFileError, match="cut.safetensors"):
        minigrad_net().load(cut)


def test_an_npz_has_no_place_for_metadata(tmp_path):
    with pytest.raises(ValueError, match="no place for metadata"):
        minigrad_net().save(tmp_path / "weights.npz", metadata={"preset": "tiny"})
    assert not (tmp_path / "weights.npz").exists()


def test_convert_weights_turns_a_pickle_into_safetensors_and_back(tmp_path):
    arrays = {"W1": np.arange(6, dtype=np.float32).reshape(2, 3), "b1": np.ones(3, np.float32)}
    source = tmp_path / "sample_weight.pkl"
    source.write_bytes(pickle.dumps(arrays))
    target = tmp_path / "sample_weight.safetensors"
    assert convert_weights.main([str(source), "-o", str(target)]) == 0
    for name, array in safetensors.numpy.load_file(target).items():
        np.testing.assert_array_equal(array, arrays[name])
    assert convert_weights.main([str(target)]) == 0  # the default output: the same name, .npz
    with np.load(tmp_path / "sample_weight.npz") as converted:
        for name, array in arrays.items():
            np.testing.assert_array_equal(converted[name], array)


def test_convert_weights_reports_a_damaged_safetensors_file(tmp_path, capsys):
    source = tmp_path / "broken.safetensors"
    source.write_bytes(b"nonsense")
    assert convert_weights.main([str(source)]) == 1
    assert "cannot convert" in capsys.readouterr().err


@pytest.mark.parametrize("layout", ["minigrad", "torch"])
def test_an_exported_safetensors_file_evaluates_on_its_own(tmp_path, capsys, layout):
    """Its metadata names the network, and a torch-layout file is transposed back."""
    run = tmp_path / "run"
    run.mkdir()
    MnistMLP(PRESETS["nielsen"], rng=0).save(run / WEIGHTS_NAME)  # randn weights: many digits
    config = {"preset": "nielsen", "settings": dataclasses.asdict(PRESETS["nielsen"])}
    (run / CONFIG_NAME).write_text(json.dumps(config))
    alone = tmp_path / "alone.safetensors"  # no config.json beside it
    exported = ["--format", "safetensors", "--layout", layout, "-o", str(alone)]
    assert export_command.main([str(run), *exported]) == 0
    capsys.readouterr()
    assert evaluate_command.main([str(run)]) == 0
    from_run = capsys.readouterr().out.splitlines()
    assert evaluate_command.main([str(alone)]) == 0
    from_file = capsys.readouterr().out.splitlines()
    assert from_file[1].split(", batch size")[0] == from_run[1].split(", batch size")[0]
    assert from_file[2:] == from_run[2:]  # the confusion matrix
