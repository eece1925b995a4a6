"""GPT-2: a decoder-only transformer language model.

References:
    Radford et al., "Language Models are Unsupervised Multitask Learners" (2019).
    Karpathy, nanoGPT ``model.py`` (the structure and init followed here).
    Hugging Face ``transformers`` ``modeling_gpt2.py`` (the parameter names).

Parameter names mirror Hugging Face GPT-2 (``transformer.wte``, ``transformer.h.0.attn.c_attn``,
``transformer.ln_f`` ...), with one difference: our Linear weights are stored (out, in) as in
PyTorch's ``nn.Linear``, while Hugging Face's ``Conv1D`` stores them (in, out), so weights
imported from a Hugging Face checkpoint must be transposed. The output head is tied to the token
embedding (logits = x wteᵀ), so ``lm_head.weight`` is ``transformer.wte.weight`` and appears
once in ``named_parameters`` and the state dict.

Each block is pre-LayerNorm (GPT-2's change from the original transformer):

    x = x + attn(ln_1(x))      causal multi-head self-attention
    x = x + mlp(ln_2(x))       Linear(C, 4C) -> GELU (tanh approximation) -> Linear(4C, C)

Attention probabilities are not dropped out (the fused attention kernel has no dropout);
``dropout`` applies to the embeddings and to both residual branches.
"""

import math
from dataclasses import dataclass

import numpy as np

from neural_arch import functional as F
from neural_arch import nn, ops
from neural_arch.models.config_base import ConfigDict
from neural_arch.models.language import generation
from neural_arch.nn import init


@dataclass
class GPT2Config(ConfigDict):
    ALIASES = {"block_size": "n_positions"}  # nanoGPT's name (a class attribute, not a field)

    vocab_size: int = 200
    n_positions: int = 64  # the context length (nanoGPT's block_size)
    n_embd: int = 128
    n_layer: int = 3
    n_head: int = 4
    dropout: float = 0.0
    layer_norm_eps: float = 1e-5
    bias: bool = True
    seed: int = 0

    def __post_init__(self):
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"GPT2Config.{name} must be a positive integer; "
                                 f"got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPT2Config: n_embd={self.n_embd} must be divisible by "
                             f"n_head={self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPT2Config.dropout must be in [0, 1); got {self.dropout}")


class CausalSelfAttention(nn.Module):
    """Multi-head attention where position t sees positions ≤ t:
    softmax(q kᵀ / sqrt(hs) + causal mask) v, per head, then the output projection."""

    def __init__(self, config, layer_idx, rng):
        super().__init__()
        self.layer_idx = layer_idx  # this layer's slot in the KV cache
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias, rng=rng)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias, rng=rng)
        self.resid_dropout = nn.Dropout(config.dropout, rng=rng)

    def forward(self, x, cache=None):
        B, T, C = x.shape
        if cache is None:  # training and scoring: split, heads, attention and merge in one op
            y = F.qkv_attention(self.c_attn(x), self.n_head, causal=True)  # (B, T, C)
            return self.resid_dropout(self.c_proj(y))
        hs = C // self.n_head
        q, k, v = ops.split(self.c_attn(x), 3, axis=2)  # 3 × (B, T, C)
        q = q.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        if cache is not None:
            k, v = cache.update(k, v, self.layer_idx)  # (B, nh, T_cached + T, hs)
        # Causal masking is aligned to the end of the keys, so new queries see the whole cache.
        y = F.scaled_dot_product_attention(q, k, v, causal=True)  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C): heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config, rng):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias, rng=rng)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias, rng=rng)
        self.dropout = nn.Dropout(config.dropout, rng=rng)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # (B, T, C)


class Block(nn.Module):
    def __init__(self, config, layer_idx, rng):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias)
        self.attn = CausalSelfAttention(config, layer_idx, rng)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias)
        self.mlp = MLP(config, rng)

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT2LMHead(nn.Module):
    """GPT-2 with its (tied) language-modelling head."""

    def __init__(self, config=None):
        super().__init__()
        config = self.config = GPT2Config.coerce(config)
        rng = np.random.default_rng(config.seed)
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd, rng=rng),
            wpe=nn.Embedding(config.n_positions, config.n_embd, rng=rng),
            drop=nn.Dropout(config.dropout, rng=rng),
            h=nn.ModuleList([Block(config, i, rng) for i in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias),
        ))
        self.lm_head = nn.TiedLMHead(self.transformer.wte)  # logits = x wteᵀ
        self._init_weights(rng)

    def _init_weights(self, rng):
        """GPT-2 init: N(0, 0.02²) for Linear and Embedding weights, zero biases, and
        N(0, (0.02/sqrt(2·n_layer))²) for the projections that write into the residual stream
        (two per layer), so the residual's variance does not grow with depth."""
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                std = residual_std if name.endswith("c_proj") else 0.02
                init.fast_normal_(module.weight, rng, std)
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                init.fast_normal_(module.weight, rng, 0.02)

    def forward(self, idx, targets=None, ignore_index=-100, cache=None):
        """Logits (B, T, V) of token ids ``idx`` (B, T), and the mean cross-entropy over the
        ``targets`` (B, T) that are not ``ignore_index`` (None without targets).

        With a ``cache`` (an ``nn.KVCache``, during generation) ``idx`` are the tokens that
        follow the ones it holds: their positions start at the cache length.
        """
        idx = generation.check_token_ids(idx, self.config.vocab_size, self.config.n_positions)
        B, T = idx.shape
        start = 0 if cache is None else cache.get_seq_length()
        pos = np.arange(start, start + T)  # (T,)
        tok_emb = self.transformer.wte(idx)  # (B, T, C)
        pos_emb = self.transformer.wpe(pos)  # (T, C), broadcast over the batch
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x, cache)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets, ignore_index=ignore_index)
        return logits, loss

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None,
                 kv_cache=True):
        """Sample ``max_new_tokens`` tokens after ``idx`` (B, T) under ``no_grad``, in eval mode;
        ``temperature=0`` is greedy. Returns an int64 array (B, T + max_new_tokens). The loop
        (KV cache, cropping to ``n_positions``) is ``generation.generate``."""
        return generation.generate(self, idx, max_new_tokens, self.config.n_positions,
                                   temperature, top_k, top_p, seed, kv_cache)
