"""Tests for neural_arch.data.batching: minibatches and splits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_arch.data.batching import iterate_minibatches, split_each_class


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 25), shuffle=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_minibatches_cover_every_row_once(n, batch_size, shuffle, seed):
    x = np.arange(n) * 10
    y = np.arange(n)
    batches = list(iterate_minibatches((x, y), batch_size, shuffle,
                                       np.random.default_rng(seed)))
    sizes = [len(b[1]) for b in batches]
    # Full batches, then the remainder kept as a last, smaller batch.
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(n))
    for bx, by in batches:            # the arrays stay aligned row by row
        np.testing.assert_array_equal(bx, by * 10)
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(n))


def test_minibatches_are_reproducible_from_the_rng():
    x = np.arange(100)
    first = [b[0] for b in iterate_minibatches((x,), 7, True, np.random.default_rng(3))]
    again = [b[0] for b in iterate_minibatches((x,), 7, True, np.random.default_rng(3))]
    other = [b[0] for b in iterate_minibatches((x,), 7, True, np.random.default_rng(4))]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_minibatch_errors_are_clear():
    with pytest.raises(ValueError, match="rows"):
        list(iterate_minibatches((np.zeros(3), np.zeros(4)), 2, False))
    with pytest.raises(ValueError, match="batch_size"):
        list(iterate_minibatches((np.zeros(3),), 0, False))
    with pytest.raises(ValueError, match="rng"):
        list(iterate_minibatches((np.zeros(3),), 2, True))


def test_split_each_class_by_count_and_by_fraction():
    labels = np.random.default_rng(0).permutation(np.arange(1000) % 10)
    train, val, test = split_each_class(labels, 15, 15, seed=1)
    for group, size in ((train, 70), (val, 15), (test, 15)):
        assert np.array_equal(np.bincount(labels[group], minlength=10), [size] * 10)
    train, val, test = split_each_class(labels, 0.1, 0.2, seed=1)
    assert (len(train), len(val), len(test)) == (700, 100, 200)
    with pytest.raises(ValueError, match="class 0 has 100 rows"):
        split_each_class(labels, 60, 40)


@settings(max_examples=30, deadline=None)
@given(labels=st.lists(st.integers(0, 4), min_size=3, max_size=80), seed=st.integers(0, 1000))
def test_split_each_class_partitions_the_rows(labels, seed):
    labels = np.array(labels)
    counts = np.bincount(labels)
    n = int(counts[counts > 0].min() - 1) // 2  # leaves every class at least one training row
    groups = split_each_class(labels, n, n, seed)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(labels)))
    for group in groups[1:]:
        assert all(np.sum(labels[group] == c) == n for c in np.unique(labels))
    again = split_each_class(labels, n, n, seed)
    assert all(np.array_equal(a, b) for a, b in zip(groups, again))  # fixed by the seed
