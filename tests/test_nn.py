"""minigrad.nn: registration and names, scopes for graph pictures, layers, weights files."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from npz_damage import set_encrypted_flag

from minigrad import Tensor, files, nn
from minigrad.graph import topological_order

REPOSITORY = Path(__file__).resolve().parent.parent
# Saves weights through an np.savez that writes part of the file, says so, and stalls.
STALLED_SAVE = """
import sys, time
import numpy as np
from minigrad import nn

def stalled_savez(out, **arrays):
    out.write(b"PK half an archive")
    out.flush()
    print("writing", flush=True)
    time.sleep(60)

np.savez = stalled_savez
nn.MLP([3, 2], rng=1).save(sys.argv[1])
"""


class TwoLayers(nn.Module):
    def __init__(self):
        self.layers = nn.Sequential(nn.Linear(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
        self.scale = nn.Parameter(np.ones(2, dtype=np.float32))

    def forward(self, x):
        return self.layers(x) * self.scale


def recorded_scopes(output):
    return [(tensor.op.name, tensor.op.scope) for tensor in topological_order(output)]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ----- registration, names and scopes -------------------------------------------------------
def test_attributes_register_with_dotted_names():
    model = TwoLayers()
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "scale",
        "layers.0.weight",
        "layers.0.bias",
        "layers.2.weight",
        "layers.2.bias",
    ]
    assert [parameter.name for parameter in model.parameters()] == names
    assert all(isinstance(parameter, Tensor) for parameter in model.parameters())
    assert [name for name, _ in model.named_modules()] == ["", "layers"] + [
        f"layers.{i}" for i in range(3)
    ]


def test_names_follow_a_module_moved_into_a_bigger_model():
    layer = nn.Linear(2, 2)
    assert layer.weight.name == "weight"
    outer = nn.Sequential(nn.Sequential(layer))
    assert layer.weight.name == "0.0.weight"
    assert [name for name, _ in outer.named_parameters()] == ["0.0.weight", "0.0.bias"]


def test_a_shared_parameter_is_listed_once():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].weight = model[0].weight
    assert len(model.parameters()) == 3


def test_ops_record_the_path_of_the_module_that_ran_them():
    model = TwoLayers()
    out = model(np.ones((5, 4), dtype=np.float32)).sum()
    assert recorded_scopes(out) == [
        ("linear", ("layers", "layers.0")),
        ("relu", ("layers", "layers.1")),
        ("linear", ("layers", "layers.2")),
        ("mul", ()),
        ("sum", ()),
    ]


def test_mlp_layers_record_their_own_scope_and_activations_the_models():
    model = nn.MLP([4, 3, 2], activation="sigmoid", rng=0)
    out = model(np.ones((2, 4), dtype=np.float32))
    assert recorded_scopes(out) == [
        ("linear", ("layers.0",)),
        ("sigmoid", ()),
        ("linear", ("layers.1",)),
    ]


def test_train_and_eval_reach_every_module_and_zero_grad_clears():
    model = TwoLayers()
    model.eval()
    assert not any(module.training for _, module in model.named_modules())
    model.train()
    assert all(module.training for _, module in model.named_modules())
    model(np.ones((1, 4), dtype=np.float32)).sum().backward()
    assert all(parameter.grad is not None for parameter in model.parameters())
    model.zero_grad()
    assert all(parameter.grad is None for parameter in model.parameters())


def test_forward_must_be_written():
    with pytest.raises(NotImplementedError, match="Empty: a Module must define forward"):
        type("Empty", (nn.Module,), {})()(1)


# ----- layers ---------------------------------------------------------------------------------
def test_linear_is_x_times_w_plus_b_with_w_in_by_out():
    layer = nn.Linear(3, 2, rng=0)
    assert layer.weight.shape == (3, 2) and layer.weight.dtype == np.float32
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    layer.bias.data[:] = [1.0, -1.0]
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data + layer.bias.data, rtol=1e-6)


@pytest.mark.parametrize(
    "init, std", [("he", np.sqrt(2 / 400)), ("xavier", np.sqrt(1 / 400)), (0.01, 0.01)]
)
def test_linear_initialisation_has_the_chosen_spread(init, std):
    layer = nn.Linear(400, 300, init=init, rng=0)
    assert layer.weight.data.std() == pytest.approx(std, rel=0.02)
    assert abs(layer.weight.data.mean()) < std * 0.02
    assert not layer.bias.data.any()


def test_unknown_init_and_activation_are_named_with_the_layer_they_belong_to():
    with pytest.raises(ValueError, match="Linear: init must be 'he', 'xavier'"):
        nn.Linear(2, 2, init="glorot")
    with pytest.raises(ValueError, match=r"MLP: activation must be one of \['relu'"):
        nn.MLP([2, 2], activation="softplus")
    with pytest.raises(ValueError, match="MLP: activation must be one of .* got None"):
        nn.MLP([2, 2], activation=None)
    with pytest.raises(ValueError, match="MLP: output_activation must be one of"):
        nn.MLP([2, 2], output_activation="softmax")


def test_activation_modules_apply_their_function():
    x = np.array([[-2.0, 0.5]], dtype=np.float32)
    np.testing.assert_allclose(nn.ReLU()(x).data, [[0.0, 0.5]])
    np.testing.assert_allclose(nn.Sigmoid()(x).data, sigmoid(x), rtol=1e-6)
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x), rtol=1e-6)


def test_mlp_computes_the_network_the_book_writes_by_hand():
    model = nn.MLP([6, 5, 4, 3], activation="sigmoid", rng=0)
    params = model.book_params()
    x = np.random.default_rng(1).random((7, 6), dtype=np.float32)
    a1 = sigmoid(x @ params["W1"] + params["b1"])
    a2 = sigmoid(a1 @ params["W2"] + params["b2"])
    np.testing.assert_allclose(model(x).data, a2 @ params["W3"] + params["b3"], rtol=1e-5)


def test_mlp_output_activation_is_nielsens_sigmoid_output():
    model = nn.MLP([3, 2], activation="sigmoid", output_activation="sigmoid", rng=0)
    x = np.ones((1, 3), dtype=np.float32)
    logits = x @ model.layers[0].weight.data + model.layers[0].bias.data
    np.testing.assert_allclose(model(x).data, sigmoid(logits), rtol=1e-6)


def test_dropout_is_inverted_while_training_and_off_in_eval():
    dropout = nn.Dropout(0.25, rng=0)
    x = Tensor(np.ones((200, 100), dtype=np.float32), requires_grad=True)
    y = dropout(x)
    kept = y.data != 0
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.75, rtol=1e-6)
    dropout.eval()
    np.testing.assert_array_equal(dropout(x).data, x.data)


def test_dropout_masks_differ_between_calls_and_repeat_with_the_seed():
    first, second = nn.Dropout(0.5, rng=3), nn.Dropout(0.5, rng=3)
    x = np.ones((10, 10), dtype=np.float32)
    a, b = first(x).data, first(x).data
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(second(x).data, a)
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\)"):
        nn.Dropout(1.0)


def test_mlp_has_one_dropout_per_hidden_layer_and_none_without_dropout():
    def dropouts(model):
        return [name for name, module in model.named_modules() if isinstance(module, nn.Dropout)]

    assert dropouts(nn.MLP([4, 3, 3, 2], dropout=0.2)) == ["dropouts.0", "dropouts.1"]
    assert dropouts(nn.MLP([4, 3, 3, 2])) == []


def test_mlp_dropout_is_only_active_in_training_mode():
    model = nn.MLP([20, 50, 5], dropout=0.5, rng=0)
    x = np.ones((4, 20), dtype=np.float32)
    assert not np.allclose(model(x).data, model(x).data)
    model.eval()
    np.testing.assert_array_equal(model(x).data, model(x).data)


def test_a_linear_layer_with_no_inputs_outputs_its_bias():
    layer = nn.Linear(0, 3, rng=0)  # an empty sum: x @ W is all zeros
    layer.bias.data[:] = [1.0, 2.0, 3.0]
    x = Tensor(np.zeros((4, 0), dtype=np.float32), requires_grad=True)
    y = layer(x)
    np.testing.assert_array_equal(y.data, np.tile([1.0, 2.0, 3.0], (4, 1)))
    y.sum().backward()
    assert layer.weight.grad.shape == (0, 3) and x.grad.shape == (4, 0)
    np.testing.assert_array_equal(layer.bias.grad.data, [4.0, 4.0, 4.0])


def test_a_linear_layer_with_no_outputs_gives_an_empty_output_and_zero_gradients():
    layer = nn.Linear(2, 0, rng=0)
    x = Tensor(np.ones((4, 2), dtype=np.float32), requires_grad=True)
    y = layer(x)
    assert y.shape == (4, 0)
    y.sum().backward()
    assert layer.weight.grad.shape == (2, 0) and layer.bias.grad.shape == (0,)
    np.testing.assert_array_equal(x.grad.data, np.zeros((4, 2)))


def test_an_mlp_with_an_empty_hidden_layer_outputs_the_last_bias():
    model = nn.MLP([3, 0, 2], rng=0)
    model.layers[1].bias.data[:] = [5.0, -5.0]
    x = Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    y = model(x)
    np.testing.assert_array_equal(y.data, np.tile([5.0, -5.0], (4, 1)))
    y.sum().backward()
    assert [p.grad.shape for p in model.parameters()] == [(3, 0), (0,), (0, 2), (2,)]


BAD_CONSTRUCTORS = [
    (lambda: nn.Linear(-1, 3), ValueError, "Linear: in_features must be at least 0, got -1"),
    (lambda: nn.Linear(3, -2), ValueError, "Linear: out_features must be at least 0, got -2"),
    (lambda: nn.Linear(2.5, 3), TypeError, "Linear: in_features must be an int, got 2.5"),
    (lambda: nn.Linear(2, "3"), TypeError, "Linear: out_features must be an int, got '3'"),
    (lambda: nn.Linear(True, 3), TypeError, "Linear: in_features must be an int, got True"),
    (
        lambda: nn.Linear(2, 3, init=float("nan")),
        ValueError,
        r"Linear: init \(a standard deviation\) must be in \[0.0, inf\), got nan",
    ),
    (lambda: nn.Linear(2, 3, init=-0.01), ValueError, r"Linear: init .* got -0.01"),
    (
        lambda: nn.Linear(2, 3, init=None),
        ValueError,
        "Linear: init must be 'he', 'xavier' .* got None",
    ),
    (
        lambda: nn.Linear(2, 3, dtype=np.int32),
        TypeError,
        "Linear: dtype must be a float type such as np.float32, got int32",
    ),
    (lambda: nn.Linear(2, 3, dtype="banana"), TypeError, "Linear: dtype .* got 'banana'"),
    (
        lambda: nn.Linear(2, 3, rng="x"),
        TypeError,
        "Linear: rng must be None, an int >= 0 or a np.random.Generator, got 'x'",
    ),
    (lambda: nn.Dropout("0.5"), TypeError, "Dropout: p must be a number, got '0.5'"),
    (lambda: nn.Dropout(float("nan")), ValueError, r"Dropout: p must be in \[0, 1\), got nan"),
    (lambda: nn.Dropout(0.5, rng=-1), ValueError, "Dropout: rng must be .* got -1"),
    (lambda: nn.MLP(784), TypeError, r"MLP: sizes must be a list of layer sizes .* got 784"),
    (lambda: nn.MLP("23"), TypeError, "MLP: sizes must be a list .* got '23'"),
    (lambda: nn.MLP([784, -1, 10]), ValueError, r"MLP: sizes\[1\] must be at least 0, got -1"),
    (lambda: nn.MLP([784, 2.5, 10]), TypeError, r"MLP: sizes\[1\] must be an int, got 2.5"),
    (lambda: nn.MLP([2, 3], dropout=1.0), ValueError, r"MLP: dropout must be in \[0, 1\), got 1.0"),
    (lambda: nn.MLP([2, 3, 4], dropout=float("nan")), ValueError, "MLP: dropout .* got nan"),
    (
        lambda: nn.MLP([2, 3], init="kaiming"),
        ValueError,
        "MLP: init must be 'he', .* got 'kaiming'",
    ),
    (lambda: nn.MLP([2, 3], rng=2.5), TypeError, "MLP: rng must be None, an int .* got 2.5"),
    (
        lambda: nn.Sequential(nn.ReLU(), abs),
        TypeError,
        r"Sequential: argument 1 is <built-in function abs> \(builtin_function_or_method\), "
        "not a Module; wrap a function in a Module subclass",
    ),
    (
        lambda: nn.Sequential([nn.ReLU(), nn.Tanh()]),
        TypeError,
        r"Sequential: argument 0 is \[ReLU\(\), Tanh\(\)\] \(list\), not a Module; pass the "
        r"modules themselves: Sequential\(\*layers\)",
    ),
]


@pytest.mark.parametrize("make, error, message", BAD_CONSTRUCTORS)
def test_bad_layer_arguments_name_the_layer_the_argument_and_the_value(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_layer_sizes_may_be_numpy_integers():
    assert nn.Linear(np.int64(2), np.int32(3)).weight.shape == (2, 3)
    assert nn.MLP(np.array([4, 3, 2])).sizes == (4, 3, 2)


# ----- weights: state_dict, files, the book's names -----------------------------------------
def test_state_dict_round_trip_gives_the_same_outputs():
    source, target = nn.MLP([4, 8, 3], rng=0), nn.MLP([4, 8, 3], rng=1)
    state = source.state_dict()
    target.load_state_dict(state)
    x = np.ones((2, 4), dtype=np.float32)
    np.testing.assert_array_equal(target(x).data, source(x).data)
    state["layers.0.weight"][:] = 0  # a copy, not the model's own array
    assert source.layers[0].weight.data.any()


@given(
    st.lists(st.integers(1, 6), min_size=2, max_size=4),
    st.sampled_from(["relu", "sigmoid", "tanh"]),
)
def test_save_then_load_restores_every_parameter(tmp_path_factory, sizes, activation):
    path = tmp_path_factory.mktemp("weights") / "model.npz"
    saved = nn.MLP(sizes, activation=activation, rng=0)
    saved.save(path)
    loaded = nn.MLP(sizes, activation=activation, rng=1).load(path)
    for (name, a), (_, b) in zip(saved.named_parameters(), loaded.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    assert os.listdir(path.parent) == ["model.npz"]  # no temporary file left behind


def test_load_state_dict_names_every_problem_and_changes_nothing():
    model = nn.MLP([4, 3, 2], rng=0)
    before = model.state_dict()
    state = dict(before)
    state["layers.0.weight"] = np.zeros((5, 3))
    del state["layers.1.bias"]
    state["layers.9.weight"] = np.zeros(1)
    with pytest.raises(nn.StateDictError) as caught:
        model.load_state_dict(state)
    message = str(caught.value)
    assert "missing: layers.1.bias" in message
    assert "unexpected: layers.9.weight" in message
    assert "layers.0.weight has shape (5, 3), the model needs (4, 3)" in message
    assert caught.value.mismatched == {"layers.0.weight": ((4, 3), (5, 3))}
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_loading_a_truncated_weights_file_names_the_file_and_the_fix(tmp_path):
    path = nn.MLP([20, 10, 2], rng=0).save(tmp_path / "weights.npz")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(files.NpzError, match=r"weights\.npz is truncated or corrupt"):
        nn.MLP([20, 10, 2]).load(path)


def test_loading_weights_with_a_flipped_encrypted_flag_names_the_file_and_the_fix(tmp_path):
    path = nn.MLP([20, 10, 2], rng=0).save(tmp_path / "weights.npz")
    set_encrypted_flag(path)
    named = re.escape(str(path))
    with pytest.raises(files.NpzError, match=rf"{named} is truncated or corrupt .* copy it again"):
        nn.MLP([20, 10, 2]).load(path)


def test_a_failed_save_leaves_no_file(tmp_path):
    with pytest.raises(OSError):
        nn.MLP([2, 2]).save(tmp_path / "missing-folder" / "model.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(files.fcntl is None, reason="SIGKILL and flock are POSIX")
def test_a_save_killed_mid_write_keeps_the_old_file_and_the_next_save_sweeps_up(tmp_path):
    path = nn.MLP([3, 2], rng=0).save(tmp_path / "weights.npz")
    before = path.read_bytes()
    writer = subprocess.Popen(
        [sys.executable, "-c", STALLED_SAVE, str(path)],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline() == "writing\n"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    (leftover,) = set(os.listdir(tmp_path)) - {"weights.npz"}
    assert leftover.startswith(".weights-partial-") and leftover.endswith(".npz")
    assert path.read_bytes() == before
    nn.MLP([3, 2]).load(path)
    nn.MLP([3, 2], rng=2).save(path)
    assert os.listdir(tmp_path) == ["weights.npz"]


def test_the_file_helpers_are_still_reachable_from_nn():
    assert nn.read_npz is files.read_npz
    assert nn.atomic_path is files.atomic_path


def test_book_params_load_by_name_and_errors_use_the_books_names():
    model = nn.MLP([784, 50, 100, 10], activation="sigmoid", rng=0)
    other = nn.MLP([784, 50, 100, 10], activation="sigmoid", rng=1)
    other.load_book_params(model.book_params())
    x = np.full((3, 784), 0.5, dtype=np.float32)
    np.testing.assert_array_equal(other(x).data, model(x).data)
    params = model.book_params()
    params["W2"] = params["W2"].T
    del params["b3"]
    with pytest.raises(nn.StateDictError, match=r"missing: b3; W2 has shape \(100, 50\)"):
        other.load_book_params(params)


def test_weights_that_are_not_numbers_are_refused():
    model = nn.MLP([3, 2], rng=0)
    with pytest.raises(TypeError, match="MLP.load_book_params: W1 holds <U1 values; weights are"):
        model.load_book_params({"W1": np.full((3, 2), "a"), "b1": np.zeros(2)})


def test_float64_book_weights_are_cast_to_the_models_float32():
    model = nn.MLP([3, 2], rng=0)
    model.load_book_params({"W1": np.ones((3, 2)), "b1": np.zeros(2)})
    assert model.layers[0].weight.dtype == np.float32
    np.testing.assert_array_equal(model.layers[0].weight.data, np.ones((3, 2)))


def test_sequential_runs_indexes_and_counts_the_children_it_has_now():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and len(seq[0:2]) == 2
    delattr(seq, "2")
    assert len(seq) == 2 and seq(Tensor(np.ones((1, 2), np.float32))).shape == (1, 3)
    seq.last = nn.Linear(3, 4)
    assert len(seq) == 3 and seq(Tensor(np.ones((1, 2), np.float32))).shape == (1, 4)
    assert len(seq.parameters()) == 4
