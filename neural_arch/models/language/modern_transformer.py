"""A modern decoder-only transformer in the Llama style: RMSNorm, RoPE, SwiGLU, grouped-query
attention, no biases, tied embeddings.

References:
    Touvron et al., "Llama 2: Open Foundation and Fine-Tuned Chat Models" (2023).
    Zhang & Sennrich, "Root Mean Square Layer Normalization" (2019).
    Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding" (2021).
    Shazeer, "GLU Variants Improve Transformer" (2020).
    Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models" (2023).
    Karpathy, llama2.c ``model.py`` (the structure, names and init followed here).

Each block is pre-norm:

    x = x + attention(attention_norm(x))     q, k rotated by RoPE; n_kv_head key/value heads
    x = x + feed_forward(ffn_norm(x))        w2(silu(w1 x) * w3 x)

RoPE convention: half-split (GPT-NeoX / Hugging Face Llama), as ``nn.RotaryEmbedding`` does:
dimension i of a head is paired with dimension i + D/2, not with its neighbour i + 1 as in
llama2.c's interleaved complex form. The two are the same rotation of a permuted head, so
weights trained under one convention need their q/k rows permuted for the other.
"""

import math
from dataclasses import dataclass

import numpy as np

from neural_arch import functional as F
from neural_arch import nn
from neural_arch.models.config_base import ConfigDict
from neural_arch.models.language import generation
from neural_arch.nn import RotaryEmbedding, init, repeat_kv


@dataclass
class ModernTransformerConfig(ConfigDict):
    vocab_size: int = 200
    max_seq_len: int = 64
    dim: int = 128
    n_layer: int = 3
    n_head: int = 4
    n_kv_head: int = 2
    multiple_of: int = 32  # the SwiGLU hidden size is rounded up to a multiple of this
    ffn_hidden: int = None  # None: Llama's rule, see ``hidden_dim``
    norm_eps: float = 1e-6
    rope_base: float = 10000.0
    dropout: float = 0.0
    seed: int = 0

    def __post_init__(self):
        for name in ("vocab_size", "max_seq_len", "dim", "n_layer", "n_head", "n_kv_head",
                     "multiple_of"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ModernTransformerConfig.{name} must be a positive integer; "
                                 f"got {getattr(self, name)}")
        if self.dim % self.n_head or (self.dim // self.n_head) % 2:
            raise ValueError(f"ModernTransformerConfig: dim={self.dim} must split into "
                             f"n_head={self.n_head} heads of even size (RoPE rotates pairs)")
        if self.n_head % self.n_kv_head:
            raise ValueError(f"ModernTransformerConfig: n_kv_head={self.n_kv_head} must divide "
                             f"n_head={self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"ModernTransformerConfig.dropout must be in [0, 1); "
                             f"got {self.dropout}")

    @property
    def hidden_dim(self):
        """SwiGLU width: 2/3 of 4·dim (so its three matrices cost what a 4·dim MLP's two do),
        rounded up to a multiple of ``multiple_of``; ``ffn_hidden`` overrides it."""
        if self.ffn_hidden is not None:
            return int(self.ffn_hidden)
        hidden = int(2 * (4 * self.dim) / 3)
        return self.multiple_of * ((hidden + self.multiple_of - 1) // self.multiple_of)


class Attention(nn.Module):
    """Grouped-query causal self-attention with rotary positions; no biases."""

    def __init__(self, config, layer_idx, rng):
        super().__init__()
        self.layer_idx = layer_idx  # this layer's slot in the KV cache
        self.n_head, self.n_kv_head = config.n_head, config.n_kv_head
        self.head_dim = config.dim // config.n_head
        self.wq = nn.Linear(config.dim, config.n_head * self.head_dim, bias=False, rng=rng)
        self.wk = nn.Linear(config.dim, config.n_kv_head * self.head_dim, bias=False, rng=rng)
        self.wv = nn.Linear(config.dim, config.n_kv_head * self.head_dim, bias=False, rng=rng)
        self.wo = nn.Linear(config.n_head * self.head_dim, config.dim, bias=False, rng=rng)
        self.resid_dropout = nn.Dropout(config.dropout, rng=rng)

    def forward(self, x, rope, cache=None):
        B, T, C = x.shape
        hd, nh, nkv = self.head_dim, self.n_head, self.n_kv_head
        q = self.wq(x).reshape(B, T, nh, hd).transpose(1, 2)  # (B, nh, T, hd)
        k = self.wk(x).reshape(B, T, nkv, hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.wv(x).reshape(B, T, nkv, hd).transpose(1, 2)  # (B, nkv, T, hd)
        # New tokens sit after the cached ones, so their rotation starts at the cache length.
        start = 0 if cache is None else cache.get_seq_length(self.layer_idx)
        q, k = rope.apply(q, start), rope.apply(k, start)
        if cache is not None:
            # (B, nkv, T_cached + T, hd): the cache keeps the nkv heads, before repeat_kv
            k, v = cache.update(k, v, self.layer_idx)
        # Key/value head g serves query heads g·n_rep .. g·n_rep + n_rep - 1.
        k, v = repeat_kv(k, nh // nkv), repeat_kv(v, nh // nkv)  # (B, nh, T_k, hd)
        y = F.scaled_dot_product_attention(q, k, v, causal=True)  # (B, nh, T, hd)
        y = y.transpose(1, 2).reshape(B, T, nh * hd)  # (B, T, C)
        return self.resid_dropout(self.wo(y))


class FeedForward(nn.Module):
    """SwiGLU: w2(silu(w1 x) * w3 x), silu(a) = a·sigmoid(a)."""

    def __init__(self, config, rng):
        super().__init__()
        hidden = config.hidden_dim
        self.w1 = nn.Linear(config.dim, hidden, bias=False, rng=rng)
        self.w2 = nn.Linear(hidden, config.dim, bias=False, rng=rng)
        self.w3 = nn.Linear(config.dim, hidden, bias=False, rng=rng)
        self.dropout = nn.Dropout(config.dropout, rng=rng)

    def forward(self, x):
        return self.dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))  # (B, T, dim)


class TransformerBlock(nn.Module):
    def __init__(self, config, layer_idx, rng):
        super().__init__()
        self.attention = Attention(config, layer_idx, rng)
        self.feed_forward = FeedForward(config, rng)
        self.attention_norm = nn.RMSNorm(config.dim, eps=config.norm_eps)
        self.ffn_norm = nn.RMSNorm(config.dim, eps=config.norm_eps)

    def forward(self, x, rope, cache=None):
        x = x + self.attention(self.attention_norm(x), rope, cache)
        x = x + self.feed_forward(self.ffn_norm(x))
        return x


class ModernTransformer(nn.Module):
    """The Llama-style language model; ``forward``/``generate`` behave as GPT2LMHead's.

    The output layer is tied to the token embedding: logits = x tok_embeddingsᵀ.
    """

    def __init__(self, config=None):
        super().__init__()
        config = self.config = ModernTransformerConfig.coerce(config)
        rng = np.random.default_rng(config.seed)
        head_dim = config.dim // config.n_head
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.dim, rng=rng)
        self.dropout = nn.Dropout(config.dropout, rng=rng)
        self.layers = nn.ModuleList([TransformerBlock(config, i, rng)
                                     for i in range(config.n_layer)])
        self.norm = nn.RMSNorm(config.dim, eps=config.norm_eps)
        self.output = nn.TiedLMHead(self.tok_embeddings)
        # One cos/sin table, passed to every layer in forward (as llama2.c passes freqs_cis).
        self.rope = RotaryEmbedding(head_dim, config.max_seq_len, base=config.rope_base)
        self._init_weights(rng)

    def _init_weights(self, rng):
        """llama2.c init: N(0, 0.02²) for every Linear and Embedding weight, and
        N(0, (0.02/sqrt(2·n_layer))²) for ``w3`` and ``wo``, the two names llama2.c scales.
        Of the projections that write into the residual stream, ``wo`` is one, but the other
        is ``w2`` (``w3`` is the SwiGLU gate's second input); llama2.c's choice is kept."""
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                std = residual_std if name.endswith(("w3", "wo")) else 0.02
                init.fast_normal_(module.weight, rng, std)
            elif isinstance(module, nn.Embedding):
                init.fast_normal_(module.weight, rng, 0.02)

    def forward(self, idx, targets=None, ignore_index=-100, cache=None):
        """Logits (B, T, V) of token ids ``idx`` (B, T), and the mean cross-entropy over the
        ``targets`` (B, T) that are not ``ignore_index`` (None without targets).

        With a ``cache`` (an ``nn.KVCache``, during generation) ``idx`` are the tokens that
        follow the ones it holds: RoPE rotates them from the cache length on.
        """
        idx = generation.check_token_ids(idx, self.config.vocab_size, self.config.max_seq_len)
        x = self.dropout(self.tok_embeddings(idx))  # (B, T, dim)
        for layer in self.layers:
            x = layer(x, self.rope, cache)
        logits = self.output(self.norm(x))  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets, ignore_index=ignore_index)
        return logits, loss

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None,
                 kv_cache=True):
        """Sample ``max_new_tokens`` tokens after ``idx`` (B, T) under ``no_grad``, in eval mode;
        ``temperature=0`` is greedy. Returns an int64 array (B, T + max_new_tokens). The loop
        (KV cache, cropping to ``max_seq_len``) is ``generation.generate``."""
        return generation.generate(self, idx, max_new_tokens, self.config.max_seq_len,
                                   temperature, top_k, top_p, seed, kv_cache)
