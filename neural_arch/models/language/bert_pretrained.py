"""Reading a Hugging Face BERT directory, and the sentence-transformers pooling.

A directory saved by ``transformers`` (or downloaded from the Hub) holds ``config.json``,
``model.safetensors`` and ``vocab.txt``. Our BERT uses Hugging Face's parameter names, so the
weights need no renaming table: only the ``bert.`` prefix of task models is stripped and the
``embeddings.position_ids`` buffer (a constant ``arange``) is dropped.
"""

import json
import os

import numpy as np


def read_bert_directory(directory):
    """-> (Hugging Face config dict, state dict of arrays, WordPieceTokenizer or None)."""
    from safetensors.numpy import load_file
    directory = os.fspath(directory)
    for name in ("config.json", "model.safetensors"):
        if not os.path.exists(os.path.join(directory, name)):
            raise FileNotFoundError(f"BERT.from_pretrained: {directory!r} has no {name}")
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    state = load_file(os.path.join(directory, "model.safetensors"))
    state = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in state.items()
             if not k.endswith("position_ids")}
    tokenizer = None
    if os.path.exists(os.path.join(directory, "vocab.txt")):
        # Imported here: only a directory with a vocabulary needs the tokenizer.
        from neural_arch.tokenizers.wordpiece import WordPieceTokenizer
        tokenizer = WordPieceTokenizer.from_file(os.path.join(directory, "vocab.txt"))
    return config, state, tokenizer


def mean_pool_normalized(hidden, mask):
    """Mean of ``hidden`` (B, T, H) over the positions where ``mask`` (B, T) is 1, then divided
    by its L2 norm: e = Σ_t m_t h_t / Σ_t m_t,  e / ‖e‖ (sentence-transformers' recipe)."""
    weights = mask[..., None].astype(hidden.dtype)                      # (B, T, 1)
    mean = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)  # (B, H)
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
