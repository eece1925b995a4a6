"""What the two decoder-only language models (GPT-2, the modern transformer) share: input
checks, the tied output head, a fast normal init, next-token sampling and the generation loop.

Generation (after nanoGPT ``generate`` and Hugging Face ``top_k_top_p_filtering``):

    logits -> / temperature -> keep the top_k largest -> keep the nucleus (top_p) -> sample

With a KV cache (``nn.KVCache``) the prompt is run once (the "prefill") and every later step
feeds only the newest token; each attention layer appends that token's keys and values. A model
has a fixed context of ``max_len`` positions: once the sequence outgrows it, the context is
cropped to the last ``max_len`` tokens (as nanoGPT does) and, because cropping shifts every
position, the cache is thrown away and the cropped window is recomputed from scratch.
"""

import numpy as np

from neural_arch import functional as F
from neural_arch.core.grad_mode import no_grad
from neural_arch.core.tensor import Tensor
from neural_arch import nn
from neural_arch.nn import Module


def check_token_ids(idx, vocab_size, max_len, name="idx"):
    """Validate token ids at the public boundary; return them as an integer (B, T) ndarray."""
    array = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer token ids; got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (batch, seq_len); got shape {array.shape}")
    if array.shape[1] == 0:
        raise ValueError(f"{name} must hold at least one token per row; got shape {array.shape}")
    if max_len is not None and array.shape[1] > max_len:
        raise ValueError(f"{name} has sequence length {array.shape[1]} but the model's context "
                         f"holds at most {max_len} positions")
    if array.size and (array.min() < 0 or array.max() >= vocab_size):
        raise ValueError(f"{name} holds token ids from {array.min()} to {array.max()}; "
                         f"expected ids in [0, {vocab_size})")
    return array


def fast_normal_(param, rng, std):
    """Fill ``param`` with N(0, std²) drawn directly in its dtype (float32 at construction):
    about twice as fast as ``init.normal_``, which draws float64 and converts, and that is
    the bulk of building the 124M-parameter GPT-2 preset."""
    param.data[...] = rng.standard_normal(param.shape, dtype=param.dtype) * std
    return param


class TiedLMHead(Module):
    """logits = x Eᵀ with E the token-embedding matrix (V, C): the output layer *is* the input
    embedding (Press & Wolf, 2017), so the Parameter is shared, not copied, and counted once."""

    def __init__(self, embedding):
        super().__init__()
        self.weight = embedding.weight

    def forward(self, x):
        return F.linear(x, self.weight)  # (B, T, C) @ (C, V) -> (B, T, V)


def sample_next_token(logits, rng, temperature=1.0, top_k=None, top_p=None):
    """One token id per row from ``logits`` (B, V): greedy when ``temperature == 0``.

    top_k keeps the k largest logits; top_p keeps the smallest set of tokens whose probability
    adds up to at least p (the most likely token always stays). Returns an int64 (B,) array.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    logits = logits / temperature
    if top_k is not None:
        k = min(int(top_k), logits.shape[-1])
        kth_largest = np.sort(logits, axis=-1)[:, -k][:, None]  # (B, 1)
        logits = np.where(logits < kth_largest, -np.inf, logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)  # (B, V)
    if top_p is not None:
        order = np.argsort(-probs, axis=-1)
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        # Drop a token when the tokens ranked above it already reach p.
        drop_sorted = np.cumsum(sorted_probs, axis=-1) - sorted_probs >= top_p
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=-1)
        probs = np.where(drop, 0.0, probs)
        probs /= probs.sum(axis=-1, keepdims=True)
    return np.array([rng.choice(probs.shape[-1], p=row) for row in probs], dtype=np.int64)


def check_sampling_options(max_new_tokens, temperature, top_k, top_p):
    if int(max_new_tokens) != max_new_tokens or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a non-negative integer; got {max_new_tokens}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 means greedy); got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be a positive integer or None; got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1] or None; got {top_p}")


def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None,
             kv_cache=True):
    """Extend ``idx`` (B, T) by ``max_new_tokens`` sampled tokens; returns (B, T + new) ints.

    ``model`` provides ``vocab_size``, ``max_len``, ``new_cache()`` (an ``nn.KVCache`` with
    one slot per layer) and ``logits(idx, cache)`` (logits of tokens ``idx`` that follow the
    tokens held in ``cache``).
    Runs under ``no_grad`` in eval mode and restores the previous mode afterwards. A prompt
    longer than the context is cropped to its last ``max_len`` tokens, as every later step is.
    """
    idx = check_token_ids(idx, model.vocab_size, None).astype(np.int64)
    check_sampling_options(max_new_tokens, temperature, top_k, top_p)
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            cache = None
            for _ in range(int(max_new_tokens)):
                if cache is not None and cache.get_seq_length() + 1 <= model.max_len:
                    logits = model.logits(idx[:, -1:], cache)  # (B, 1, V): newest token only
                else:
                    context = idx[:, -model.max_len:]  # crop to the model's context
                    cache = model.new_cache() if kv_cache else None
                    logits = model.logits(context, cache)  # (B, T, V)
                token = sample_next_token(logits.data[:, -1, :], rng, temperature, top_k, top_p)
                idx = np.concatenate([idx, token[:, None]], axis=1)  # (B, T + 1)
    finally:
        model.train(was_training)
    return idx


class CausalLM:
    """What GPT-2 and the modern transformer share around their own ``logits(idx, cache)``:
    ``forward`` (logits and the loss) and ``generate``, plus the attributes the generation loop
    reads. A subclass names its context-length config field in ``CONTEXT_FIELD``."""

    CONTEXT_FIELD = "n_positions"

    @property
    def vocab_size(self):
        return self.config.vocab_size

    @property
    def max_len(self):
        return getattr(self.config, self.CONTEXT_FIELD)

    def new_cache(self):
        return nn.KVCache(self.config.n_layer)

    def forward(self, idx, targets=None, ignore_index=-100):
        """(logits (B, T, V), mean cross-entropy over targets that are not ``ignore_index``,
        or None without targets)."""
        idx = check_token_ids(idx, self.vocab_size, self.max_len)
        logits = self.logits(idx)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets, ignore_index=ignore_index)
        return logits, loss

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None,
                 kv_cache=True):
        """Sample ``max_new_tokens`` tokens after ``idx`` (B, T); see ``generate`` above.
        ``temperature=0`` is greedy. Returns an int64 array (B, T + max_new_tokens)."""
        return generate(self, idx, max_new_tokens, temperature, top_k, top_p, seed, kv_cache)
