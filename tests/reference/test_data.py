"""Tests of dlopt_reference.data.minibatches against its docstring's contract.

The expected batches are derived in the test: the number of batches and their sizes by counting
examples off ``batch_size`` at a time, the visiting order as ``np.arange(N)`` or as the permutation an
identically seeded ``numpy.random.Generator`` draws, and each batch as the rows of ``X`` and ``y`` at
that slice of the order.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlopt_reference.data import minibatches


def _dataset(n_examples, feature_shape=(3,), target_shape=()):
    """Rows that carry their own index, so a batch shows which examples it holds and whether X and y stay paired."""
    X = np.arange(n_examples, dtype=np.float64).reshape((n_examples,) + (1,) * len(feature_shape)) * 100.0
    X = X + np.arange(int(np.prod(feature_shape)), dtype=np.float64).reshape(feature_shape)
    y = -np.arange(n_examples).reshape((n_examples,) + (1,) * len(target_shape)) * np.ones(target_shape, dtype=int)
    return X, y


def _sizes_by_counting(n_examples, batch_size):
    sizes, remaining = [], n_examples
    while remaining > 0:
        sizes.append(min(batch_size, remaining))
        remaining -= sizes[-1]
    return sizes


def test_hand_example_five_examples_in_batches_of_two():
    X, y = _dataset(5)
    batches = minibatches(X, y, 2)
    assert isinstance(batches, list) and len(batches) == 3
    assert [len(y_batch) for _, y_batch in batches] == [2, 2, 1]
    assert [y_batch.tolist() for _, y_batch in batches] == [[0, -1], [-2, -3], [-4]]
    np.testing.assert_array_equal(batches[2][0], [[400.0, 401.0, 402.0]])


@settings(max_examples=60)
@given(n_examples=st.integers(1, 40), batch_size=st.integers(1, 45), seed=st.one_of(st.none(), st.integers(0, 2 ** 16)),
       feature_shape=st.sampled_from([(3,), (2, 2), ()]), target_shape=st.sampled_from([(), (2,)]))
def test_batches_partition_the_data_in_the_documented_order(n_examples, batch_size, seed, feature_shape, target_shape):
    X, y = _dataset(n_examples, feature_shape, target_shape)
    X_saved, y_saved = X.copy(), y.copy()
    rng = None if seed is None else np.random.default_rng(seed)
    batches = minibatches(X, y, batch_size, rng=rng)

    # order: kept without rng; with rng, the permutation an identically seeded generator draws
    order = np.arange(n_examples) if seed is None else np.random.default_rng(seed).permutation(n_examples)
    sizes = _sizes_by_counting(n_examples, batch_size)
    assert isinstance(batches, list)
    assert len(batches) == len(sizes) == -(-n_examples // batch_size)          # ceil(N / B)
    assert sizes[-1] == n_examples - batch_size * ((n_examples - 1) // batch_size)  # the docstring's last size
    start = 0
    for (X_batch, y_batch), size in zip(batches, sizes):
        rows = order[start:start + size]
        start += size
        # X and y rows stay paired: both are the rows of the same examples, in the same order
        np.testing.assert_array_equal(X_batch, X[rows])
        np.testing.assert_array_equal(y_batch, y[rows])
        assert X_batch.shape == (size,) + feature_shape and y_batch.shape == (size,) + target_shape
        assert X_batch.dtype == X.dtype and y_batch.dtype == y.dtype
        # new arrays: writing into a batch cannot reach the caller's data
        assert not np.shares_memory(X_batch, X) and not np.shares_memory(y_batch, y)
    # a partition: every example exactly once
    visited = np.concatenate([y_batch.reshape(len(y_batch), -1)[:, 0] for _, y_batch in batches])
    assert sorted(-visited) == list(range(n_examples))
    np.testing.assert_array_equal(X, X_saved)
    np.testing.assert_array_equal(y, y_saved)


def test_each_call_reshuffles_as_successive_permutations():
    """Calling again with the same generator is the next epoch: the next permutation of the same stream."""
    X, y = _dataset(11)
    rng, twin = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(3):
        visited = np.concatenate([y_batch for _, y_batch in minibatches(X, y, 4, rng=rng)])
        np.testing.assert_array_equal(-visited, twin.permutation(11))
    # the generator was used for exactly one permutation per call: both streams continue identically
    assert rng.integers(1 << 30) == twin.integers(1 << 30)


def test_batch_size_at_least_n_gives_one_batch_of_everything():
    X, y = _dataset(4)
    for batch_size in (4, 5, 100):
        (batch,) = minibatches(X, y, batch_size)
        np.testing.assert_array_equal(batch[0], X)
        np.testing.assert_array_equal(batch[1], y)


def test_python_lists_are_accepted():
    batches = minibatches([[1, 2], [3, 4], [5, 6]], [0, 1, 0], 2)
    assert [X_batch.tolist() for X_batch, _ in batches] == [[[1, 2], [3, 4]], [[5, 6]]]
    assert [y_batch.tolist() for _, y_batch in batches] == [[0, 1], [0]]


@pytest.mark.parametrize("args, error", [
    ((np.zeros((3, 2)), np.zeros(4), 2), ValueError),         # different N
    ((np.float64(1.0), np.zeros(1), 1), ValueError),          # no example axis
    ((np.zeros((3, 2)), np.zeros(3), 0), ValueError),         # B < 1
    ((np.zeros((3, 2)), np.zeros(3), 2.0), TypeError),        # B not an integer
    ((np.zeros((3, 2)), np.zeros(3), True), TypeError),
])
def test_invalid_arguments_are_refused(args, error):
    with pytest.raises(error):
        minibatches(*args)


def test_rng_must_be_a_generator():
    with pytest.raises(TypeError):
        minibatches(np.zeros((3, 2)), np.zeros(3), 2, rng=np.random.RandomState(0))
    with pytest.raises(TypeError):
        minibatches(np.zeros((3, 2)), np.zeros(3), 2, rng=0)
