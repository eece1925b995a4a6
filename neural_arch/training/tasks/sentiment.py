"""Sentiment of real movie-review sentences (BERT from scratch, and MiniLM fine-tuned).

Data: the Rotten-Tomatoes sentences of ``data/movie_reviews.py`` (label = sign of the mean human
rating). The model reads ``[CLS] sentence [SEP] [PAD]...`` with an attention mask (1 = real
token); each batch is cut to its longest sentence, so padding costs nothing. Two tokenizers:

* ``tokenizer = "words"`` (BERT from scratch): lower-cased words and punctuation (BERT's basic
  tokenizer), a vocabulary of the training words seen at least ``min_word_count`` times;
* ``tokenizer = "minilm"``: all-MiniLM-L6-v2's WordPiece vocabulary, and ``prepare_model``
  loads its pretrained encoder weights before training.

Metrics: mean cross-entropy and accuracy. Baseline, in the same run: softmax regression on
bag-of-words counts of the same tokens, its val and test accuracy.
"""

from collections import Counter
from functools import cached_property

import numpy as np

from neural_arch.data.baselines import fit_bag_of_words
from neural_arch.data.movie_reviews import load_movie_reviews
from neural_arch.tokenizers.word_tokenizer import WordTokenizer
from neural_arch.tokenizers.wordpiece import WordPieceTokenizer, basic_tokenize
from neural_arch.training.tasks.base import Evaluation, Task, as_int

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")


def word_tokenizer(texts, min_count):
    """A WordTokenizer over the words of ``texts`` seen at least ``min_count`` times."""
    counts = Counter(w for text in texts for w in basic_tokenize(text))
    words = sorted(w for w, c in counts.items() if c >= min_count and w not in SPECIALS)
    return WordTokenizer(list(SPECIALS) + words, pad_token="[PAD]", unk_token="[UNK]",
                         special_tokens=SPECIALS[2:])


class SentimentTask(Task):
    throughput_unit = "sentences"

    def __init__(self, config):
        super().__init__(config)
        self.data = load_movie_reviews(seed=config["data_seed"],
                                       max_sentences=config.get("max_sentences"))
        self.max_len = config["max_len"]
        if config["tokenizer"] == "minilm":
            from neural_arch.data.pretrained import minilm_directory
            self.directory = minilm_directory()
            self.wordpiece = WordPieceTokenizer.from_file(self.directory / "vocab.txt")
            self.vocab_size = self.wordpiece.vocab_size
            self.pad_id, self.cls_id, self.sep_id = (self.wordpiece.token_to_id[t]
                                                     for t in ("[PAD]", "[CLS]", "[SEP]"))
        elif config["tokenizer"] == "words":
            self.words = word_tokenizer(self.data.train_texts, config["min_word_count"])
            self.vocab_size = self.words.vocab_size
            self.pad_id, self.cls_id, self.sep_id = (self.words.id_of(t)
                                                     for t in ("[PAD]", "[CLS]", "[SEP]"))
        else:
            raise ValueError(f"tokenizer = {config['tokenizer']!r}; expected 'words' or "
                             f"'minilm'")
        self.encoded = {split: self.encode(getattr(self.data, f"{split}_texts"))
                        for split in self.splits}

    # ----- tokens ------------------------------------------------------------------------------
    def token_ids(self, text):
        if self.config["tokenizer"] == "minilm":
            return self.wordpiece.convert_tokens_to_ids(self.wordpiece.tokenize(text))
        return self.words.encode_words(basic_tokenize(text))

    def encode(self, texts):
        """(ids (N, max_len), mask (N, max_len)): ``[CLS] tokens [SEP]``, cut to max_len."""
        ids = np.full((len(texts), self.max_len), self.pad_id, dtype=np.int64)
        for i, text in enumerate(texts):
            row = [self.cls_id] + self.token_ids(text)[:self.max_len - 2] + [self.sep_id]
            ids[i, :len(row)] = row
        return ids, (ids != self.pad_id).astype(np.int64)

    @cached_property
    def baseline(self):
        """Bag-of-words softmax regression on the same tokens: val and test accuracy."""
        predict = fit_bag_of_words(self.encoded["train"][0], self.data.train_labels,
                                   self.vocab_size, (self.pad_id, self.cls_id, self.sep_id),
                                   seed=self.config["data_seed"])
        out = {"name": "bag_of_words_logistic_regression"}
        for split in ("val", "test"):
            hits = predict(self.encoded[split][0]) == getattr(self.data, f"{split}_labels")
            out[f"{split}_accuracy"] = float(hits.mean())
        return out

    # ----- the task ----------------------------------------------------------------------------
    def model_overrides(self):
        """From scratch: the vocabulary and positions follow the data. Pretrained: the
        architecture is the checkpoint's, only the label count is ours."""
        if self.config["tokenizer"] == "minilm":
            return {"num_labels": 2}
        return {"vocab_size": self.vocab_size, "num_labels": 2,
                "max_position_embeddings": max(self.max_len,
                                               self.config.get("max_position_embeddings", 0))}

    def prepare_model(self, model):
        """MiniLM: the pretrained encoder weights (the classifier head stays freshly drawn).
        ``freeze_word_embeddings``: the 30,522 x 384 word table keeps its pretrained values,
        which halves the parameters AdamW updates and keeps rare words where pretraining put
        them, since a few thousand sentences touch only a small part of the vocabulary."""
        if self.config["tokenizer"] == "minilm":
            model.load_pretrained_encoder(self.directory)
        if self.config.get("freeze_word_embeddings", False):
            model.bert.embeddings.word_embeddings.weight.requires_grad = False

    def dataset_info(self):
        d = self.data
        return {"name": "rotten_tomatoes_sentences",
                "source": "vaderSentiment==3.3.2 sdist, movieReviewSnippets_GroundTruth.txt",
                "train_sentences": len(d.train_labels),
                "train_sentences_used": len(self.train_arrays()[2]), "val_sentences": len(d.val_labels),
                "test_sentences": len(d.test_labels), "max_len": self.max_len,
                "tokenizer": self.config["tokenizer"], "vocab_size": self.vocab_size,
                "classes": list(d.class_names), "baseline": self.baseline}

    def train_arrays(self):
        """The training rows; ``max_train_sentences`` keeps the first ones of the (shuffled)
        training split, while the baseline and the evaluation use the whole splits."""
        n = self.config.get("max_train_sentences") or len(self.data.train_labels)
        ids, mask = self.encoded["train"]
        return ids[:n], mask[:n], self.data.train_labels[:n]

    def split_arrays(self, split):
        return (*self.encoded[split], getattr(self.data, f"{split}_labels"))

    def train_loss(self, model, batch):
        ids, mask, labels = (as_int(a) for a in batch)
        width = int(mask.sum(axis=1).max())  # the longest sentence of the batch
        logits, loss = model(ids[:, :width], attention_mask=mask[:, :width], labels=labels)
        return loss, logits

    def batch_stats(self, loss_value, logits, batch):
        labels = as_int(batch[2])
        correct = int(np.sum(np.argmax(logits.data, axis=1) == labels))
        return loss_value * len(labels), correct, len(labels)

    def summarize(self, stats_list):
        n = sum(s[2] for s in stats_list)
        return {"loss": sum(s[0] for s in stats_list) / n,
                "accuracy": sum(s[1] for s in stats_list) / n}

    def headline(self, result):
        return (f"test accuracy {result['test']['accuracy']:.2%} (bag-of-words logistic "
                f"regression {self.baseline['test_accuracy']:.2%})")

    def evaluate(self, model, split):
        return Evaluation(self.summarize(self.eval_stats(model, split)), {}, {})
