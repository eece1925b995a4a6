"""Neural-network primitives: embedding, dropout, cross_entropy_rows, layer_norm, rms_norm and
scaled_dot_product_attention. Forward against plain NumPy, gradients by finite differences in
float64. The property tests run the fused ops on the NumPy kernels (full Jacobians are cheap
there); ``test_fused_ops_on_numba_backend`` repeats one case per op on the Numba kernels in
projection mode (whether the two backends agree is tests/kernels' job)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neural_arch.ops as ops
from neural_arch import kernels
from neural_arch.core import Tensor
from neural_arch.testing import arrays, shapes

from ._check import check_op, grads_of, leaf

BACKENDS = pytest.mark.parametrize("backend", ["numpy", "numba"])
small = st.integers(1, 3)
_erf = np.vectorize(math.erf)


# ----- embedding --------------------------------------------------------------------------

@given(data=st.data(), vocab=st.integers(1, 5), dim=st.integers(1, 3),
       index_shape=shapes(min_dims=1, max_dims=2, max_side=5))
def test_embedding(data, vocab, dim, index_shape):
    weight = data.draw(arrays((vocab, dim)))
    idx = np.array(data.draw(st.lists(st.integers(0, vocab - 1), min_size=int(np.prod(
        index_shape)), max_size=int(np.prod(index_shape))))).reshape(index_shape)
    out = check_op(lambda w: ops.embedding(w, idx), lambda w: w[idx], weight)
    upstream = np.arange(1.0, out.numel() + 1).reshape(out.shape)
    grad, = grads_of(lambda w: ops.embedding(w, Tensor(idx)), weight, upstream=upstream)
    expected = np.zeros((vocab, dim))
    np.add.at(expected, idx, upstream)  # repeated rows accumulate
    np.testing.assert_array_equal(grad, expected)


def test_embedding_repeated_rows_accumulate():
    w = leaf(np.zeros((3, 2)))
    ops.embedding(w, np.array([[1, 1], [1, 0]])).backward(np.ones((2, 2, 2)))
    np.testing.assert_array_equal(w.grad, [[1, 1], [3, 3], [0, 0]])


def test_embedding_errors():
    w = Tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ops.embedding(w, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ops.embedding(w, np.array([-1]))
    with pytest.raises(TypeError, match="integers"):
        ops.embedding(w, np.array([0.0, 1.0]))


# ----- dropout ----------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.3, 0.7])
def test_dropout_is_unbiased_and_drops_p(p):
    x = Tensor(np.full((200, 200), 2.0))
    out = ops.dropout(x, p=p, rng=np.random.default_rng(0)).data
    scale = 1.0 / (1.0 - p)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 2.0 * scale, rtol=1e-12)  # inverted scaling
    assert abs(kept.mean() - (1 - p)) < 0.01     # 40,000 draws: std of the rate < 0.0025
    assert abs(out.mean() - 2.0) < 0.05          # E[out] = x


def test_dropout_identity_when_off():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    for out in (ops.dropout(x, p=0.0, rng=np.random.default_rng(0)),
                ops.dropout(x, p=0.5, training=False)):
        np.testing.assert_array_equal(out.data, x.data)
        out.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


def test_dropout_p_one_zeroes_everything():
    x = Tensor(np.ones(5), requires_grad=True)
    out = ops.dropout(x, p=1.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(out.data, np.zeros(5))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(5))


def test_dropout_same_seed_same_mask_and_gradient_is_mask_times_scale():
    x = np.random.default_rng(1).uniform(0.5, 1.5, size=(6, 7))
    a = ops.dropout(Tensor(x), p=0.4, rng=np.random.default_rng(42)).data
    b = ops.dropout(Tensor(x), p=0.4, rng=np.random.default_rng(42)).data
    c = ops.dropout(Tensor(x), p=0.4, rng=np.random.default_rng(43)).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    mask_times_scale = a / x  # 0 or 1/(1-p)
    assert set(np.round(np.unique(mask_times_scale), 12)) <= {0.0, round(1 / 0.6, 12)}
    g = np.random.default_rng(2).standard_normal((6, 7))
    grad, = grads_of(lambda t: ops.dropout(t, p=0.4, rng=np.random.default_rng(42)), x,
                     upstream=g)
    np.testing.assert_allclose(grad, g * mask_times_scale, rtol=1e-12)
    check_op(lambda t: ops.dropout(t, p=0.4, rng=np.random.default_rng(42)),
             lambda arr: arr * mask_times_scale, x)


@given(data=st.data(), p=st.sampled_from([0.1, 0.5, 0.9]), seed=st.integers(0, 2**16))
def test_dropout_property(data, p, seed):
    """Over generated shapes: the forward is x·mask/(1-p) for the mask the seed draws, and
    gradcheck passes (a fresh generator with the same seed per call keeps the mask fixed)."""
    x = data.draw(arrays(data.draw(shapes(max_dims=3))))
    mask = np.random.default_rng(seed).random(x.shape) >= p
    check_op(lambda t: ops.dropout(t, p=p, rng=np.random.default_rng(seed)),
             lambda arr: arr * mask / (1.0 - p), x)


def test_dropout_errors():
    x = Tensor(np.ones(3))
    with pytest.raises(ValueError, match="p must be"):
        ops.dropout(x, p=1.5, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        ops.dropout(x, p=0.5, rng=42)


def test_dropout_without_rng_draws_from_the_global_generator():
    from neural_arch.core import random
    x = Tensor(np.ones(1000))
    random.manual_seed(3)
    first = ops.dropout(x, p=0.5).data
    random.manual_seed(3)
    np.testing.assert_array_equal(ops.dropout(x, p=0.5).data, first)
    assert 300 < np.count_nonzero(first) < 700


# ----- cross-entropy ----------------------------------------------------------------------

def np_cross_entropy(logits, targets, ignore_index):
    m = logits.max(axis=-1, keepdims=True)
    log_probs = logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
    safe = np.where(targets == ignore_index, 0, targets)
    picked = np.take_along_axis(log_probs, safe[..., None], axis=-1)[..., 0]
    return np.where(targets == ignore_index, 0.0, -picked)


@given(data=st.data(), lead=shapes(min_dims=1, max_dims=2, max_side=3),
       vocab=st.integers(1, 4), ignore_index=st.sampled_from([-100, -1]))
def test_cross_entropy_rows(data, lead, vocab, ignore_index):
    logits = data.draw(arrays(lead + (vocab,), low=-3.0, high=3.0))
    n = int(np.prod(lead))
    targets = np.array(data.draw(st.lists(st.sampled_from(list(range(vocab)) + [ignore_index]),
                                          min_size=n, max_size=n))).reshape(lead)
    with kernels.use_backend("numpy"):
        check_op(lambda z: ops.cross_entropy_rows(z, targets, ignore_index=ignore_index),
                 lambda z: np_cross_entropy(z, targets, ignore_index), logits,
                 rtol=1e-9, atol=1e-12)
        grad, = grads_of(lambda z: ops.cross_entropy_rows(z, targets, ignore_index), logits)
    ignored = targets == ignore_index
    np.testing.assert_array_equal(grad[ignored], 0.0)
    # d loss / d z = softmax(z) - onehot(target) on the other rows.
    e = np.exp(logits - logits.max(-1, keepdims=True))
    onehot = np.eye(vocab)[np.where(ignored, 0, targets)]
    expected = e / e.sum(-1, keepdims=True) - onehot
    np.testing.assert_allclose(grad[~ignored], expected[~ignored], rtol=1e-9, atol=1e-12)


@BACKENDS
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_finite_for_extreme_logits(backend, dtype):
    z = Tensor(np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]], dtype=dtype), requires_grad=True)
    with kernels.use_backend(backend):
        loss = ops.cross_entropy_rows(z, np.array([0, 1]))
        loss.sum().backward()
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.data, [0.0, 2e4], rtol=1e-6)
    assert np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(z.grad, [[0, 0, 0], [1, -1, 0]], atol=1e-6)


def test_cross_entropy_errors():
    z = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        ops.cross_entropy_rows(z, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ops.cross_entropy_rows(z, np.array([0, 3]))
    with pytest.raises(TypeError, match="integers"):
        ops.cross_entropy_rows(z, np.array([0.0, 1.0]))


# ----- layer norm / RMS norm --------------------------------------------------------------

@st.composite
def norm_inputs(draw):
    """(x, weight, bias) with every row spread out (row std >= 0.3), so that the normalisation
    is well conditioned for finite differences."""
    lead = draw(shapes(min_dims=0, max_dims=2, max_side=3))
    dim = draw(st.integers(2, 4))
    base = draw(arrays(lead + (dim,), low=-0.4, high=0.4))
    order = draw(st.permutations(range(dim)))
    spread = np.linspace(-1.0, 1.0, dim)[list(order)] * draw(st.sampled_from([1.0, 3.0]))
    x = base + spread + draw(st.sampled_from([0.0, 5.0]))
    return x, draw(arrays((dim,))), draw(arrays((dim,)))


def np_layer_norm(x, w, b, eps):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


def np_rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


@given(inputs=norm_inputs(), eps=st.sampled_from([1e-5, 1e-2]))
def test_layer_norm(inputs, eps):
    with kernels.use_backend("numpy"):
        check_op(lambda x, w, b: ops.layer_norm(x, w, b, eps=eps),
                 lambda x, w, b: np_layer_norm(x, w, b, eps), *inputs, rtol=1e-9, atol=1e-12)


@given(inputs=norm_inputs(), eps=st.sampled_from([1e-6, 1e-2]))
def test_rms_norm(inputs, eps):
    x, w, _ = inputs
    with kernels.use_backend("numpy"):
        check_op(lambda x, w: ops.rms_norm(x, w, eps=eps),
                 lambda x, w: np_rms_norm(x, w, eps), x, w, rtol=1e-9, atol=1e-12)


@BACKENDS
def test_layer_norm_output_is_normalised_float32(backend, rng):
    x = Tensor(rng.standard_normal((4, 16)).astype(np.float32) * 10 + 3)
    w, b = Tensor(np.ones(16, np.float32)), Tensor(np.zeros(16, np.float32))
    with kernels.use_backend(backend):
        y = ops.layer_norm(x, w, b).data
        r = ops.rms_norm(x, w).data
    assert y.dtype == np.float32 and r.dtype == np.float32
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(-1), 1.0, rtol=1e-3)
    np.testing.assert_allclose(np.sqrt((r * r).mean(-1)), 1.0, rtol=1e-3)


# ----- attention --------------------------------------------------------------------------

def np_attention(q, k, v, causal, key_padding_mask, scale):
    tq, tk, dim = q.shape[2], k.shape[2], q.shape[3]
    scale = 1.0 / np.sqrt(dim) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale                          # (B, H, Tq, Tk)
    allowed = np.ones(s.shape, dtype=bool)
    if causal:  # queries aligned to the end of the keys
        allowed &= np.arange(tk)[None, :] <= np.arange(tq)[:, None] + (tk - tq)
    if key_padding_mask is not None:
        allowed &= key_padding_mask[:, None, None, :]
    s = np.where(allowed, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


@st.composite
def attention_inputs(draw):
    b, h, tq, tk, d = (draw(small) for _ in range(5))
    causal = draw(st.booleans())
    if causal and tq > tk:  # every query must see at least one key
        tq = tk
    q = draw(arrays((b, h, tq, d)))
    k = draw(arrays((b, h, tk, d)))
    v = draw(arrays((b, h, tk, d)))
    mask = None
    if draw(st.booleans()):
        mask = np.array(draw(st.lists(st.booleans(), min_size=b * tk, max_size=b * tk)))
        mask = mask.reshape(b, tk)
        mask[:, 0] = True  # key 0 is visible to every query
    scale = draw(st.sampled_from([None, 0.3]))
    return q, k, v, causal, mask, scale


@given(inputs=attention_inputs())
def test_scaled_dot_product_attention(inputs):
    q, k, v, causal, mask, scale = inputs
    with kernels.use_backend("numpy"):
        check_op(lambda q, k, v: ops.scaled_dot_product_attention(
                     q, k, v, causal=causal, key_padding_mask=mask, scale=scale),
                 lambda q, k, v: np_attention(q, k, v, causal, mask, scale), q, k, v,
                 rtol=1e-9, atol=1e-12)


@BACKENDS
def test_attention_causal_and_padding_cases(backend, rng):
    q = rng.standard_normal((2, 2, 3, 4))
    k = rng.standard_normal((2, 2, 5, 4))
    v = rng.standard_normal((2, 2, 5, 4))
    mask = np.array([[True, True, False, True, True], [True, False, False, False, True]])
    with kernels.use_backend(backend):
        for causal in (False, True):
            check_op(lambda q, k, v: ops.scaled_dot_product_attention(
                         q, k, v, causal=causal, key_padding_mask=mask),
                     lambda q, k, v: np_attention(q, k, v, causal, mask, None), q, k, v,
                     rtol=1e-9, atol=1e-12)
        # One query (decoding with a KV cache) sees every key even when causal.
        one = ops.scaled_dot_product_attention(Tensor(q[:, :, -1:]), Tensor(k), Tensor(v),
                                               causal=True)
        plain = ops.scaled_dot_product_attention(Tensor(q[:, :, -1:]), Tensor(k), Tensor(v))
    np.testing.assert_allclose(one.data, plain.data, rtol=1e-12)
    # Masked keys get no gradient.
    kt, vt = leaf(k), leaf(v)
    with kernels.use_backend(backend):
        ops.scaled_dot_product_attention(Tensor(q), kt, vt, key_padding_mask=mask).sum().backward()
    np.testing.assert_array_equal(kt.grad[~mask[:, None, :, None].repeat(2, 1).repeat(4, 3)], 0)
    np.testing.assert_array_equal(vt.grad[np.broadcast_to(~mask[:, None, :, None], v.shape)], 0)


def test_attention_shape_errors():
    q = Tensor(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="B, H, T, D"):
        ops.scaled_dot_product_attention(Tensor(np.zeros((2, 3, 4))), q, q)
    with pytest.raises(ValueError, match="incompatible"):
        ops.scaled_dot_product_attention(q, Tensor(np.zeros((1, 2, 3, 5))),
                                         Tensor(np.zeros((1, 2, 3, 5))))
    with pytest.raises(ValueError, match="key_padding_mask"):
        ops.scaled_dot_product_attention(q, q, q, key_padding_mask=np.ones((1, 4), bool))


def test_fused_ops_on_numba_backend(rng):
    x = rng.standard_normal((2, 3, 4))
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    q, k, v = (rng.standard_normal((1, 2, t, 3)) for t in (2, 3, 3))
    mask = np.array([[True, False, True]])
    targets = np.array([[0, 3, -100], [1, 1, 2]])
    cases = [
        (lambda x: ops.cross_entropy_rows(x, targets),
         lambda x: np_cross_entropy(x, targets, -100), (x,)),
        (lambda x, w, b: ops.layer_norm(x, w, b),
         lambda x, w, b: np_layer_norm(x, w, b, 1e-5), (x, w, b)),
        (lambda x, w: ops.rms_norm(x, w), lambda x, w: np_rms_norm(x, w, 1e-6), (x, w)),
        (lambda x: ops.gelu(x), lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), (x,)),
        (lambda x: ops.gelu(x, "tanh"),
         lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), (x,)),
        (lambda q, k, v: ops.scaled_dot_product_attention(q, k, v, True, mask),
         lambda q, k, v: np_attention(q, k, v, True, mask, None), (q, k, v)),
    ]
    with kernels.use_backend("numba"):
        for fn, expected, inputs in cases:
            check_op(fn, expected, *inputs, rtol=1e-9, atol=1e-12, mode="projection")
