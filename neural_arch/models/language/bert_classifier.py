"""BERT for sentence classification: the encoder of ``bert.py``, a summary of the sentence, and
a ``classifier`` Linear (Hugging Face's names, so its checkpoints load with no renaming).

    logits = classifier(dropout(summary(BERT(input_ids))))      (B, num_labels)
    loss   = cross_entropy(logits, labels)                      when labels are given
"""

import os

import numpy as np

from neural_arch import functional as F
from neural_arch import nn
from neural_arch.models.language.bert import BERT, BERTConfig, _init_weights, _int_array
from neural_arch.models.language.bert_pretrained import read_bert_directory


class BertForSequenceClassification(nn.Module):
    """BERT + dropout + ``classifier`` Linear (HF names) on a summary of the sentence:

    * ``classifier_pooling="cls"``: the pooler's tanh(Dense(h[CLS])) (BERT's recipe);
    * ``"mean"``: Σ_t m_t h_t / Σ_t m_t over the real tokens (sentence-transformers' recipe,
      the summary all-MiniLM-L6-v2 was trained to produce).
    """

    def __init__(self, config=None):
        super().__init__()
        config = BERTConfig.coerce(config)
        if config.classifier_pooling not in ("cls", "mean"):
            raise ValueError(f"classifier_pooling must be 'cls' or 'mean'; got "
                             f"{config.classifier_pooling!r}")
        if config.classifier_pooling == "cls" and not config.add_pooler:
            raise ValueError("BertForSequenceClassification with classifier_pooling='cls' "
                             "needs add_pooler=True")
        self.config = config
        self.bert = BERT(config)
        rng = np.random.default_rng([config.seed, 1])  # independent of the encoder's stream
        self.dropout = nn.Dropout(config.hidden_dropout_prob, rng=rng)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels, rng=rng)
        _init_weights(self.classifier, rng, config.initializer_range)

    def load_pretrained_encoder(self, directory):
        """Load a Hugging Face BERT directory's weights into ``self.bert`` (the classifier
        keeps its fresh init). Architecture keys must agree; a pooler the config leaves out is
        skipped."""
        hf_config, state, _ = read_bert_directory(directory)
        c = self.config
        for key in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                    "intermediate_size", "vocab_size", "max_position_embeddings"):
            if hf_config.get(key) != getattr(c, key):
                raise ValueError(f"load_pretrained_encoder({os.fspath(directory)!r}): "
                                 f"{key} is {hf_config.get(key)} there but {getattr(c, key)} "
                                 f"in this model's config")
        if not c.add_pooler:
            state = {k: v for k, v in state.items() if not k.startswith("pooler.")}
        self.bert.load_state_dict(state)
        return self

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        hidden, pooled = self.bert(input_ids, attention_mask, token_type_ids)  # (B, T, H)
        if self.config.classifier_pooling == "mean":
            ids = _int_array(input_ids, "input_ids")
            mask = (np.ones(ids.shape) if attention_mask is None
                    else np.asarray(attention_mask) != 0).astype(hidden.dtype)[..., None]
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)  # (B, H)
        logits = self.classifier(self.dropout(pooled))                 # (B, num_labels)
        loss = None if labels is None else F.cross_entropy(logits, _int_array(labels, "labels"))
        return logits, loss
