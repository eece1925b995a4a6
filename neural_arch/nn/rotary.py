"""Rotary position embedding, RoPE (Su et al., 2021, "RoFormer").

RoPE rotates each pair of features of a query or key by an angle proportional to its position,
so that the dot product q_m · k_n depends only on the offset m - n. For head size d and
frequencies θ_i = base^(-2i/d), i = 0 .. d/2 - 1, position p rotates pair i by angle p·θ_i:

    (a, b) -> (a cos pθ_i - b sin pθ_i,  b cos pθ_i + a sin pθ_i)

Convention: **half-split** ("rotate_half", as in GPT-NeoX and Hugging Face Llama): pair i is
features (i, i + d/2), not the interleaved (2i, 2i + 1) of the original paper and Meta's
llama. With cos and sin tables laid out as [θ_0 .. θ_{d/2-1}, θ_0 .. θ_{d/2-1}] this is

    rope(x) = x · cos + rotate_half(x) · sin,    rotate_half([x1, x2]) = [-x2, x1]

built from differentiable ops, so gradients flow to x. Weights trained with one convention
only load into the other after permuting the q/k projection rows.
"""

import numpy as np

from neural_arch import ops
from neural_arch.nn.module import Module


def rotate_half(x):
    """[x1, x2] -> [-x2, x1] on the last axis, x1 and x2 its two halves."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return ops.concatenate([-x2, x1], axis=-1)


class RotaryEmbedding(Module):
    """cos/sin tables for positions 0 .. max_seq_len - 1, kept as buffers ``cos`` and ``sin``
    of shape (max_seq_len, head_dim); ``apply`` rotates (B, H, T, head_dim) queries or keys."""

    def __init__(self, head_dim, max_seq_len=2048, base=10000.0, dtype=np.float32):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"RotaryEmbedding: head_dim must be even; got {head_dim}")
        self.head_dim, self.max_seq_len, self.base = head_dim, max_seq_len, base
        inv_freq = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)  # (d/2,)
        angles = np.outer(np.arange(max_seq_len, dtype=np.float64), inv_freq)     # (T, d/2)
        angles = np.concatenate([angles, angles], axis=-1)                         # (T, d)
        # Tables are computed in float64 and rounded once, so float32 positions stay exact-ish.
        self.register_buffer("cos", np.cos(angles).astype(dtype))
        self.register_buffer("sin", np.sin(angles).astype(dtype))

    def apply(self, x, start_pos=0):
        """Rotate x (B, H, T, head_dim), its positions being start_pos .. start_pos + T - 1."""
        if x.ndim != 4 or x.shape[-1] != self.head_dim:
            raise ValueError(f"RotaryEmbedding: expected (B, H, T, {self.head_dim}); got shape "
                             f"{x.shape}")
        t = x.shape[2]
        if start_pos < 0 or start_pos + t > self.max_seq_len:
            raise ValueError(f"RotaryEmbedding: positions {start_pos}..{start_pos + t - 1} "
                             f"exceed max_seq_len={self.max_seq_len}")
        cos = self.cos[start_pos:start_pos + t].astype(x.dtype, copy=False)  # (T, d)
        sin = self.sin[start_pos:start_pos + t].astype(x.dtype, copy=False)  # (T, d)
        return x * cos + rotate_half(x) * sin  # broadcast over (B, H)

    def forward(self, x, start_pos=0):
        return self.apply(x, start_pos)

    def extra_repr(self):
        return f"head_dim={self.head_dim}, max_seq_len={self.max_seq_len}, base={self.base}"
