"""KVCache and repeat_kv: token-by-token causal attention through the cache equals the full
computation (grouped-query heads included), bookkeeping, gradients and errors."""

import numpy as np
import pytest

from neural_arch import functional as F
from neural_arch import nn
from neural_arch.core import Tensor, no_grad


def leaf(array):
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("n_rep", [1, 2])  # multi-head, grouped-query
def test_token_by_token_attention_equals_full_causal(rng, n_rep):
    q = rng.standard_normal((2, 2 * n_rep, 6, 3))                     # (B, H, T, hs)
    k, v = rng.standard_normal((2, 2, 2, 6, 3))                       # (B, H_kv, T, hs) each
    full = F.scaled_dot_product_attention(
        Tensor(q), nn.repeat_kv(Tensor(k), n_rep), nn.repeat_kv(Tensor(v), n_rep),
        causal=True).data
    cache = nn.KVCache(num_layers=2)
    steps = []
    with no_grad():
        for start, stop in [(0, 2), (2, 3), (3, 4), (4, 5), (5, 6)]:  # a 2-token prompt, then 1s
            ks, vs = cache.update(Tensor(k[:, :, start:stop]), Tensor(v[:, :, start:stop]), 1)
            steps.append(F.scaled_dot_product_attention(
                Tensor(q[:, :, start:stop]), nn.repeat_kv(ks, n_rep), nn.repeat_kv(vs, n_rep),
                causal=True).data)
    np.testing.assert_allclose(np.concatenate(steps, axis=2), full, rtol=1e-10, atol=1e-12)
    assert cache.get_seq_length(1) == 6 and cache.get_seq_length(0) == 0
    assert cache.keys[1].shape == (2, 2, 6, 3)  # stored per K/V head, before repeat_kv
    cache.reset()
    assert cache.get_seq_length(1) == 0 and cache.keys == [None, None]


def test_update_returns_the_past_and_keeps_the_gradient_of_the_new_part(rng):
    cache = nn.KVCache()
    past = rng.standard_normal((1, 2, 3, 4))
    cache.update(Tensor(past), Tensor(past))
    new_k, new_v = leaf(rng.standard_normal((1, 2, 1, 4))), leaf(rng.standard_normal((1, 2, 1, 4)))
    k, v = cache.update(new_k, new_v)
    np.testing.assert_array_equal(k.data, np.concatenate([past, new_k.data], axis=2))
    (k.sum() + 2 * v.sum()).backward()
    np.testing.assert_array_equal(new_k.grad, np.ones(new_k.shape))
    np.testing.assert_array_equal(new_v.grad, np.full(new_v.shape, 2.0))


def test_repeat_kv_and_its_gradient(rng):
    x = leaf(rng.standard_normal((1, 2, 3, 2)))
    y = nn.repeat_kv(x, 3)
    np.testing.assert_array_equal(y.data, np.repeat(x.data, 3, axis=1))
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(x.grad, np.full(x.shape, 3.0))
    assert nn.repeat_kv(x, 1) is x


def test_errors(rng):
    cache = nn.KVCache(num_layers=2)
    k = Tensor(rng.standard_normal((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="layer_idx 2 out of range for a cache of 2 layers"):
        cache.update(k, k, layer_idx=2)
    cache.update(k, k)
    other = Tensor(rng.standard_normal((1, 3, 1, 4)))
    with pytest.raises(ValueError, match=r"new keys \(1, 3, 1, 4\) do not match cached keys"):
        cache.update(other, other)
