"""The key/value cache of autoregressive decoding, and ``repeat_kv`` for grouped-query heads.

A decoder generates one token at a time. Without a cache every step recomputes the keys and
values of the whole prefix; with one, each attention layer appends the new token's k and v and
attends to everything stored so far, so a step costs one token's projections.

Grouped-query attention (GQA, Ainslie et al., 2023) uses H_kv < H key/value heads: query head h
reads K/V head h // (H / H_kv). The cache stores keys and values per *K/V head* (fewer heads, a
smaller cache); ``repeat_kv`` expands them to H heads just before the attention kernel.
"""

from neural_arch import ops
from neural_arch.core.tensor import Tensor


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
