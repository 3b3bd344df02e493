"""The layers beyond Linear: LayerNorm, Embedding, ModuleDict, Identity, RNN and LSTM, each
against torch.nn with the same weights (float64), by gradcheck, through state_dict, and
with the messages a wrong input gets."""

import numpy as np
import pytest
import torch

from minigrad import Tensor, gradcheck, nn


@pytest.fixture(autouse=True)
def torch_in_float64():
    """The torch twins are built in float64 here, and only here: the default is global."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def as_torch(array, requires_grad=True):
    return torch.tensor(np.asarray(array), requires_grad=requires_grad)


def with_parameters(module, names):
    """The module's forward as a function of its input and the named parameters, so that
    gradcheck can vary the parameters too; tuples of outputs are flattened."""

    def run(x, *values):
        for name, value in zip(names, values):
            object.__setattr__(module, name, value)
        output = module(x)
        if not isinstance(output, tuple):
            return output
        flat = []
        for part in output:
            flat.extend(part if isinstance(part, tuple) else (part,))
        return tuple(flat)

    return run


def parameter_leaves(module):
    names = [name for name, _ in module.named_parameters()]
    leaves = [Tensor(p.data.copy(), requires_grad=True) for _, p in module.named_parameters()]
    return names, leaves


def assert_same_gradients(module, torch_module):
    """Every parameter's gradient equals torch's, matched by name."""
    torch_grads = dict(torch_module.named_parameters())
    for name, parameter in module.named_parameters():
        np.testing.assert_allclose(
            parameter.grad.data, torch_grads[name].grad.numpy(), rtol=1e-10, atol=1e-12
        )


# ----- LayerNorm ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, normalized", [((4, 5), 5), ((2, 3, 4), (3, 4)), ((6,), (6,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, normalized, affine):
    rng = np.random.default_rng(0)
    layer = nn.LayerNorm(normalized, eps=1e-5, elementwise_affine=affine, dtype=np.float64)
    reference = torch.nn.LayerNorm(normalized, eps=1e-5, elementwise_affine=affine)
    if affine:  # away from the initial ones and zeros, so a swapped weight and bias shows
        layer.weight.data[...] = rng.standard_normal(layer.weight.shape)
        layer.bias.data[...] = rng.standard_normal(layer.bias.shape)
        reference.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    x = rng.standard_normal(shape) * 3 + 1
    seed = rng.standard_normal(shape)
    ours, theirs = Tensor(x, requires_grad=True), as_torch(x)
    out, expected = layer(ours), reference(theirs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    (out * seed).sum().backward()
    (expected * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    if affine:
        assert_same_gradients(layer, reference)


def test_layer_norm_second_order_gradcheck():
    layer = nn.LayerNorm((2, 3), dtype=np.float64)
    names, leaves = parameter_leaves(layer)
    leaves[0].data[...] += 0.5  # weight and bias away from 1 and 0
    leaves[1].data[...] -= 0.25
    x = Tensor(np.random.default_rng(1).standard_normal((3, 2, 3)), requires_grad=True)
    assert gradcheck(with_parameters(layer, names), [x, *leaves], order=2) is True


def test_layer_norm_keeps_float32_and_takes_float64_data():
    layer = nn.LayerNorm(4)
    with pytest.warns(UserWarning, match="float"):
        out = layer(np.arange(8.0).reshape(2, 4))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data.mean(axis=-1), 0, atol=1e-6)


def test_layer_norm_wrong_shape_says_which_axes_and_how_to_fix():
    with pytest.raises(
        ValueError,
        match=r"LayerNorm: an input of shape \(2, 3\) does not end in "
        r"normalized_shape \(4,\); build nn.LayerNorm",
    ):
        nn.LayerNorm(4)(np.zeros((2, 3), dtype=np.float32))


@pytest.mark.parametrize(
    "arguments, problem",
    [((0,), "normalized_shape\\[0\\] must be at least 1"), ((3, -1.0), "eps must be")],
)
def test_layer_norm_refuses_bad_settings(arguments, problem):
    with pytest.raises(ValueError, match=problem):
        nn.LayerNorm(*arguments)


# ----- Embedding ------------------------------------------------------------------------------
def test_embedding_matches_torch_with_repeated_indices():
    layer = nn.Embedding(5, 3, rng=0, dtype=np.float64)
    reference = torch.nn.Embedding(5, 3)
    reference.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    indices = np.array([[0, 2, 2], [4, 2, 0]])  # row 2 three times, row 0 twice, rows 1, 3 never
    seed = np.random.default_rng(2).standard_normal((2, 3, 3))
    out, expected = layer(indices), reference(torch.tensor(indices))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    (out * seed).sum().backward()
    (expected * torch.tensor(seed)).sum().backward()
    assert_same_gradients(layer, reference)
    np.testing.assert_array_equal(layer.weight.grad.data[[1, 3]], 0)


def test_embedding_gradcheck_through_a_repeated_row():
    layer = nn.Embedding(4, 2, rng=3, dtype=np.float64)
    names, leaves = parameter_leaves(layer)

    def squared(indices, weight):
        return with_parameters(layer, names)(indices, weight) ** 2

    indices = Tensor(np.array([1, 1, 3, 1]))
    assert gradcheck(lambda weight: squared(indices, weight), leaves, order=2) is True


@pytest.mark.parametrize(
    "indices, error, message",
    [
        (np.array([0.0, 1.0]), TypeError, "Embedding: indices must be integers .* float64"),
        (np.array([0, 5]), IndexError, r"Embedding: indices must lie in 0..4 .* 0 to 5"),
        (np.array([-1, 2]), IndexError, r"Embedding: indices must lie in 0..4 .* -1 to 2"),
    ],
)
def test_embedding_refuses_indices_it_cannot_look_up(indices, error, message):
    with pytest.raises(error, match=message):
        nn.Embedding(5, 2, rng=0)(indices)


# ----- ModuleDict and Identity ----------------------------------------------------------------
class TwoHeads(nn.Module):
    def __init__(self):
        self.heads = nn.ModuleDict({"digit": nn.Linear(3, 10, rng=0), "parity": nn.Linear(3, 2)})
        self.skip = nn.Identity()

    def forward(self, x):
        return {name: head(self.skip(x)) for name, head in self.heads.items()}


def test_module_dict_names_and_registers_its_modules():
    model = TwoHeads()
    assert [name for name, _ in model.named_parameters()] == [
        "heads.digit.weight",
        "heads.digit.bias",
        "heads.parity.weight",
        "heads.parity.bias",
    ]
    assert list(model.heads) == ["digit", "parity"] and len(model.heads) == 2
    assert "digit" in model.heads and "skip" not in model.heads
    model.heads["extra"] = nn.Linear(3, 1)
    assert "heads.extra.weight" in dict(model.named_parameters())
    del model.heads["extra"]
    assert model.heads.keys() == ["digit", "parity"]
    assert model.heads.values() == [model.heads["digit"], model.heads["parity"]]
    outputs = model(np.ones((4, 3), dtype=np.float32))
    assert {name: out.shape for name, out in outputs.items()} == {
        "digit": (4, 10),
        "parity": (4, 2),
    }


def test_module_dict_state_dict_round_trip(tmp_path):
    model, copy = TwoHeads(), TwoHeads()
    copy.load(model.save(tmp_path / "heads.npz"))
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    for name, out in model(x).items():
        np.testing.assert_array_equal(copy(x)[name].data, out.data)


@pytest.mark.parametrize(
    "key, value, error, message",
    [
        ("a.b", nn.Identity(), KeyError, "without '.'"),
        ("", nn.Identity(), KeyError, "non-empty"),
        ("keys", nn.Identity(), KeyError, "would hide ModuleDict.keys"),
        ("training", nn.Identity(), KeyError, "would hide ModuleDict.training"),
        ("head", "relu", TypeError, "the value for 'head' is 'relu' \\(str\\), not a Module"),
    ],
)
def test_module_dict_refuses_bad_entries(key, value, error, message):
    with pytest.raises(error, match=message):
        nn.ModuleDict()[key] = value


def test_module_dict_missing_key_lists_what_it_holds():
    with pytest.raises(KeyError, match="no module named 'digits'; it holds: digit, parity"):
        TwoHeads().heads["digits"]


def test_identity_returns_its_input():
    x = Tensor(np.ones(3))
    assert nn.Identity()(x) is x


# ----- RNN and LSTM ---------------------------------------------------------------------------
RECURRENT = [(nn.RNN, torch.nn.RNN), (nn.LSTM, torch.nn.LSTM)]


def recurrent_pair(ours_class, torch_class, **settings):
    layer = ours_class(3, 4, rng=0, dtype=np.float64, **settings)
    reference = torch_class(3, 4, **settings)
    reference.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    return layer, reference


def flat(output):
    outputs, state = output
    return [outputs, *(state if isinstance(state, tuple) else (state,))]


@pytest.mark.parametrize("ours_class, torch_class", RECURRENT)
@pytest.mark.parametrize(
    "settings",
    [
        {"batch_first": True},
        {"batch_first": False},
        {"batch_first": True, "num_layers": 2},
        {"batch_first": True, "bias": False},
    ],
)
@pytest.mark.parametrize("given_state", [False, True])
def test_recurrent_matches_torch(ours_class, torch_class, settings, given_state):
    layer, reference = recurrent_pair(ours_class, torch_class, **settings)
    rng = np.random.default_rng(4)
    batch, steps, layers = 2, 5, settings.get("num_layers", 1)
    x = rng.standard_normal((batch, steps, 3) if settings["batch_first"] else (steps, batch, 3))
    parts = 2 if ours_class is nn.LSTM else 1
    states = [rng.standard_normal((layers, batch, 4)) for _ in range(parts)] if given_state else []
    ours = [Tensor(a, requires_grad=True) for a in [x, *states]]
    theirs = [as_torch(a) for a in [x, *states]]

    def state_of(tensors):
        if not tensors[1:]:
            return ()
        return (tuple(tensors[1:]) if parts == 2 else tensors[1],)

    our_outputs = flat(layer(ours[0], *state_of(ours)))
    torch_outputs = flat(reference(theirs[0], *state_of(theirs)))
    seeds = [rng.standard_normal(out.shape) for out in our_outputs]
    for out, expected in zip(our_outputs, torch_outputs):
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum((out * seed).sum() for out, seed in zip(our_outputs, seeds)).backward()
    sum((out * torch.tensor(seed)).sum() for out, seed in zip(torch_outputs, seeds)).backward()
    for mine, torch_input in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.data, torch_input.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_same_gradients(layer, reference)


@pytest.mark.parametrize("ours_class", [nn.RNN, nn.LSTM])
def test_recurrent_second_order_gradcheck(ours_class):
    """Full first order; second order by projections (mode="fast"), which falls back to
    every entry of a failing pair."""
    layer = ours_class(2, 2, batch_first=True, rng=5, dtype=np.float64)
    names, leaves = parameter_leaves(layer)
    x = Tensor(np.random.default_rng(6).standard_normal((2, 3, 2)), requires_grad=True)
    run = with_parameters(layer, names)
    assert gradcheck(run, [x, *leaves]) is True
    assert gradcheck(run, [x, *leaves], order=2, mode="fast") is True


def test_rnn_with_relu_matches_torch():
    layer, reference = recurrent_pair(nn.RNN, torch.nn.RNN, nonlinearity="relu", batch_first=True)
    x = np.random.default_rng(7).standard_normal((3, 4, 3))
    ours, theirs = Tensor(x, requires_grad=True), as_torch(x)
    out, expected = layer(ours)[0], reference(theirs)[0]
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ours_class", [nn.RNN, nn.LSTM])
def test_recurrent_state_dict_round_trip_and_float32(ours_class, tmp_path):
    layer = ours_class(3, 4, num_layers=2, batch_first=True, rng=8)
    copy = ours_class(3, 4, num_layers=2, batch_first=True, rng=9).load(
        layer.save(tmp_path / "recurrent.npz")
    )
    x = np.random.default_rng(10).standard_normal((2, 5, 3)).astype(np.float32)
    for out, copied in zip(flat(layer(x)), flat(copy(x))):
        assert out.dtype == np.float32
        np.testing.assert_array_equal(copied.data, out.data)


def test_lstm_names_its_weights_as_torch_does():
    layer = nn.LSTM(3, 4, num_layers=2)
    shapes = {name: p.shape for name, p in layer.named_parameters()}
    expected = {name: tuple(p.shape) for name, p in torch.nn.LSTM(3, 4, 2).named_parameters()}
    assert shapes == expected


@pytest.mark.parametrize(
    "shape, message",
    [
        (
            (2, 5, 4),
            r"LSTM: the input must be \(N, T, input_size\) with input_size=3, got shape "
            r"\(2, 5, 4\); .*build LSTM\(4, \.\.\.\)",
        ),
        ((5, 3), r"LSTM: the input must be \(N, T, input_size\) .* got shape \(5, 3\)"),
        ((2, 0, 3), r"LSTM: the input of shape \(2, 0, 3\) has no time steps"),
    ],
)
def test_lstm_wrong_input_shape_says_what_it_needs(shape, message):
    with pytest.raises(ValueError, match=message):
        nn.LSTM(3, 4, batch_first=True)(np.zeros(shape, dtype=np.float32))


def test_recurrent_wrong_state_says_the_shape_it_needs():
    x = np.zeros((2, 5, 3), dtype=np.float32)
    state = np.zeros((1, 3, 4), dtype=np.float32)
    with pytest.raises(
        ValueError,
        match=r"RNN: h0 must have shape \(num_layers, N, hidden_size\) "
        r"= \(1, 2, 4\) for this input, got \(1, 3, 4\)",
    ):
        nn.RNN(3, 4, batch_first=True)(x, state)
    with pytest.raises(ValueError, match=r"LSTM: the state must be \(h0, c0\), got 1 parts"):
        nn.LSTM(3, 4, batch_first=True)(x, (state,))
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


def test_lstm_loads_a_trained_torch_lstm_as_it_is():
    torch.manual_seed(0)
    reference = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True, dtype=torch.float32)
    layer = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    layer.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    x = np.random.default_rng(11).standard_normal((2, 5, 3)).astype(np.float32)
    for out, expected in zip(flat(layer(x)), flat(reference(torch.tensor(x)))):
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
