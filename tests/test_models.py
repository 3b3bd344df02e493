"""models/: the presets, the MNIST MLP's cost, batched evaluation and the weights converter."""

import os
import pickle

import numpy as np
import pytest

from minigrad import Tensor
from minigrad import functional as F
from minigrad.datasets.mnist import load_mnist
from models import convert_weights
from models.mlp import PRESETS, MnistMLP, confusion_matrix, evaluate, get_preset


@pytest.fixture(scope="module")
def test_digits():
    (_, _), (x_test, t_test) = load_mnist()
    return x_test[:2000], t_test[:2000].astype(np.int64)


def book_predict(params, x):
    """The book's chapter 3 `predict`, in NumPy."""

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    a1 = sigmoid(x @ params["W1"] + params["b1"])
    a2 = sigmoid(a1 @ params["W2"] + params["b2"])
    return a2 @ params["W3"] + params["b3"]


SEED_NETWORKS = {
    "nielsen": {
        "sizes": (784, 30, 10),
        "activation": "sigmoid",
        "output_activation": "sigmoid",
        "cost": "quadratic",
        "optimizer": "sgd",
        "lr": 3.0,
        "batch_size": 10,
        "epochs": 30,
    },
    "book": {
        "sizes": (784, 50, 10),
        "activation": "sigmoid",
        "cost": "cross_entropy",
        "init": 0.01,
        "optimizer": "sgd",
        "lr": 0.1,
        "batch_size": 100,
        "steps": 10_000,
    },
    "book3": {"sizes": (784, 50, 100, 10), "activation": "sigmoid", "output_activation": None},
}


@pytest.mark.parametrize("name", SEED_NETWORKS)
def test_presets_reproduce_the_seed_networks(name):
    expected = SEED_NETWORKS[name]
    assert {key: getattr(PRESETS[name], key) for key in expected} == expected


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_builds_its_network(name):
    model = MnistMLP(PRESETS[name], rng=0)
    assert [layer.weight.shape for layer in model.layers] == list(
        zip(PRESETS[name].sizes, PRESETS[name].sizes[1:])
    )
    assert model(np.zeros((2, 784), dtype=np.float32)).shape == (2, 10)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown preset 'resnet'; choose one of: nielsen, book"):
        get_preset("resnet")


def test_cross_entropy_cost_is_the_fused_softmax_cross_entropy():
    model = MnistMLP(PRESETS["book"], rng=0)
    scores = Tensor(np.random.default_rng(0).standard_normal((5, 10)).astype(np.float32))
    labels = np.array([0, 3, 9, 3, 1])
    expected = F.softmax_cross_entropy_composed(scores, labels).item()
    assert model.loss(scores, labels).item() == pytest.approx(expected, rel=1e-6)


def test_quadratic_cost_is_nielsens_half_squared_error_per_digit():
    model = MnistMLP(PRESETS["nielsen"], rng=0)
    outputs = np.random.default_rng(0).random((4, 10), dtype=np.float32)
    labels = np.array([1, 2, 3, 4])
    expected = 0.5 * np.sum((outputs - np.eye(10)[labels]) ** 2) / 4
    assert model.loss(Tensor(outputs), labels).item() == pytest.approx(expected, rel=1e-6)


def test_evaluation_does_not_depend_on_the_batch_size(test_digits):
    x, t = test_digits
    model = MnistMLP(PRESETS["default"], rng=0)
    reference = evaluate(model, x, t, batch_size=len(x))
    for batch_size in (1, 7, 100):
        result = evaluate(model, x, t, batch_size=batch_size)
        np.testing.assert_array_equal(result.predictions, reference.predictions)
        assert result.accuracy == reference.accuracy
        assert result.loss == pytest.approx(reference.loss, rel=1e-5)


def test_evaluation_runs_in_eval_mode_and_restores_training_mode(test_digits):
    x, t = test_digits
    model = MnistMLP(PRESETS["best"], rng=0)
    first, second = evaluate(model, x[:50], t[:50]), evaluate(model, x[:50], t[:50])
    np.testing.assert_array_equal(first.predictions, second.predictions)  # no dropout
    assert model.training


def test_confusion_matrix_counts_true_against_predicted():
    matrix = confusion_matrix(np.array([1, 1, 2, 9]), np.array([1, 7, 2, 9]))
    assert matrix.shape == (10, 10) and matrix.sum() == 4
    assert (matrix[1, 1], matrix[1, 7], matrix[2, 2], matrix[9, 9]) == (1, 1, 1, 1)


# ----- weights trained elsewhere ----------------------------------------------------------------
def book_params(rng):
    sizes = PRESETS["book3"].sizes
    params = {}
    for number, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        params[f"W{number}"] = rng.standard_normal((fan_in, fan_out)).astype(np.float32) * 0.1
        params[f"b{number}"] = rng.standard_normal(fan_out).astype(np.float32) * 0.1
    return params


@pytest.mark.parametrize("protocol", [2, 3, pickle.HIGHEST_PROTOCOL])
def test_book_pickle_converts_and_runs_as_the_book_computes_it(tmp_path, test_digits, protocol):
    params = book_params(np.random.default_rng(protocol))
    source = tmp_path / "sample_weight.pkl"
    source.write_bytes(pickle.dumps(params, protocol=protocol))
    assert convert_weights.main([str(source)]) == 0
    model = MnistMLP(PRESETS["book3"]).load_weights(str(tmp_path / "sample_weight.npz"))
    x, t = test_digits
    expected = book_predict(params, x).argmax(axis=1)
    np.testing.assert_array_equal(evaluate(model, x, t, batch_size=100).predictions, expected)


def test_converter_refuses_a_pickle_that_would_run_code(tmp_path, capsys):
    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    source = tmp_path / "evil.pkl"
    source.write_bytes(pickle.dumps({"W1": Payload()}))
    assert convert_weights.main([str(source), "-o", str(tmp_path / "out.npz")]) == 1
    assert "refused to load posix.mkdir" in capsys.readouterr().err
    assert not marker.exists()
    assert sorted(os.listdir(tmp_path)) == ["evil.pkl"]


def test_converter_refuses_non_numeric_entries():
    data = pickle.dumps({"W1": np.array(["a", "b"]), "b1": np.zeros(2)})
    with pytest.raises(TypeError, match="W1 holds <U1 values; weights are numbers"):
        convert_weights.load_pickled_arrays(data)


@pytest.mark.parametrize(
    "content",
    [b'{"preset": "default"}', b"\x80\x04\x95\x10" + bytes(range(101, 140)), b""],
    ids=["json", "garbled pickle", "empty"],
)
def test_converter_says_a_file_is_not_a_pickle_of_arrays(tmp_path, capsys, content):
    source = tmp_path / "config.json"
    source.write_bytes(content)
    assert convert_weights.main([str(source)]) == 1
    error = capsys.readouterr().err
    assert f"cannot convert {source}: it is not a pickle of NumPy arrays" in error
    assert sorted(os.listdir(tmp_path)) == ["config.json"]
