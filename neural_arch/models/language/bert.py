"""BERT: a bidirectional post-LayerNorm transformer encoder.

References:
    Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for Language
    Understanding", 2019 (arXiv:1810.04805).
    Hugging Face ``transformers/models/bert/modeling_bert.py`` (BertModel): the module tree and
    therefore every parameter name below, so a Hugging Face checkpoint loads with no renaming.
    Reimers & Gurevych, "Sentence-BERT", 2019: the mean-pooling recipe of ``encode_sentences``.

One encoder layer (post-LN, as in the paper; x is (B, T, H)):

    a = LayerNorm(x + Dense(SelfAttention(x)))          attention.self / attention.output
    y = LayerNorm(a + Dense(GELU(Dense(a))))            intermediate / output

GELU is the exact x·Φ(x). Padding: ``attention_mask`` (B, T), 1 for real tokens, becomes the
``key_padding_mask`` of attention, so no query ever attends to a padded key and appending padding
leaves every real position unchanged.
"""

import os
from dataclasses import dataclass

import numpy as np

from neural_arch.models.config_base import ConfigDict
from neural_arch import functional as F
from neural_arch import nn, ops
from neural_arch.core import Tensor, no_grad
from neural_arch.models.language.bert_pretrained import (mean_pool_normalized,
                                                         read_bert_directory)


@dataclass
class BERTConfig(ConfigDict):
    """Hyper-parameters; the defaults are the small model of the default training run.

    ``attention_probs_dropout_prob`` is kept for Hugging Face compatibility but not applied:
    attention runs in a fused flash kernel that never materialises the probabilities.
    """
    vocab_size: int = 1024           # the trainer overrides this with the dataset's vocabulary
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 128
    max_position_embeddings: int = 64
    type_vocab_size: int = 2
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    add_pooler: bool = True
    num_labels: int = 2
    classifier_pooling: str = "cls"  # "cls": the pooler on [CLS]; "mean": mean of real tokens
    seed: int = 0


    @classmethod
    def from_hf_config(cls, d):
        """Build from a Hugging Face ``config.json`` dict (BertModel)."""
        act = d.get("hidden_act", "gelu")
        if act != "gelu":
            raise ValueError(f"BERTConfig.from_hf_config: hidden_act must be 'gelu' (exact "
                             f"erf GELU); got {act!r}")
        position = d.get("position_embedding_type", "absolute")
        if position != "absolute":
            raise ValueError(f"BERTConfig.from_hf_config: only absolute position embeddings "
                             f"are supported; got position_embedding_type={position!r}")
        return cls.from_dict(d)


def _init_weights(module, rng, std):
    """Hugging Face's BERT init: Linear and Embedding weights N(0, std²), biases 0, LN (1, 0)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, rng, 0.0, std)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)


class BertEmbeddings(nn.Module):
    """word + position + token-type embeddings, then LayerNorm and dropout."""

    def __init__(self, config, rng):
        super().__init__()
        h = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, h, rng=rng)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, h, rng=rng)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, h, rng=rng)
        self.LayerNorm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob, rng=rng)

    def forward(self, input_ids, token_type_ids):
        positions = np.arange(input_ids.shape[1])
        x = self.word_embeddings(input_ids)                            # (B, T, H)
        x = x + self.position_embeddings(positions)                    # (T, H) broadcast
        x = x + self.token_type_embeddings(token_type_ids)             # (B, T, H)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    """Multi-head attention with separate query/key/value projections (HF names)."""

    def __init__(self, config, rng):
        super().__init__()
        h = config.hidden_size
        self.n_head = config.num_attention_heads
        self.query = nn.Linear(h, h, rng=rng)
        self.key = nn.Linear(h, h, rng=rng)
        self.value = nn.Linear(h, h, rng=rng)

    def _heads(self, x):
        B, T, H = x.shape
        x = x.reshape(B, T, self.n_head, H // self.n_head)             # (B, T, nh, hs)
        return x.transpose(1, 2)                                       # (B, nh, T, hs)

    def forward(self, x, key_padding_mask):
        B, T, H = x.shape
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        y = F.scaled_dot_product_attention(q, k, v, key_padding_mask=key_padding_mask)
        return y.transpose(1, 2).reshape(B, T, H)                      # (B, T, H)


class BertSelfOutput(nn.Module):
    """Output projection of attention, dropout, residual, post-LN (``attention.output``)."""

    def __init__(self, config, rng, in_features):
        super().__init__()
        self.dense = nn.Linear(in_features, config.hidden_size, rng=rng)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob, rng=rng)

    def forward(self, h, residual):
        return self.LayerNorm(residual + self.dropout(self.dense(h)))


class BertAttention(nn.Module):
    def __init__(self, config, rng):
        super().__init__()
        self.self = BertSelfAttention(config, rng)
        self.output = BertSelfOutput(config, rng, config.hidden_size)

    def forward(self, x, key_padding_mask):
        return self.output(self.self(x, key_padding_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, config, rng):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size, rng=rng)

    def forward(self, x):
        return F.gelu(self.dense(x))                                   # (B, T, I), exact GELU


class BertLayer(nn.Module):
    def __init__(self, config, rng):
        super().__init__()
        self.attention = BertAttention(config, rng)
        self.intermediate = BertIntermediate(config, rng)
        # Same shape as attention.output (dense, dropout, residual, LN); HF calls it BertOutput.
        self.output = BertSelfOutput(config, rng, config.intermediate_size)

    def forward(self, x, key_padding_mask):
        a = self.attention(x, key_padding_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, config, rng):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config, rng)
                                   for _ in range(config.num_hidden_layers))

    def forward(self, x, key_padding_mask):
        for layer in self.layer:
            x = layer(x, key_padding_mask)
        return x


class BertPooler(nn.Module):
    """pooled = tanh(Dense(h[:, 0])): the [CLS] position summarises the sequence."""

    def __init__(self, config, rng):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size, rng=rng)

    def forward(self, hidden):
        return ops.tanh(self.dense(hidden[:, 0]))                      # (B, H)


def _int_array(x, name):
    array = x.data if isinstance(x, Tensor) else np.asarray(x)
    if array.dtype.kind not in "iub":
        raise TypeError(f"BERT: {name} must hold integers; got dtype {array.dtype}")
    return array.astype(np.int64)


class BERT(nn.Module):
    """BertModel: ``forward(input_ids, attention_mask, token_type_ids)`` returns
    ``(sequence_output (B, T, H), pooled_output (B, H) or None)``."""

    def __init__(self, config=None):
        super().__init__()
        config = BERTConfig.coerce(config)
        if config.hidden_size % config.num_attention_heads:
            raise ValueError(f"BERT: hidden_size {config.hidden_size} is not divisible by "
                             f"num_attention_heads {config.num_attention_heads}")
        self.config = config
        self.tokenizer = None                      # set by from_pretrained (vocab.txt)
        rng = np.random.default_rng(config.seed)
        self.embeddings = BertEmbeddings(config, rng)
        self.encoder = BertEncoder(config, rng)
        self.pooler = BertPooler(config, rng) if config.add_pooler else None
        _init_weights(self, rng, config.initializer_range)

    def _check_inputs(self, input_ids, attention_mask, token_type_ids):
        ids = _int_array(input_ids, "input_ids")
        c = self.config
        if ids.ndim != 2:
            raise ValueError(f"BERT: input_ids must be (B, T); got shape {ids.shape}")
        if ids.shape[1] > c.max_position_embeddings:
            raise ValueError(f"BERT: sequence length {ids.shape[1]} exceeds "
                             f"max_position_embeddings={c.max_position_embeddings}")
        if ids.size and (ids.min() < 0 or ids.max() >= c.vocab_size):
            raise ValueError(f"BERT: input_ids must lie in [0, {c.vocab_size}); got values "
                             f"from {ids.min()} to {ids.max()}")
        mask = np.ones(ids.shape, dtype=bool) if attention_mask is None else np.asarray(
            attention_mask.data if isinstance(attention_mask, Tensor) else attention_mask) != 0
        types = (np.zeros(ids.shape, dtype=np.int64) if token_type_ids is None
                 else _int_array(token_type_ids, "token_type_ids"))
        for name, arr in (("attention_mask", mask), ("token_type_ids", types)):
            if arr.shape != ids.shape:
                raise ValueError(f"BERT: {name} has shape {arr.shape}, expected the shape of "
                                 f"input_ids {ids.shape}")
        if types.size and (types.min() < 0 or types.max() >= c.type_vocab_size):
            raise ValueError(f"BERT: token_type_ids must lie in [0, {c.type_vocab_size})")
        return ids, mask, types

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        ids, mask, types = self._check_inputs(input_ids, attention_mask, token_type_ids)
        hidden = self.encoder(self.embeddings(ids, types), mask)      # (B, T, H)
        pooled = self.pooler(hidden) if self.pooler is not None else None
        return hidden, pooled

    # ----- pretrained checkpoints --------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, directory):
        """Load a Hugging Face BERT directory (config.json, model.safetensors, vocab.txt) in
        eval mode, keeping its tokenizer. A missing or unexpected weight raises a ValueError
        that lists them all."""
        hf_config, state, tokenizer = read_bert_directory(directory)
        has_pooler = any(k.startswith("pooler.") for k in state)
        model = cls(BERTConfig.from_hf_config({**hf_config, "add_pooler": has_pooler}))
        try:
            model.load_state_dict(state)
        except ValueError as error:
            raise ValueError(f"BERT.from_pretrained({os.fspath(directory)!r}): {error}") from None
        model.tokenizer = tokenizer
        return model.eval()

    def encode_sentences(self, texts, max_length=256, batch_size=32):
        """Sentence embeddings (N, H): the last hidden states averaged over real tokens, then L2
        normalised (see ``mean_pool_normalized``), in eval mode without gradients."""
        if self.tokenizer is None:
            raise ValueError("BERT.encode_sentences needs a tokenizer: load the model with "
                             "BERT.from_pretrained(directory) (reads vocab.txt)")
        texts = [texts] if isinstance(texts, str) else list(texts)
        was_training, out = self.training, []
        self.eval()
        try:
            with no_grad():
                for start in range(0, len(texts), batch_size):
                    ids, mask = self.tokenizer.encode_batch(texts[start:start + batch_size],
                                                            max_length=max_length)
                    width = max(int(mask.sum(axis=1).max()), 1)       # drop all-pad columns
                    hidden, _ = self(ids[:, :width], attention_mask=mask[:, :width])
                    out.append(mean_pool_normalized(hidden.data, mask[:, :width]))
        finally:
            self.train(was_training)
        empty = np.zeros((0, self.config.hidden_size), dtype=np.float32)
        return np.concatenate(out) if out else empty
