"""models.sequence: the row-by-row MNIST classifier learns, on fake digits made in the test
(a bright vertical bar in columns 2c and 2c + 1 for class c, so every row shows the class)."""

import numpy as np
import pytest

from models import sequence


def fake_digits(count, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.uniform(0, 0.3, (count, 1, 28, 28)).astype(np.float32)
    for image, label in zip(images, labels):
        image[0, :, 2 * label : 2 * label + 2] += 0.7
    return images, labels


SMALL = sequence.Recipe(hidden_size=16, lr=3e-2, batch_size=10, epochs=3, seed=0)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_training_lowers_the_loss_and_learns_the_fake_digits(cell, capsys):
    recipe = sequence.Recipe(**{**SMALL.__dict__, "cell": cell})
    model, results = sequence.train(recipe, fake_digits(200, 0), fake_digits(100, 1), False)
    losses = [result.loss for result in results]
    assert losses[-1] < 0.5 * losses[0]
    assert results[-1].test_accuracy >= 0.9  # chance is 0.1
    assert "epoch 3/3 | loss" in capsys.readouterr().out


def test_main_prints_each_epoch_and_saves_weights(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(
        sequence, "load_mnist", lambda **_: (fake_digits(100, 2), fake_digits(50, 3))
    )
    weights = tmp_path / "lstm.npz"
    argv = ["--hidden-size", "8", "--batch-size", "25", "--epochs", "2", "--no-progress"]
    assert sequence.main([*argv, "--save", str(weights)]) == 0
    out = capsys.readouterr().out
    assert "LSTM 8 over 28 rows of 28 pixels" in out
    assert "epoch 1/2 | loss" in out and "epoch 2/2 | loss" in out
    assert "test accuracy" in out
    copy = sequence.RowClassifier("lstm", 8).load(weights)
    assert copy.recurrent.weight_hh_l0.shape == (32, 8)


def test_row_classifier_refuses_flattened_images():
    with pytest.raises(ValueError, match=r"images must be \(N, 28, 28\).*got shape \(2, 784\)"):
        sequence.RowClassifier(hidden_size=4, rng=0)(np.zeros((2, 784), dtype=np.float32))
