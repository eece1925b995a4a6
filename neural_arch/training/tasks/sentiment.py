"""Sentiment classification of the synthetic IMDB-style reviews (BERT).

The model reads ``[CLS] review [SEP] [PAD]...`` with an attention mask (1 = real token) and
classifies from the pooled ``[CLS]`` state. Metrics: mean cross-entropy and accuracy.
"""

import numpy as np

from neural_arch.data.imdb_synthetic import make_synthetic_imdb
from neural_arch.training.tasks.base import Task, as_int


class SentimentTask(Task):
    throughput_unit = "reviews"

    def __init__(self, config):
        super().__init__(config)
        self.data = make_synthetic_imdb(num_reviews=config["num_reviews"],
                                        max_len=config.get("max_len", 32),
                                        seed=config["data_seed"])

    def model_overrides(self):
        return {"vocab_size": len(self.data.vocab), "num_labels": 2,
                "max_position_embeddings": max(self.data.max_len,
                                               self.config.get("max_position_embeddings", 0))}

    def dataset_info(self):
        d = self.data
        return {"name": "synthetic_imdb", "train_reviews": len(d.train_labels),
                "val_reviews": len(d.val_labels), "test_reviews": len(d.test_labels),
                "max_len": d.max_len, "vocab_size": len(d.vocab),
                "classes": list(d.class_names)}

    def train_arrays(self):
        d = self.data
        return (d.train_ids, d.train_mask, d.train_labels)

    def split_arrays(self, split):
        d = self.data
        return (getattr(d, f"{split}_ids"), getattr(d, f"{split}_mask"),
                getattr(d, f"{split}_labels"))

    def train_loss(self, model, batch):
        ids, mask, labels = (as_int(a) for a in batch)
        logits, loss = model(ids, attention_mask=mask, labels=labels)
        return loss, logits

    def batch_stats(self, loss_value, logits, batch):
        labels = as_int(batch[2])
        correct = int(np.sum(np.argmax(logits.data, axis=1) == labels))
        return loss_value * len(labels), correct, len(labels)

    def summarize(self, stats_list):
        n = sum(s[2] for s in stats_list)
        return {"loss": sum(s[0] for s in stats_list) / n,
                "accuracy": sum(s[1] for s in stats_list) / n}

    def evaluate(self, model, split):
        return self.summarize(self.eval_stats(model, split)), {}

    def encode(self, texts):
        """Token ids and attention mask for new review texts, as the dataset encodes them."""
        d = self.data
        ids = np.full((len(texts), d.max_len), d.pad_id, dtype=np.int64)
        for i, text in enumerate(texts):
            row = [d.cls_id] + d.tokenizer.encode(text)[:d.max_len - 2] + [d.sep_id]
            ids[i, :len(row)] = row
        return ids, (ids != d.pad_id).astype(np.int64)
