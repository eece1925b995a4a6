"""Contrastive image–text learning on the procedurally drawn pairs (CLIP).

Train loss: the symmetric InfoNCE loss over each batch. Evaluation embeds the WHOLE val split
(200 pairs) and reports i2t / t2i accuracy (argmax over all val pairs), retrieval R@1/5/10, the
loss over the full val similarity matrix, and the model's temperature.
"""

import numpy as np

from neural_arch import functional as F
from neural_arch.data.image_text import make_image_text_pairs
from neural_arch.training.metrics import i2t_t2i_accuracy, retrieval_metrics
from neural_arch.training.tasks.base import Task, as_int, run_eval


class ContrastiveTask(Task):
    throughput_unit = "pairs"
    splits = ("train", "val")

    def __init__(self, config):
        super().__init__(config)
        self.data = make_image_text_pairs(num_pairs=config["num_pairs"],
                                          image_size=config.get("image_size", 32),
                                          seed=config["data_seed"])

    def model_overrides(self):
        return {"vocab_size": len(self.data.vocab), "context_length": self.data.context_length}

    def dataset_info(self):
        d = self.data
        return {"name": "image_text_pairs", "train_pairs": len(d.train_captions),
                "val_pairs": len(d.val_captions), "vocab_size": len(d.vocab),
                "context_length": d.context_length}

    def train_arrays(self):
        d = self.data
        return (d.train_images, d.train_tokens, d.train_eot_index)

    def split_arrays(self, split):
        d = self.data
        return (getattr(d, f"{split}_images"), getattr(d, f"{split}_tokens"),
                getattr(d, f"{split}_eot_index"))

    def train_loss(self, model, batch):
        images, tokens, eot = batch
        logits_per_image, _, loss = model(images.astype(np.float32), as_int(tokens), as_int(eot))
        return loss, (logits_per_image, model.temperature())

    def batch_stats(self, loss_value, outputs, batch):
        logits_per_image, temperature = outputs
        i2t, t2i = i2t_t2i_accuracy(logits_per_image.data)
        n = len(batch[0])
        return loss_value * n, i2t * n, t2i * n, n, temperature

    def summarize(self, stats_list):
        n = sum(s[3] for s in stats_list)
        return {"loss": sum(s[0] for s in stats_list) / n,
                "i2t_accuracy": sum(s[1] for s in stats_list) / n,
                "t2i_accuracy": sum(s[2] for s in stats_list) / n,
                "temperature": float(stats_list[-1][4])}

    def embed(self, model, split):
        """L2-normalised image and text embeddings of a whole split (arrays)."""
        bs = self.config["eval_batch_size"]

        def body():
            img, txt = [], []
            for images, tokens, eot in self.eval_batches(split, bs):
                img.append(model.encode_image(images.astype(np.float32)).data)
                txt.append(model.encode_text(as_int(tokens), as_int(eot)).data)
            return np.concatenate(img), np.concatenate(txt)
        return run_eval(model, body)

    def evaluate(self, model, split):
        image_emb, text_emb = self.embed(model, split)
        scale = model.temperature()
        logits = scale * image_emb @ text_emb.T  # (N, N): image i against caption j
        targets = np.arange(len(logits))
        loss = 0.5 * (F.cross_entropy(logits, targets).item()
                      + F.cross_entropy(logits.T.copy(), targets).item())
        i2t, t2i = i2t_t2i_accuracy(logits)
        metrics = {"loss": loss, "i2t_accuracy": i2t, "t2i_accuracy": t2i,
                   "temperature": float(scale)}
        return metrics, {"metrics.retrieval": retrieval_metrics(image_emb, text_emb)}
