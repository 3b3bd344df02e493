"""models/: the presets, the networks' costs, batched evaluation and the weights converter."""

import dataclasses
import os
import pickle

import numpy as np
import pytest

from benchmarks import conv_reference
from minigrad import Tensor, no_grad
from minigrad import functional as F
from minigrad.datasets.mnist import load_mnist
from models import convert_weights
from models import evaluate as evaluate_command
from models.mlp import PRESETS, MnistMLP, confusion_matrix, evaluate, get_preset
from models.networks import build_model


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


MLP_PRESETS = [name for name, preset in PRESETS.items() if preset.network == "mlp"]
CONV_PRESETS = [name for name, preset in PRESETS.items() if preset.network != "mlp"]


@pytest.mark.parametrize("name", MLP_PRESETS)
def test_every_mlp_preset_builds_its_network(name):
    model = MnistMLP(PRESETS[name], rng=0)
    assert [layer.weight.shape for layer in model.layers] == list(
        zip(PRESETS[name].sizes, PRESETS[name].sizes[1:])
    )
    assert model(np.zeros((2, 784), dtype=np.float32)).shape == (2, 10)


@pytest.mark.parametrize("name", CONV_PRESETS)
def test_every_conv_preset_builds_a_network_of_images(name):
    preset = PRESETS[name]
    model = build_model(preset, rng=0)
    assert not preset.images_flat
    assert model(np.zeros((2, 1, 28, 28), dtype=np.float32)).shape == (2, 10)


def test_the_book_conv_nets_have_the_books_shapes():
    simple = build_model(PRESETS["simple_convnet"], rng=0)
    assert [simple.conv.weight.shape, simple.affine1.weight.shape, simple.affine2.weight.shape] == [
        (30, 1, 5, 5),
        (4320, 100),
        (100, 10),
    ]
    deep = build_model(PRESETS["deep_convnet"], rng=0)
    shapes = [getattr(deep, f"conv{n}").weight.shape for n in range(1, 7)]
    assert [shape[:2] for shape in shapes] == [
        (16, 1),
        (16, 16),
        (32, 16),
        (32, 32),
        (64, 32),
        (64, 64),
    ]
    assert (deep.affine1.weight.shape, deep.affine2.weight.shape) == ((1024, 50), (50, 10))
    assert deep.conv4.padding == (2, 2) and deep.conv3.padding == (1, 1)


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


# ----- the book's conv nets ---------------------------------------------------------------------
def book_conv(x, W, b, pad):
    """The book's Convolution.forward: im2col, one matmul, back to (N, FN, OH, OW)."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    filters, _, kh, kw = W.shape
    out_h, out_w = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    columns = conv_reference.im2col(x, kh, kw)
    out = columns @ W.reshape(filters, -1).T + b
    return out.reshape(len(x), out_h, out_w, -1).transpose(0, 3, 1, 2)


def book_pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def book_simple_convnet_predict(params, x):
    h = book_pool(np.maximum(book_conv(x, params["W1"], params["b1"], 0), 0)).reshape(len(x), -1)
    return np.maximum(h @ params["W2"] + params["b2"], 0) @ params["W3"] + params["b3"]


def book_deep_convnet_predict(params, x):
    """DeepConvNet.predict(x, train_flg=False): its Dropout scales by 1 - 0.5 at test time."""
    h = x
    for number, pad in enumerate((1, 1, 1, 2, 1, 1), start=1):
        h = np.maximum(book_conv(h, params[f"W{number}"], params[f"b{number}"], pad), 0)
        if number % 2 == 0:
            h = book_pool(h)
    h = np.maximum(h.reshape(len(x), -1) @ params["W7"] + params["b7"], 0) * 0.5
    return (h @ params["W8"] + params["b8"]) * 0.5


def book_conv_params(name, rng):
    """Weights in the book's layout, as its save_params pickles them; biases non-zero so
    a misplaced one shows."""
    model = build_model(PRESETS[name], rng=rng)
    params = {}
    for number, layer in enumerate(model.book_layers, start=1):
        weight = getattr(model, layer).weight.data
        params[f"W{number}"] = weight
        params[f"b{number}"] = rng.standard_normal(weight.shape[0 if weight.ndim == 4 else 1])
        params[f"b{number}"] = params[f"b{number}"].astype(np.float32) * 0.1
    return params


BOOK_CONVNETS = {
    "simple_convnet": ("params.pkl", book_simple_convnet_predict),
    "deep_convnet": ("deep_convnet_params.pkl", book_deep_convnet_predict),
}


@pytest.fixture(scope="module")
def test_images():
    (_, _), (x_test, t_test) = load_mnist(flatten=False)
    return x_test[:300], t_test[:300].astype(np.int64)


@pytest.mark.parametrize("name", BOOK_CONVNETS)
def test_book_conv_net_pickles_convert_and_run_as_the_book_computes_them(
    tmp_path, test_images, name
):
    filename, book_predict_of = BOOK_CONVNETS[name]
    params = book_conv_params(name, np.random.default_rng(len(name)))
    source = tmp_path / filename
    source.write_bytes(pickle.dumps(params))
    assert convert_weights.main([str(source)]) == 0
    model = build_model(PRESETS[name]).load_weights(str(source.with_suffix(".npz")))
    x, t = test_images
    expected = book_predict_of(params, x)
    with no_grad():
        scores = model.eval()(x).data
    # float32 sums in another order: equal to a few parts in 1e5 of the scores' size
    np.testing.assert_allclose(scores, expected, atol=1e-4 * np.abs(expected).max())
    predictions = evaluate(model, x, t, batch_size=100).predictions
    np.testing.assert_array_equal(predictions, expected.argmax(axis=1))


def test_evaluate_prints_the_accuracy_the_books_code_gets(tmp_path, capsys):
    params = book_conv_params("simple_convnet", np.random.default_rng(7))
    source = tmp_path / "params.pkl"
    source.write_bytes(pickle.dumps(params))
    assert convert_weights.main([str(source)]) == 0
    assert evaluate_command.main([str(tmp_path / "params.npz"), "--preset", "simple_convnet"]) == 0
    (_, _), (x_test, t_test) = load_mnist(flatten=False)
    correct = int(np.sum(book_simple_convnet_predict(params, x_test).argmax(axis=1) == t_test))
    output = capsys.readouterr().out
    assert f"test accuracy {correct / len(t_test):.4f} ({correct} / {len(t_test)})" in output


def test_book_weights_of_the_wrong_network_are_refused_with_the_shapes(tmp_path, capsys):
    params = book_conv_params("simple_convnet", np.random.default_rng(0))
    np.savez(tmp_path / "params.npz", **params)
    assert evaluate_command.main([str(tmp_path / "params.npz"), "--preset", "deep_convnet"]) == 1
    error = capsys.readouterr().err
    assert "does not fit the deep_convnet network" in error
    assert "W1 has shape (30, 1, 5, 5), the model needs (16, 1, 3, 3)" in error


def test_a_conv_net_refuses_the_quadratic_cost():
    preset = dataclasses.replace(PRESETS["simple_convnet"], cost="quadratic")
    with pytest.raises(ValueError, match="simple_convnet: cost must be 'cross_entropy'"):
        build_model(preset)
