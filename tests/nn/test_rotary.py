"""RotaryEmbedding: the half-split rotation written out pair by pair, the relative-position
property, offsets for decoding, gradcheck and errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_arch import nn
from neural_arch.core import Tensor
from neural_arch.testing import gradcheck


def rope_loop(x, start_pos, base=10000.0):
    """Rotate pair (i, i + d/2) of position p by the angle p · base^(-2i/d)."""
    out = np.empty_like(x)
    d = x.shape[-1]
    for t in range(x.shape[2]):
        for i in range(d // 2):
            angle = (start_pos + t) * base ** (-2 * i / d)
            a, b = x[:, :, t, i], x[:, :, t, i + d // 2]
            out[:, :, t, i] = a * np.cos(angle) - b * np.sin(angle)
            out[:, :, t, i + d // 2] = b * np.cos(angle) + a * np.sin(angle)
    return out


@given(st.integers(1, 4).map(lambda n: 2 * n), st.integers(1, 5), st.integers(0, 6),
       st.integers(0, 2**16))
def test_matches_pairwise_rotation(head_dim, t, start_pos, seed):
    rope = nn.RotaryEmbedding(head_dim, max_seq_len=16, dtype=np.float64)
    x = np.random.default_rng(seed).standard_normal((2, 3, t, head_dim))
    np.testing.assert_allclose(rope.apply(Tensor(x), start_pos).data, rope_loop(x, start_pos),
                               rtol=1e-10, atol=1e-12)


def test_scores_depend_only_on_the_offset(rng):
    rope = nn.RotaryEmbedding(8, max_seq_len=32, dtype=np.float64)
    q = rng.standard_normal((1, 1, 1, 8))
    k = rng.standard_normal((1, 1, 1, 8))

    def score(m, n):
        return float(np.sum(rope.apply(Tensor(q), m).data * rope.apply(Tensor(k), n).data))

    assert score(5, 2) == pytest.approx(score(13, 10), rel=1e-10)
    assert score(0, 0) == pytest.approx(float(np.sum(q * k)), rel=1e-12)  # position 0: identity


def test_start_pos_continues_the_sequence_and_norm_is_kept(rng):
    rope = nn.RotaryEmbedding(4, max_seq_len=10, dtype=np.float64)
    x = rng.standard_normal((2, 2, 6, 4))
    full = rope(Tensor(x)).data
    np.testing.assert_allclose(rope(Tensor(x[:, :, 4:]), start_pos=4).data, full[:, :, 4:],
                               rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(full, axis=-1), np.linalg.norm(x, axis=-1))


def test_buffers_and_float32(rng):
    rope = nn.RotaryEmbedding(6, max_seq_len=5)
    assert rope.cos.shape == (5, 6) and rope.sin.dtype == np.float32
    assert [name for name, _ in rope.named_buffers()] == ["cos", "sin"]
    x = Tensor(rng.standard_normal((1, 1, 5, 6)).astype(np.float32))
    assert rope(x).dtype == np.float32


def test_gradcheck(rng):
    rope = nn.RotaryEmbedding(4, max_seq_len=8).double()
    x = Tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda x: rope.apply(x, start_pos=2), [x])


def test_errors(rng):
    with pytest.raises(ValueError, match="even"):
        nn.RotaryEmbedding(5)
    rope = nn.RotaryEmbedding(4, max_seq_len=4)
    with pytest.raises(ValueError, match="max_seq_len=4"):
        rope.apply(Tensor(np.zeros((1, 1, 3, 4))), start_pos=2)
    with pytest.raises(ValueError, match=r"\(B, H, T, 4\)"):
        rope.apply(Tensor(np.zeros((1, 1, 3, 6))))
