"""minigrad.data.DataLoader: batches, shuffling with a seed, drop_last."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor
from minigrad.data import DataLoader


def epoch(loader):
    return list(loader)


@given(st.integers(1, 40), st.integers(1, 12), st.booleans(), st.booleans())
def test_an_epoch_visits_every_example_once_in_whole_batches(size, batch_size, shuffle, drop_last):
    x = np.arange(size * 2).reshape(size, 2)
    t = np.arange(size)
    loader = DataLoader(x, t, batch_size=batch_size, shuffle=shuffle, seed=0, drop_last=drop_last)
    batches = epoch(loader)
    assert len(batches) == len(loader)
    seen = np.concatenate([labels for _, labels in batches]) if batches else np.array([])
    if drop_last:
        assert all(len(labels) == batch_size for _, labels in batches)
        assert len(seen) == size - size % batch_size
    else:
        assert sorted(seen) == list(range(size))
    for images, labels in batches:
        np.testing.assert_array_equal(images, x[labels])  # rows stay paired


def test_without_shuffle_batches_are_in_order_and_views():
    x = np.arange(10)
    batches = epoch(DataLoader(x, batch_size=4))
    assert [batch.tolist() for (batch,) in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(np.shares_memory(batch, x) for (batch,) in batches)


def test_shuffle_is_new_each_epoch_and_the_same_for_the_same_seed():
    t = np.arange(50)
    first = DataLoader(t, batch_size=50, shuffle=True, seed=7)
    second = DataLoader(t, batch_size=50, shuffle=True, seed=7)
    epoch_one, epoch_two = epoch(first)[0][0], epoch(first)[0][0]
    assert not np.array_equal(epoch_one, epoch_two)
    assert not np.array_equal(epoch_one, t)
    np.testing.assert_array_equal(epoch(second)[0][0], epoch_one)
    np.testing.assert_array_equal(epoch(second)[0][0], epoch_two)


def test_a_generator_is_used_as_it_is_so_one_seed_can_drive_a_whole_run():
    rng = np.random.default_rng(7)
    loader = DataLoader(np.arange(10), batch_size=10, shuffle=True, seed=rng)
    expected = np.random.default_rng(7).permutation(10)
    assert loader.rng is rng
    np.testing.assert_array_equal(epoch(loader)[0][0], expected)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match=r"same length .* \[3, 2\]"):
        DataLoader(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        DataLoader(np.zeros(3), batch_size=0)
    with pytest.raises(ValueError, match="at least one array"):
        DataLoader()


X = np.zeros((3, 2))

BAD_LOADERS = [
    (
        lambda: DataLoader(X, batch_size=2.5),
        TypeError,
        "DataLoader: batch_size must be an int, got 2.5",
    ),
    (lambda: DataLoader(X, batch_size=None), TypeError, "DataLoader: batch_size .* got None"),
    (lambda: DataLoader(X, batch_size=True), TypeError, "DataLoader: batch_size .* got True"),
    (
        lambda: DataLoader(X, batch_size=-1),
        ValueError,
        "DataLoader: batch_size .* at least 1, got -1",
    ),
    (
        lambda: DataLoader(X, shuffle="no"),
        TypeError,
        "DataLoader: shuffle must be True or False, got 'no'",
    ),
    (
        lambda: DataLoader(X, drop_last=1),
        TypeError,
        "DataLoader: drop_last must be True or False, got 1",
    ),
    (
        lambda: DataLoader(X, shuffle=True, seed="x"),
        TypeError,
        "DataLoader: seed must be None, an int >= 0 or a np.random.Generator, got 'x'",
    ),
    (lambda: DataLoader(X, shuffle=True, seed=-1), ValueError, "DataLoader: seed .* got -1"),
    (
        lambda: DataLoader(X, 2),
        TypeError,
        r"DataLoader: argument 1 is 2 \(int\), not an array; batch_size, shuffle, seed and "
        r"drop_last are keyword-only: DataLoader\(x, t, batch_size=...\)",
    ),
    (
        lambda: DataLoader([1, 2, 3]),
        TypeError,
        r"DataLoader: argument 0 is \[1, 2, 3\] \(list\), not an array; pass NumPy arrays",
    ),
    (
        lambda: DataLoader(X, np.array(3)),
        ValueError,
        r"DataLoader: argument 1 is a 0-d array \(array\(3\)\)",
    ),
]


@pytest.mark.parametrize("make, error, message", BAD_LOADERS)
def test_bad_loader_arguments_name_the_argument_and_the_value(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_numpy_integers_are_batch_sizes_and_tensors_are_arrays():
    loader = DataLoader(Tensor(np.arange(5.0)), batch_size=np.int64(2), shuffle=True, seed=0)
    assert loader.batch_size == 2 and type(loader.batch_size) is int
    batches = [batch.data for (batch,) in loader]
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert sorted(np.concatenate(batches)) == [0.0, 1.0, 2.0, 3.0, 4.0]
