"""``nn.MultiheadAttention`` with PyTorch's signature, parameter names and defaults, so that a
``torch.nn.MultiheadAttention`` state_dict loads into it unchanged::

    mha = nn.MultiheadAttention(embed_dim=64, num_heads=4, batch_first=True)
    out, weights = mha(query, key, value, key_padding_mask=pad, need_weights=True)

Parameters: ``in_proj_weight`` (3E, E) holding the q, k, v projections one above the other,
``in_proj_bias`` (3E), and ``out_proj`` (a Linear E -> E). Masks follow PyTorch: in
``key_padding_mask`` (B, S) and a bool ``attn_mask`` (L, S) True means *not allowed* (the
opposite of ``F.scaled_dot_product_attention``, also as in PyTorch); a float ``attn_mask`` is
added to the scores. The models in this package use their own attention blocks; this one is for
code written against PyTorch.
"""

import math

import numpy as np

from neural_arch import functional as F
from neural_arch import ops
from neural_arch.core.tensor import Tensor
from neural_arch.nn import init
from neural_arch.nn.basic import Linear
from neural_arch.nn.module import Module, Parameter


class MultiheadAttention(Module):
    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False,
                 rng=None, dtype=np.float32):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} is not divisible by "
                             f"num_heads={num_heads}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        rng = init.resolve_rng(rng)
        # PyTorch: xavier_uniform_ on the (3E, E) matrix, zero biases.
        bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
        init.uniform_(self.in_proj_weight, rng, -bound, bound)
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=rng, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _heads(self, x):
        b, t, _ = x.shape
        return x.reshape(b, t, self.num_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hd)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        if query.ndim != 3 or key.ndim != 3 or value.ndim != 3:
            raise ValueError(f"MultiheadAttention: query, key, value must be 3-D; got "
                             f"{query.shape}, {key.shape}, {value.shape}")
        if not self.batch_first:  # (T, B, E) -> (B, T, E)
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        e = self.embed_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        q, k, v = (F.linear(x, w[i * e:(i + 1) * e], None if b is None else b[i * e:(i + 1) * e])
                   for i, x in enumerate((query, key, value)))
        q, k, v = self._heads(q), self._heads(k), self._heads(v)               # (B, nh, T, hd)
        scores = ops.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        blocked = np.zeros(scores.shape[-2:], dtype=bool)                        # (L, S)
        if is_causal:
            blocked = ~np.tri(*scores.shape[-2:], dtype=bool)
        if attn_mask is not None:
            mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
            if mask.dtype == np.bool_:
                blocked = blocked | mask
            else:
                scores = scores + Tensor(mask.astype(scores.dtype))
        blocked = np.broadcast_to(blocked, scores.shape)
        if key_padding_mask is not None:
            pad = key_padding_mask.data if isinstance(key_padding_mask, Tensor) else \
                np.asarray(key_padding_mask)
            blocked = blocked | pad.astype(bool)[:, None, None, :]
        weights = ops.softmax(ops.masked_fill(scores, blocked, -np.inf), axis=-1)
        weights = F.dropout(weights, self.dropout, self.training)              # (B, nh, L, S)
        out = ops.matmul(weights, v).transpose(1, 2)                            # (B, L, nh, hd)
        out = self.out_proj(out.reshape(out.shape[0], out.shape[1], e))        # (B, L, E)
        if not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, (weights.mean(axis=1) if average_attn_weights else weights)

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
