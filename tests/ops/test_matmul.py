"""Matrix product: every NumPy case (1-D·1-D, 1-D·2-D, 2-D·1-D, 2-D, batched with broadcast batch
dims) against np.matmul, gradients by finite differences (float64)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neural_arch.ops as ops
from neural_arch.core import Tensor
from neural_arch.testing import arrays, broadcastable_shape_pairs

from ._check import check_op, grads_of

sides = st.integers(1, 4)


@pytest.mark.parametrize("shape_a,shape_b", [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((1, 1), (1, 1)),
    ((2, 2, 3), (3, 4)),
    ((3,), (2, 3, 2)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((4, 3), (2, 1, 3, 2)),
])
def test_matmul_cases(shape_a, shape_b, rng):
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    check_op(ops.matmul, np.matmul, a, b)
    check_op(lambda x, y: x @ y, np.matmul, a, b)


@given(data=st.data(), batch=broadcastable_shape_pairs(max_dims=2, max_side=3),
       n=sides, k=sides, m=sides, one_d=st.sampled_from(["none", "left", "right", "both"]))
def test_matmul_property(data, batch, n, k, m, one_d):
    shape_a = (k,) if one_d in ("left", "both") else batch[0] + (n, k)
    shape_b = (k,) if one_d in ("right", "both") else batch[1] + (k, m)
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays(shape_b))
    check_op(ops.matmul, np.matmul, a, b)


def test_matmul_gradient_formula(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    g = rng.standard_normal((2, 4))
    ga, gb = grads_of(ops.matmul, a, b, upstream=g)
    np.testing.assert_allclose(ga, g @ b.T, rtol=1e-12)
    np.testing.assert_allclose(gb, a.T @ g, rtol=1e-12)
    # Broadcast batch dims: the shared operand's gradient sums over the batch.
    a3 = rng.standard_normal((5, 2, 3))
    g3 = rng.standard_normal((5, 2, 4))
    ga, gb = grads_of(ops.matmul, a3, b, upstream=g3)
    np.testing.assert_allclose(gb, np.einsum("bij,bik->jk", a3, g3), rtol=1e-12)


def test_matmul_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        ops.matmul(Tensor(np.ones(3)), Tensor(np.ones(2)))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        ops.matmul(Tensor(np.float64(2.0)), Tensor(np.ones(2)))
    with pytest.raises(ValueError, match="batch"):
        ops.matmul(Tensor(np.ones((2, 2, 3))), Tensor(np.ones((3, 3, 4))))


def test_ndarray_matmul_tensor_returns_tensor(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    tb = Tensor(b, requires_grad=True)
    out = a @ tb
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(tb.grad, a.T @ np.ones((2, 2)), rtol=1e-12)


def test_matmul_float32_keeps_dtype(rng):
    a = Tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(rng.standard_normal((3, 2)).astype(np.float32))
    out = a @ b
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == np.float32
