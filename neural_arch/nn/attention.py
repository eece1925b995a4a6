"""Multi-head attention (Vaswani et al., 2017) with grouped-query heads and a KV cache.

For input x (B, T, E), H query heads of size hs = E / H and H_kv key/value heads:

    q = x W_qᵀ (B, H, T, hs),   k = c W_kᵀ, v = c W_vᵀ (B, H_kv, Tk, hs)   (c = x, or context)
    head_h = softmax(q_h k_gᵀ / sqrt(hs) + mask) v_g,   g = h // (H / H_kv)
    out = concat_h(head_h) W_oᵀ

H_kv = H is standard multi-head attention, 1 < H_kv < H grouped-query attention (GQA, Ainslie et
al., 2023), H_kv = 1 multi-query attention. Fewer K/V heads shrink the cache, which stores keys
and values per *K/V head*; ``repeat_kv`` expands them just before the attention kernel.

The core runs through ``ops.scaled_dot_product_attention`` (the kernel registry: a Numba
FlashAttention kernel that never stores the (T, Tk) probability matrix).

Dropout differs from PyTorch: ``torch.nn.MultiheadAttention(dropout=p)`` drops attention
*probabilities*, which the flash kernel never materialises. Here ``dropout`` is applied to the
*output* of ``out_proj`` (the "residual dropout" of GPT-2/nanoGPT). With dropout=0 (or in eval
mode) the two are identical.
"""

import numpy as np

from neural_arch import ops
from neural_arch.core.tensor import Tensor
from neural_arch.nn.basic import Dropout, Linear
from neural_arch.nn.module import Module


def repeat_kv(x, n_rep):
    """(B, H_kv, T, hs) -> (B, H_kv·n_rep, T, hs): K/V head g serves query heads
    g·n_rep .. g·n_rep + n_rep - 1. The backward of the broadcast sums over those heads."""
    if n_rep == 1:
        return x
    b, h_kv, t, hs = x.shape
    x = ops.unsqueeze(x, 2)                                    # (B, H_kv, 1, T, hs)
    x = ops.broadcast_to(x, (b, h_kv, n_rep, t, hs))           # (B, H_kv, n_rep, T, hs)
    return ops.reshape(x, (b, h_kv * n_rep, t, hs))            # (B, H, T, hs)


class KVCache:
    """Keys and values of the positions decoded so far, one (k, v) pair per layer.

    Arrays are stored per K/V head, (B, H_kv, T_past, hs), after RoPE. ``update`` appends the
    new step and returns everything so far; attention then aligns the new queries to the *end*
    of the keys. The cache holds plain arrays: gradients do not flow into past steps (it is
    meant for generation under ``no_grad``). API after Hugging Face's ``DynamicCache``.
    """

    def __init__(self, num_layers=1):
        self.keys = [None] * num_layers
        self.values = [None] * num_layers

    def get_seq_length(self, layer_idx=0):
        """How many positions layer ``layer_idx`` holds (0 before the first step)."""
        k = self.keys[layer_idx]
        return 0 if k is None else k.shape[2]

    def update(self, k, v, layer_idx=0):
        """Append k, v (Tensors, (B, H_kv, T_new, hs)) and return all keys and values so far
        as Tensors (B, H_kv, T_past + T_new, hs); the new part keeps its gradient."""
        if not 0 <= layer_idx < len(self.keys):
            raise ValueError(f"KVCache: layer_idx {layer_idx} out of range for a cache of "
                             f"{len(self.keys)} layers")
        past_k, past_v = self.keys[layer_idx], self.values[layer_idx]
        if past_k is not None:
            if past_k.shape[:2] != k.shape[:2] or past_k.shape[3] != k.shape[3]:
                raise ValueError(f"KVCache: new keys {k.shape} do not match cached keys "
                                 f"{past_k.shape} of layer {layer_idx}")
            k = ops.concatenate([Tensor(past_k), k], axis=2)   # (B, H_kv, T_past + T_new, hs)
            v = ops.concatenate([Tensor(past_v), v], axis=2)
        self.keys[layer_idx], self.values[layer_idx] = k.data, v.data
        return k, v

    def reset(self):
        self.keys = [None] * len(self.keys)
        self.values = [None] * len(self.values)


class MultiHeadAttention(Module):
    """Self- or cross-attention with optional causal mask, key padding mask, GQA and KV cache.

    Args:
        embed_dim: E, the model width (input and output features).
        num_heads: H query heads; E must be divisible by H.
        num_kv_heads: H_kv key/value heads (default H); must divide H.
        bias: whether the four projections have biases.
        dropout: output (residual) dropout probability; see the module docstring.
        causal: default for ``forward``'s ``causal``.
        context_dim: features of the cross-attention context (default E).
        layer_idx: which slot of a ``KVCache`` this layer uses.
    """

    def __init__(self, embed_dim, num_heads, num_kv_heads=None, bias=True, dropout=0.0,
                 causal=False, context_dim=None, layer_idx=0, rng=None, dtype=np.float32):
        super().__init__()
        num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        if embed_dim % num_heads:
            raise ValueError(f"MultiHeadAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")
        if num_kv_heads < 1 or num_heads % num_kv_heads:
            raise ValueError(f"MultiHeadAttention: num_kv_heads {num_kv_heads} must divide "
                             f"num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.num_kv_heads = embed_dim, num_heads, num_kv_heads
        self.head_dim = embed_dim // num_heads
        self.context_dim = embed_dim if context_dim is None else context_dim
        self.causal, self.layer_idx = causal, layer_idx
        kv_dim = num_kv_heads * self.head_dim
        self.q_proj = Linear(embed_dim, embed_dim, bias=bias, rng=rng, dtype=dtype)
        self.k_proj = Linear(self.context_dim, kv_dim, bias=bias, rng=rng, dtype=dtype)
        self.v_proj = Linear(self.context_dim, kv_dim, bias=bias, rng=rng, dtype=dtype)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=rng, dtype=dtype)
        self.resid_dropout = Dropout(dropout, rng=rng)

    def _heads(self, x, num_heads):
        b, t, _ = x.shape
        x = ops.reshape(x, (b, t, num_heads, self.head_dim))  # (B, T, nh, hs)
        return ops.transpose(x, 1, 2)                         # (B, nh, T, hs)

    def _check(self, name, x, features):
        if x.ndim != 3 or x.shape[-1] != features:
            raise ValueError(f"MultiHeadAttention: {name} must be (B, T, {features}); got shape "
                             f"{x.shape}")

    def forward(self, x, context=None, key_padding_mask=None, kv_cache=None, causal=None,
                rotary=None):
        """Attend from x (B, T, E) to itself, or to ``context`` (B, Tc, context_dim).

        key_padding_mask: bool (B, Tk), True where the key is a real token; with a cache, Tk
            counts the cached positions too.
        kv_cache: a ``KVCache`` (self-attention only); new queries attend to all cached keys
            and the new ones, aligned to the end.
        causal: overrides the constructor's ``causal``.
        rotary: a ``RotaryEmbedding`` applied to q and k at their absolute positions
            (self-attention only).
        Returns (B, T, E).
        """
        self._check("input", x, self.embed_dim)
        causal = self.causal if causal is None else causal
        if context is not None:
            self._check("context", context, self.context_dim)
            if context.shape[0] != x.shape[0]:
                raise ValueError(f"MultiHeadAttention: context batch {context.shape[0]} does "
                                 f"not match input batch {x.shape[0]}")
            if kv_cache is not None or rotary is not None:
                raise ValueError("MultiHeadAttention: kv_cache and rotary are for "
                                 "self-attention; got a context")
        source = x if context is None else context
        b, t, _ = x.shape
        q = self._heads(self.q_proj(x), self.num_heads)          # (B, H, T, hs)
        k = self._heads(self.k_proj(source), self.num_kv_heads)  # (B, H_kv, Tk, hs)
        v = self._heads(self.v_proj(source), self.num_kv_heads)  # (B, H_kv, Tk, hs)
        if rotary is not None:
            start = 0 if kv_cache is None else kv_cache.get_seq_length(self.layer_idx)
            q, k = rotary.apply(q, start), rotary.apply(k, start)
        if kv_cache is not None:
            k, v = kv_cache.update(k, v, self.layer_idx)        # (B, H_kv, T_past + T, hs)
        n_rep = self.num_heads // self.num_kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)          # (B, H, Tk, hs)
        y = ops.scaled_dot_product_attention(q, k, v, causal=causal,
                                             key_padding_mask=key_padding_mask)
        y = ops.reshape(ops.transpose(y, 1, 2), (b, t, self.embed_dim))  # (B, T, E)
        return self.resid_dropout(self.out_proj(y))

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"num_kv_heads={self.num_kv_heads}, causal={self.causal}")
