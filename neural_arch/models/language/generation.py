"""Text generation for the decoder-only language models (GPT-2, the modern transformer): the
token-id check of their ``forward``, next-token sampling and the generation loop.

Sampling (after nanoGPT ``generate`` and Hugging Face ``top_k_top_p_filtering``):

    logits -> / temperature -> keep the top_k largest -> keep the nucleus (top_p) -> sample

With a KV cache (``nn.KVCache``) the prompt is run once (the "prefill") and every later step
feeds only the newest token; each attention layer appends that token's keys and values. A model
has a fixed context of ``max_len`` positions: once the sequence outgrows it, the context is
cropped to the last ``max_len`` tokens (as nanoGPT does) and, because cropping shifts every
position, the cache is thrown away and the cropped window is recomputed from scratch.
"""

import numpy as np

from neural_arch import nn
from neural_arch.core.grad_mode import no_grad
from neural_arch.core.tensor import Tensor


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


def generate(model, idx, max_new_tokens, max_len, temperature=1.0, top_k=None, top_p=None,
             seed=None, kv_cache=True):
    """Extend ``idx`` (B, T) by ``max_new_tokens`` sampled tokens; returns (B, T + new) ints.

    ``model(idx, cache=cache)`` must return ``(logits (B, T, V), loss)`` for tokens ``idx``
    that follow the tokens held in ``cache``; ``model.config`` gives ``vocab_size`` and
    ``n_layer`` (the cache has one slot per layer); ``max_len`` is its context length.
    Runs under ``no_grad`` in eval mode and restores the previous mode afterwards. A prompt
    longer than the context is cropped to its last ``max_len`` tokens, as every later step is.
    """
    idx = check_token_ids(idx, model.config.vocab_size, None).astype(np.int64)
    check_sampling_options(max_new_tokens, temperature, top_k, top_p)
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            cache = None
            for _ in range(int(max_new_tokens)):
                if cache is not None and cache.get_seq_length() + 1 <= max_len:
                    logits, _ = model(idx[:, -1:], cache=cache)  # (B, 1, V): newest token only
                else:
                    context = idx[:, -max_len:]  # crop to the model's context
                    cache = nn.KVCache(model.config.n_layer) if kv_cache else None
                    logits, _ = model(context, cache=cache)  # (B, T, V)
                token = sample_next_token(logits.data[:, -1, :], rng, temperature, top_k, top_p)
                idx = np.concatenate([idx, token[:, None]], axis=1)  # (B, T + 1)
    finally:
        model.train(was_training)
    return idx
