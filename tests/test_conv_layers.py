"""Conv layers, pooling, Flatten, BatchNorm (with its buffers) and ModuleList: against
torch.nn with the same weights, by central differences, and through weights files."""

import numpy as np
import pytest
import torch  # the test-torch extra: without it these comparisons fail rather than skip

from minigrad import Tensor, gradcheck, nn, replay

RNG = np.random.default_rng(0)


def images(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def torch_grads(module, x, seed):
    """The torch module's output and gradients (input, then parameters) of sum(out * seed)."""
    x = torch.tensor(x, requires_grad=True)
    out = module(x)
    (out * torch.tensor(seed)).sum().backward()
    return out.detach().numpy(), [x.grad.numpy()] + [p.grad.numpy() for p in module.parameters()]


def minigrad_grads(module, x, seed):
    x = Tensor(x, requires_grad=True)
    out = module(x)
    (out * Tensor(seed)).sum().backward()
    return out.data, [x.grad.data] + [p.grad.data for p in module.parameters()]


def assert_all_close(ours, theirs, atol=1e-5):
    for mine, other in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, other, rtol=1e-4, atol=atol)


def with_parameters(module, names):
    """fn(x, *parameters) running `module` with the given tensors in place of its own,
    for gradcheck, which passes copies."""

    def fn(x, *parameters):
        for name, parameter in zip(names, parameters):
            object.__setattr__(module, name, parameter)
        return module(x)

    return fn


# ----- Conv2d --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"stride": 2, "padding": 1},
        {"padding": (2, 1), "dilation": 2},
        {"groups": 2, "stride": (1, 2)},
        {"bias": False},
    ],
)
def test_conv2d_matches_torch_forward_and_gradients(options):
    ours = nn.Conv2d(4, 6, (3, 2), rng=1, **options)
    theirs = torch.nn.Conv2d(4, 6, (3, 2), **options)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        if ours.bias is not None:
            ours.bias.data[...] = RNG.standard_normal(6)
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = images(2, 4, 7, 6)
    out, grads = minigrad_grads(ours, x, seed := images(*theirs(torch.tensor(x)).shape))
    expected_out, expected_grads = torch_grads(theirs, x, seed)
    assert_all_close([out, *grads], [expected_out, *expected_grads])


def test_conv2d_weight_layout_and_he_init():
    conv = nn.Conv2d(6, 8, 5, groups=2, rng=0)
    assert conv.weight.shape == (8, 3, 5, 5) and conv.bias.shape == (8,)
    assert conv.weight.dtype == np.float32 and not conv.bias.data.any()
    big = nn.Conv2d(16, 256, 3, rng=0)
    assert big.weight.data.std() == pytest.approx(np.sqrt(2 / (16 * 9)), rel=0.05)
    assert nn.Conv2d(1, 4, 3, init=0.01, rng=0).weight.data.std() == pytest.approx(0.01, rel=0.5)


def test_conv2d_gradcheck():
    conv = nn.Conv2d(2, 3, 3, padding=1, stride=2, rng=0, dtype=np.float64)
    x = Tensor(images(2, 2, 5, 5, dtype=np.float64), requires_grad=True)
    fn = with_parameters(conv, ("weight", "bias"))
    assert gradcheck(fn, [x, conv.weight, conv.bias]) is True


def test_conv2d_refuses_channels_groups_do_not_divide():
    with pytest.raises(ValueError, match=r"Conv2d: groups=2 must divide in_channels=3"):
        nn.Conv2d(3, 4, 3, groups=2)


# ----- pooling and Flatten --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (nn.MaxPool2d(3, stride=2, padding=1), torch.nn.MaxPool2d(3, stride=2, padding=1)),
        (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
        (nn.AvgPool2d(3, stride=1, padding=1), torch.nn.AvgPool2d(3, stride=1, padding=1)),
    ],
)
def test_pooling_matches_torch(ours, theirs):
    x = images(2, 3, 6, 6)
    seed = images(*theirs(torch.tensor(x)).shape)
    out, grads = minigrad_grads(ours, x, seed)
    expected_out, expected_grads = torch_grads(theirs, x, seed)
    assert_all_close([out, *grads], [expected_out, *expected_grads])


def test_flatten_keeps_the_channel_row_column_order_of_the_books_affine():
    x = images(2, 3, 4, 5)
    np.testing.assert_array_equal(nn.Flatten()(x).data, x.reshape(2, -1))


# ----- BatchNorm ---------------------------------------------------------------------------
BATCH_NORMS = [
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (8, 3, 5, 4)),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (16, 5)),
]


def paired_batch_norm(ours_class, theirs_class, features):
    ours = ours_class(features, momentum=0.2)
    theirs = theirs_class(features, momentum=0.2)
    ours.weight.data[...] = RNG.uniform(0.5, 1.5, features)
    ours.bias.data[...] = RNG.standard_normal(features)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    return ours, theirs


@pytest.mark.parametrize(("ours_class", "theirs_class", "shape"), BATCH_NORMS)
def test_batch_norm_matches_torch_in_training_with_running_statistics(
    ours_class, theirs_class, shape
):
    ours, theirs = paired_batch_norm(ours_class, theirs_class, shape[1])
    for step in range(3):  # the running statistics follow torch's step after step
        x = images(*shape) * (step + 1) + step
        seed = images(*shape)
        ours.zero_grad()
        theirs.zero_grad()
        out, grads = minigrad_grads(ours, x, seed)
        expected_out, expected_grads = torch_grads(theirs, x, seed)
        assert_all_close([out, *grads], [expected_out, *expected_grads], atol=1e-4)
        np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), rtol=1e-5)
        np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), rtol=1e-5)


@pytest.mark.parametrize(("ours_class", "theirs_class", "shape"), BATCH_NORMS)
def test_batch_norm_eval_uses_the_running_statistics_and_leaves_them(
    ours_class, theirs_class, shape
):
    ours, theirs = paired_batch_norm(ours_class, theirs_class, shape[1])
    for _ in range(2):
        x = images(*shape) * 3 + 1
        ours(x), theirs(torch.tensor(x))
    ours.eval(), theirs.eval()
    kept = ours.running_mean.data.copy(), ours.running_var.data.copy()
    x, seed = images(*shape), images(*shape)
    out, grads = minigrad_grads(ours, x, seed)
    expected_out, expected_grads = torch_grads(theirs, x, seed)
    assert_all_close([out, *grads], [expected_out, *expected_grads], atol=1e-4)
    np.testing.assert_array_equal(ours.running_mean.data, kept[0])
    np.testing.assert_array_equal(ours.running_var.data, kept[1])


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    norm = nn.BatchNorm2d(3, dtype=np.float64)
    norm.running_mean.data[...] = [0.5, -1.0, 2.0]
    norm.running_var.data[...] = [0.5, 2.0, 1.5]
    norm.train(training)
    x = Tensor(images(4, 3, 2, 3, dtype=np.float64), requires_grad=True)
    fn = with_parameters(norm, ("weight", "bias"))
    assert gradcheck(fn, [x, norm.weight, norm.bias]) is True


def test_batch_norm_names_the_layout_it_expects():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input \(N, C, H, W\) with C=3"):
        nn.BatchNorm2d(3)(images(2, 4, 5, 5))


# ----- buffers in weights files -----------------------------------------------------------------
class Small(nn.Module):
    def __init__(self):
        self.conv = nn.Conv2d(1, 2, 3, rng=0)
        self.norm = nn.BatchNorm2d(2)

    def forward(self, x):
        return self.norm(self.conv(x)).relu()


def test_buffers_are_saved_and_loaded_with_the_parameters(tmp_path):
    model = Small()
    model(images(4, 1, 6, 6) * 2 + 1)  # moves the running statistics
    assert [name for name, _ in model.named_buffers()] == ["norm.running_mean", "norm.running_var"]
    assert all(not isinstance(p, nn.Buffer) for p in model.parameters())
    assert set(model.state_dict()) == {
        "conv.weight",
        "conv.bias",
        "norm.weight",
        "norm.bias",
        "norm.running_mean",
        "norm.running_var",
    }
    loaded = Small().load(model.save(tmp_path / "weights.npz"))
    np.testing.assert_array_equal(loaded.norm.running_var.data, model.norm.running_var.data)
    x = images(3, 1, 6, 6)
    np.testing.assert_array_equal(loaded.eval()(x).data, model.eval()(x).data)


def test_a_weights_file_without_the_buffers_is_refused(tmp_path):
    state = Small().state_dict()
    del state["norm.running_var"]
    with pytest.raises(nn.StateDictError, match=r"missing: norm.running_var"):
        Small().load_state_dict(state)


def test_replay_would_not_repeat_the_running_statistics_update():
    """Why models.train steps BatchNorm models eagerly: a replayed step re-runs the graph's
    ops, and the running statistics are updated outside them."""
    model = Small()
    step = replay(lambda x: model(x).sum())
    for batch in range(4):
        step(images(4, 1, 6, 6) + batch)
    after_four = model.norm.running_mean.data.copy()
    step(images(4, 1, 6, 6) + 10)
    np.testing.assert_array_equal(model.norm.running_mean.data, after_four)


# ----- ModuleList --------------------------------------------------------------------------
def test_module_list_registers_its_modules_by_index():
    class Stack(nn.Module):
        def __init__(self):
            self.blocks = nn.ModuleList(nn.Conv2d(2, 2, 1, rng=i) for i in range(2))
            self.blocks.append(nn.BatchNorm2d(2))

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    model = Stack()
    assert len(model.blocks) == 3 and isinstance(model.blocks[2], nn.BatchNorm2d)
    assert [name for name, _ in model.named_parameters()][:2] == [
        "blocks.0.weight",
        "blocks.0.bias",
    ]
    assert "blocks.2.running_mean" in model.state_dict()
    model.eval()
    assert not model.blocks[2].training


@pytest.mark.parametrize(
    "holder", [list, tuple, lambda layers: dict(enumerate(layers))], ids=["list", "tuple", "dict"]
)
def test_modules_in_a_plain_container_are_refused_with_the_fix(holder):
    class Hidden(nn.Module):
        def __init__(self):
            self.layers = holder([nn.Linear(2, 2), nn.Linear(2, 2)])

    with pytest.raises(TypeError, match=r"Hidden: attribute 'layers' .* nn\.ModuleList"):
        Hidden()


def test_a_parameter_in_a_list_is_refused_too():
    class Hidden(nn.Module):
        def __init__(self):
            self.scales = [nn.Parameter(np.ones(2))]

    with pytest.raises(TypeError, match=r"'scales' is a list holding a Parameter"):
        Hidden()


def test_plain_lists_of_numbers_are_fine():
    model = nn.MLP([4, 3, 2])
    model.notes = [1, 2.0, "three"]
    assert model.notes == [1, 2.0, "three"]
