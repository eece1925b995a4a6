"""Language modelling on the synthetic stories (GPT-2 and the modern transformer).

Each row is ``<bos> story <eos> <pad>...``; the model reads ``row[:-1]`` and predicts
``row[1:]``; pad targets are ignored. Metrics are over every counted target token of a split:
loss = Σ nll / n, perplexity = exp(loss), accuracy = share of argmax hits.
"""

import numpy as np

from neural_arch.data.stories import make_stories
from neural_arch.training.metrics import TokenStats, correct_token_count
from neural_arch.training.tasks.base import Task, as_int


class LanguageModelTask(Task):
    throughput_unit = "tokens"

    def __init__(self, config):
        super().__init__(config)
        seq_len = config.get("n_positions", config.get("max_seq_len"))
        self.data = make_stories(num_sequences=config["num_sequences"],
                                 vocab_size=config["vocab_size"], seq_len=seq_len,
                                 seed=config["data_seed"])
        self.ignore_index = self.data.ignore_index

    def dataset_info(self):
        d = self.data
        return {"name": "synthetic_stories", "train_sequences": len(d.train),
                "val_sequences": len(d.val), "test_sequences": len(d.test),
                "seq_len": d.seq_len, "vocab_size": d.vocab_size,
                "optimal_val_loss": d.optimal_loss,
                "optimal_val_perplexity": d.optimal_perplexity,
                "unigram_val_loss": d.unigram_loss,
                "unigram_val_perplexity": d.unigram_perplexity}

    def train_arrays(self):
        return (self.data.train,)

    def split_arrays(self, split):
        return (getattr(self.data, split),)

    def items(self, batch):
        return int(np.sum(batch[0][:, 1:] != self.ignore_index))

    def batch_stats(self, loss_value, logits, batch):
        correct, n = correct_token_count(logits.data, as_int(batch[0])[:, 1:], self.ignore_index)
        return loss_value * n, n, correct

    def train_loss(self, model, batch):
        rows = as_int(batch[0])
        logits, loss = model(rows[:, :-1], rows[:, 1:], ignore_index=self.ignore_index)
        return loss, logits

    def summarize(self, stats_list):
        totals = TokenStats()
        for stats in stats_list:
            totals.add(*stats)
        return {"loss": totals.loss, "perplexity": totals.perplexity,
                "accuracy": totals.accuracy}

    def evaluate(self, model, split):
        metrics = self.summarize(self.eval_stats(model, split))
        return metrics, {"generation_samples": self.samples(model)}

    def samples(self, model, n=2, prompt_tokens=4, new_tokens=40):
        """Continue the first tokens of ``n`` val stories (seeded top-k sampling)."""
        d = self.data
        texts = []
        for i in range(n):
            prompt = as_int(d.val[i:i + 1, :prompt_tokens])  # (1, prompt_tokens)
            out = model.generate(prompt, max_new_tokens=new_tokens, temperature=0.8, top_k=20,
                                 seed=self.config["seed"] + i)
            ids = [int(t) for t in out[0]]
            if d.eos_id in ids[prompt_tokens:]:
                ids = ids[:ids.index(d.eos_id, prompt_tokens)]
            texts.append(d.tokenizer.decode(ids, skip_special=True))
        return texts
