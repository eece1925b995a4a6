"""Contrastive image-text learning on captioned handwritten digits (CLIP on MNIST-5k).

Each training image is paired with a caption made from its label by a random training template
(``data/digit_captions.py``), a new draw every epoch; the loss is CLIP's symmetric InfoNCE over
the batch with every same-digit pair counted as a positive (CLIP's ``labels``).
Evaluation, over a whole split:

* ``zero_shot_accuracy``: one caption per class with a template never used in training; each
  image is classified by its most similar caption;
* retrieval R@1/5/10 both ways against one caption per image (training templates in turn),
  where a retrieved item counts when its CLASS matches: many images share a caption's meaning,
  so "the right pair" is any pair of the same digit;
* ``loss``, ``i2t_accuracy`` and ``t2i_accuracy`` over the split's batches, as in training:
  the share of images (captions) whose most similar caption (image) in the batch has the same
  class; and ``temperature``.

Baseline: softmax regression on pixels, the same as for the image classifiers.
"""

from functools import cached_property

import numpy as np

from neural_arch.data.digit_captions import (TRAIN_TEMPLATES, ZERO_SHOT_TEMPLATE,
                                             caption_tokenizer, captions_for_labels,
                                             context_length, encode_captions)
from neural_arch.training.metrics import class_retrieval_metrics
from neural_arch.training.tasks.base import Evaluation, Task, as_int, run_eval
from neural_arch.training.tasks.vision import load_image_dataset, pixel_baseline, shift_images


class ContrastiveTask(Task):
    throughput_unit = "pairs"
    shardable = False  # InfoNCE couples every pair of the batch: one process only

    def __init__(self, config):
        super().__init__(config)
        self.name, self.data = load_image_dataset(config)
        self.tokenizer = caption_tokenizer()
        self.context_length = context_length()

    @cached_property
    def baseline(self):
        return pixel_baseline(self.data, self.config["data_seed"])

    def model_overrides(self):
        _, channels, side, _ = self.data.train_images.shape
        return {"vocab_size": len(self.tokenizer.vocab), "context_length": self.context_length,
                "in_channels": channels, "image_size": side}

    def dataset_info(self):
        d = self.data
        return {"name": f"{self.name}_captions", "train_images": len(d.train_labels),
                "val_images": len(d.val_labels), "test_images": len(d.test_labels),
                "vocab_size": len(self.tokenizer.vocab), "context_length": self.context_length,
                "train_templates": list(TRAIN_TEMPLATES),
                "zero_shot_template": ZERO_SHOT_TEMPLATE,
                "augment_shift": self.config.get("augment_shift", 0),
                "baseline": self.baseline}

    def encode(self, captions):
        return encode_captions(self.tokenizer, captions, self.context_length)

    def encode_query(self, caption):
        """A user's caption, lower-cased; words outside the caption vocabulary are an error."""
        words = self.tokenizer.split(caption.lower())
        unknown = sorted({w for w in words if w not in self.tokenizer.token_to_id})
        if unknown:
            raise ValueError(f"caption: words {unknown} are not in the caption vocabulary "
                             f"(e.g. {TRAIN_TEMPLATES[0].format(word='seven')!r}, "
                             f"'the digit 7')")
        return self.encode([" ".join(words)])

    def train_arrays(self):
        return (self.data.train_images, self.data.train_labels)

    def split_arrays(self, split):
        return (getattr(self.data, f"{split}_images"), getattr(self.data, f"{split}_labels"))

    def train_batches(self, batch_size, rng):
        shift = self.config.get("augment_shift", 0)
        for images, labels in super().train_batches(batch_size, rng):
            if shift:
                images = shift_images(images, shift, rng)
            tokens, eot = self.encode(captions_for_labels(labels, TRAIN_TEMPLATES, rng))
            yield images, tokens, eot, labels

    def eval_batches(self, split, batch_size):
        for images, labels in super().eval_batches(split, batch_size):
            tokens, eot = self.encode(captions_for_labels(labels, TRAIN_TEMPLATES))
            yield images, tokens, eot, labels

    def train_loss(self, model, batch):
        images, tokens, eot, labels = batch
        logits_per_image, _, loss = model(images.astype(np.float32), as_int(tokens),
                                          as_int(eot), labels=labels)
        return loss, (logits_per_image, model.temperature())

    def batch_stats(self, loss_value, outputs, batch):
        """Sums over the batch; i2t / t2i count a hit when the best match has the same class."""
        logits_per_image, temperature = outputs
        labels = batch[3]
        i2t = np.sum(labels[np.argmax(logits_per_image.data, axis=1)] == labels)
        t2i = np.sum(labels[np.argmax(logits_per_image.data, axis=0)] == labels)
        return loss_value * len(labels), i2t, t2i, len(labels), temperature

    def summarize(self, stats_list):
        n = sum(s[3] for s in stats_list)
        return {"loss": sum(s[0] for s in stats_list) / n,
                "i2t_accuracy": float(sum(s[1] for s in stats_list) / n),
                "t2i_accuracy": float(sum(s[2] for s in stats_list) / n),
                "temperature": stats_list[-1][4]}

    def headline(self, result):
        return (f"test zero-shot accuracy {result['test']['zero_shot_accuracy']:.2%} "
                f"(logistic regression on pixels {self.baseline['test_accuracy']:.2%})")

    def class_embeddings(self, model, template=ZERO_SHOT_TEMPLATE):
        """(10, E) normalised text embeddings of one caption per class."""
        tokens, eot = self.encode(captions_for_labels(np.arange(len(self.data.class_names)),
                                                      (template,)))
        return run_eval(model, lambda: model.encode_text(tokens, eot).data)

    def embed_images(self, model, images):
        bs = self.config["eval_batch_size"]
        return run_eval(model, lambda: np.concatenate([
            model.encode_image(images[i:i + bs].astype(np.float32)).data
            for i in range(0, len(images), bs)]))

    def evaluate(self, model, split):
        images, labels = self.split_arrays(split)
        image_emb = self.embed_images(model, images)
        zero_shot = np.argmax(image_emb @ self.class_embeddings(model).T, axis=1)
        captions = captions_for_labels(labels, TRAIN_TEMPLATES)
        tokens, eot = self.encode(captions)
        text_emb = run_eval(model, lambda: model.encode_text(tokens, eot).data)
        metrics = self.summarize(self.eval_stats(model, split))
        metrics["zero_shot_accuracy"] = float(np.mean(zero_shot == labels))
        retrieval = class_retrieval_metrics(image_emb, text_emb, labels, labels)
        return Evaluation(metrics, {"retrieval": retrieval}, {})
