"""Movement and indexing ops: reshape, permutations, broadcast_to, squeeze/unsqueeze, getitem,
concatenate, stack, split. Forward against NumPy; gradients by finite differences (float64)
and, for indexing, against an ``np.add.at`` scatter."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neural_arch.ops as ops
from neural_arch.core import Tensor
from neural_arch.testing import arrays, broadcastable_shape_pairs, shapes

from ._check import check_op, grads_of


@given(data=st.data(), shape=shapes())
def test_reshape(data, shape):
    x = data.draw(arrays(shape))
    size = int(np.prod(shape))
    target = data.draw(st.sampled_from([(size,), (1, size), (-1,), tuple(reversed(shape)),
                                        shape + (1,), (size, -1)]))
    check_op(lambda t: ops.reshape(t, target), lambda a: a.reshape(target), x)
    check_op(lambda t: t.reshape(*target), lambda a: a.reshape(target), x)


@given(data=st.data(), shape=shapes(min_dims=1))
def test_permute_transpose_swapaxes(data, shape):
    x = data.draw(arrays(shape))
    ndim = len(shape)
    order = data.draw(st.permutations(range(ndim)))
    negative = tuple(a - ndim if data.draw(st.booleans()) else a for a in order)
    check_op(lambda t: ops.permute(t, negative), lambda a: np.transpose(a, order), x)
    check_op(lambda t: t.permute(*order), lambda a: np.transpose(a, order), x)
    check_op(lambda t: t.T, lambda a: a.T, x)
    check_op(lambda t: t.transpose(), lambda a: a.T, x)
    i, j = data.draw(st.integers(-ndim, ndim - 1)), data.draw(st.integers(-ndim, ndim - 1))
    check_op(lambda t: t.swapaxes(i, j), lambda a: np.swapaxes(a, i, j), x)
    check_op(lambda t: ops.swapaxes(t, i, j), lambda a: np.swapaxes(a, i, j), x)


def test_transpose_conventions():
    x = np.arange(24.0).reshape(2, 3, 4)
    # Two axes on a tensor that is not 2-D swap them (PyTorch); a full tuple permutes (NumPy).
    check_op(lambda t: t.transpose(0, 2), lambda a: np.swapaxes(a, 0, 2), x)
    check_op(lambda t: t.transpose(2, 0, 1), lambda a: np.transpose(a, (2, 0, 1)), x)
    check_op(lambda t: t.transpose((1, 2, 0)), lambda a: np.transpose(a, (1, 2, 0)), x)
    check_op(lambda t: t.transpose(1, 0), lambda a: a.T, x[0])
    with pytest.raises(ValueError, match="permutation"):
        ops.permute(Tensor(x), (0, 0, 1))


@given(data=st.data(), pair=broadcastable_shape_pairs())
def test_broadcast_to(data, pair):
    x = data.draw(arrays(pair[0]))
    target = np.broadcast_shapes(*pair)
    check_op(lambda t: ops.broadcast_to(t, target), lambda a: np.broadcast_to(a, target), x)
    grad, = grads_of(lambda t: t.broadcast_to(target), x)
    # Each input element is copied prod(target) / prod(input) times.
    np.testing.assert_array_equal(grad, np.full(pair[0], np.prod(target) / np.prod(pair[0])))


def test_broadcast_to_error():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 3\)"):
        ops.broadcast_to(Tensor(np.ones((2, 3))), (4, 3))


@given(data=st.data(), shape=shapes(min_side=1, max_side=2, max_dims=4))
def test_squeeze_unsqueeze(data, shape):
    x = data.draw(arrays(shape))
    check_op(lambda t: t.squeeze(), lambda a: np.squeeze(a), x)
    ones = [i for i, n in enumerate(shape) if n == 1]
    if ones:
        axis = data.draw(st.sampled_from(ones))
        negative = axis - len(shape)
        check_op(lambda t: ops.squeeze(t, negative), lambda a: np.squeeze(a, axis), x)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_op(lambda t: t.unsqueeze(axis), lambda a: np.expand_dims(a, axis), x)


def test_squeeze_non_unit_axis_error():
    with pytest.raises(ValueError, match="size 3"):
        Tensor(np.ones((1, 3))).squeeze(1)


@given(data=st.data(), shape=shapes(min_dims=1))
def test_getitem_basic_indices(data, shape):
    x = data.draw(arrays(shape))
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    check_op(lambda t: t[index], lambda a: a[index], x)
    grad, = grads_of(lambda t: t[index], x)
    expected = np.zeros(shape)
    expected[index] = 1.0
    np.testing.assert_array_equal(grad, expected)


@given(data=st.data(), shape=shapes(min_dims=1))
def test_getitem_integer_arrays_accumulate(data, shape):
    x = data.draw(arrays(shape))
    index = data.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(
        min_dims=1, max_dims=2, max_side=5)))
    out = check_op(lambda t: t[index], lambda a: a[index], x)
    upstream = np.arange(1.0, out.numel() + 1).reshape(out.shape)
    grad, = grads_of(lambda t: t[index], x, upstream=upstream)
    expected = np.zeros(shape)
    np.add.at(expected, index, upstream)
    np.testing.assert_array_equal(grad, expected)


@pytest.mark.parametrize("index", [
    (slice(None, None, -1),),
    (slice(3, 0, -2), 1),
    (Ellipsis, None, -1),
    (None, 1, slice(1, None)),
    2,
    -1,
    (np.array([0, 0, 3, 0]),),
    [3, 3, 1],
    (np.array([1, 1]), np.array([2, 2])),
    (slice(None), np.array([[0, 2], [2, 2]])),
    (np.array([True, False, True, True]),),
    (np.array([[True, False, True], [False] * 3, [True] * 3, [False, True, False]]),),
], ids=lambda i: repr(i).replace(" ", "")[:40])
def test_getitem_cases(index):
    x = np.arange(12.0).reshape(4, 3) / 7.0
    out = check_op(lambda t: t[index], lambda a: a[index], x)
    upstream = np.arange(1.0, out.numel() + 1).reshape(out.shape)
    grad, = grads_of(lambda t: t[index], x, upstream=upstream)
    expected = np.zeros(x.shape)
    np.add.at(expected, index if not isinstance(index, list) else np.array(index), upstream)
    np.testing.assert_array_equal(grad, expected)


def test_getitem_repeated_indices_accumulate_exactly():
    x = Tensor(np.zeros(4), requires_grad=True)
    x[np.array([2, 2, 2, 0])].backward(np.array([1.0, 10.0, 100.0, 5.0]))
    np.testing.assert_array_equal(x.grad, [5.0, 0.0, 111.0, 0.0])


def test_getitem_tensor_index():
    x = Tensor(np.arange(5.0), requires_grad=True)
    idx = Tensor(np.array([4, 4, 1]))
    mask = x > 2.5
    np.testing.assert_array_equal(x[idx].data, [4.0, 4.0, 1.0])
    np.testing.assert_array_equal(x[mask].data, [3.0, 4.0])
    (x[idx].sum() + x[mask].sum()).backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 0, 1, 3])


@st.composite
def same_rank_shapes(draw, vary_axis):
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = draw(st.integers(1, 3))
    out = []
    for _ in range(n):
        s = list(shape)
        if vary_axis:
            s[axis] = draw(st.integers(1, 3))
        out.append(tuple(s))
    return out, axis


@given(data=st.data(), spec=same_rank_shapes(vary_axis=True))
def test_concatenate(data, spec):
    shape_list, axis = spec
    xs = [data.draw(arrays(s)) for s in shape_list]
    check_op(lambda *ts: ops.concatenate(list(ts), axis=axis),
             lambda *a: np.concatenate(a, axis=axis), *xs)


@given(data=st.data(), spec=same_rank_shapes(vary_axis=False))
def test_stack(data, spec):
    shape_list, axis = spec
    xs = [data.draw(arrays(s)) for s in shape_list]
    axis = data.draw(st.integers(-len(shape_list[0]) - 1, len(shape_list[0])))
    check_op(lambda *ts: ops.stack(list(ts), axis=axis), lambda *a: np.stack(a, axis=axis), *xs)


def test_concatenate_and_stack_errors():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((2, 4)))
    with pytest.raises(ValueError, match="differ"):
        ops.concatenate([a, b], axis=0)
    with pytest.raises(ValueError, match="same shape"):
        ops.stack([a, b])
    with pytest.raises(ValueError, match="dimensions"):
        ops.concatenate([a, Tensor(np.ones(3))])


@given(data=st.data(), shape=shapes(min_dims=1, max_side=4))
def test_split(data, shape):
    x = data.draw(arrays(shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    sections = data.draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    for spec in (sections, cuts):
        pieces = ops.split(Tensor(x), spec, axis=axis)
        expected = np.split(x, spec, axis=axis)
        assert len(pieces) == len(expected)
        for p, e in zip(pieces, expected):
            np.testing.assert_array_equal(p.data, e)
        weights = [np.arange(1.0, e.size + 1).reshape(e.shape) for e in expected]
        # Weighted sum of every piece: the gradient puts each weight back where it came from.
        check_op(lambda t: ops.stack([(p * w).sum() for p, w in
                                      zip(ops.split(t, spec, axis=axis), weights)]),
                 lambda a: np.array([(p * w).sum() for p, w in
                                     zip(np.split(a, spec, axis=axis), weights)]), x)
        grad, = grads_of(lambda t: ops.concatenate(ops.split(t, spec, axis=axis), axis=axis), x,
                         upstream=np.arange(x.size, dtype=float).reshape(shape))
        np.testing.assert_array_equal(grad, np.arange(x.size, dtype=float).reshape(shape))


def test_split_error():
    with pytest.raises(ValueError, match="3 equal"):
        ops.split(Tensor(np.ones(4)), 3)
