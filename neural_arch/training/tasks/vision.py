"""Image classification of real handwritten digits (ViT and ResNet).

Data: MNIST-5k (``dataset = "mnist_5k"``, 28 x 28, 4,000 / 500 / 500) or scikit-learn's 8 x 8
digits (``"digits_8x8"``, the small set for quick runs). With ``augment_shift = s > 0`` each
training image is moved by a random whole number of pixels in [-s, s] along each axis (the
background fills in), a new draw every epoch: digits do not change class when they move.

Metrics over a whole split: loss = mean cross-entropy, accuracy = top-1, top5_accuracy, and (in
the checkpoint's top level) per-class accuracies of the val split. Baseline, computed in the
same run: softmax regression on the raw pixels, its val and test accuracy.
"""

from functools import cached_property

import numpy as np

from neural_arch.data.baselines import fit_logistic_regression
from neural_arch.data.digits import load_digits_8x8, load_mnist_5k
from neural_arch.training.metrics import class_accuracies, topk_accuracy
from neural_arch.training.tasks.base import Evaluation, Task, as_int

DATASETS = {"mnist_5k": load_mnist_5k, "digits_8x8": load_digits_8x8}


def load_image_dataset(config):
    """The dataset named by ``config["dataset"]``; a clear error for an unknown name."""
    name = config.get("dataset", "mnist_5k")
    if name not in DATASETS:
        raise ValueError(f"dataset = {name!r} is not an image dataset; expected one of "
                         f"{sorted(DATASETS)}")
    return name, DATASETS[name](seed=config["data_seed"])


def shift_images(images, max_shift, rng):
    """Each image (N, C, H, W) moved by its own random (dy, dx) in [-max_shift, max_shift]².

    The uncovered border takes the image's minimum (the background of a digit)."""
    n, _, h, w = images.shape
    s = max_shift
    padded = np.pad(images, ((0, 0), (0, 0), (s, s), (s, s)), mode="constant",
                    constant_values=float(images.min()))  # (N, C, H + 2s, W + 2s)
    dy, dx = rng.integers(0, 2 * s + 1, size=(2, n))
    return np.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def pixel_baseline(data, seed):
    """Softmax regression on raw pixels: {"val_accuracy", "test_accuracy"}."""
    predict = fit_logistic_regression(data.train_images, data.train_labels, seed=seed)
    out = {"name": "logistic_regression_pixels"}
    for split in ("val", "test"):
        hits = predict(getattr(data, f"{split}_images")) == getattr(data, f"{split}_labels")
        out[f"{split}_accuracy"] = float(hits.mean())
    return out


class ImageClassificationTask(Task):
    throughput_unit = "images"

    def __init__(self, config):
        super().__init__(config)
        self.name, self.data = load_image_dataset(config)
        self.num_classes = len(self.data.class_names)

    @cached_property
    def baseline(self):
        return pixel_baseline(self.data, self.config["data_seed"])

    def model_overrides(self):
        _, channels, side, _ = self.data.train_images.shape
        return {"num_classes": self.num_classes, "in_channels": channels, "image_size": side}

    def dataset_info(self):
        d = self.data
        return {"name": self.name, "train_images": len(d.train_labels),
                "val_images": len(d.val_labels), "test_images": len(d.test_labels),
                "image_shape": list(d.train_images.shape[1:]), "classes": list(d.class_names),
                "augment_shift": self.config.get("augment_shift", 0),
                "baseline": self.baseline}

    def train_arrays(self):
        return (self.data.train_images, self.data.train_labels)

    def split_arrays(self, split):
        return (getattr(self.data, f"{split}_images"), getattr(self.data, f"{split}_labels"))

    def train_batches(self, batch_size, rng):
        shift = self.config.get("augment_shift", 0)
        for images, labels in super().train_batches(batch_size, rng):
            yield (shift_images(images, shift, rng) if shift else images), labels

    def train_loss(self, model, batch):
        images, labels = batch
        logits, loss = model(images.astype(np.float32), as_int(labels))
        return loss, logits

    def batch_stats(self, loss_value, logits, batch):
        labels = as_int(batch[1])
        return loss_value * len(labels), logits.data, labels

    def summarize(self, stats_list):
        n = sum(len(s[2]) for s in stats_list)
        logits = np.concatenate([s[1] for s in stats_list])
        labels = np.concatenate([s[2] for s in stats_list])
        k = min(5, self.num_classes)
        return {"loss": sum(s[0] for s in stats_list) / n,
                "accuracy": float(np.mean(np.argmax(logits, axis=1) == labels)),
                "top5_accuracy": topk_accuracy(logits, labels, k=k)}

    def headline(self, result):
        return (f"test accuracy {result['test']['accuracy']:.2%} (logistic regression on "
                f"pixels {self.baseline['test_accuracy']:.2%})")

    def evaluate(self, model, split):
        stats = self.eval_stats(model, split)
        metrics = self.summarize(stats)
        logits = np.concatenate([s[1] for s in stats])
        labels = np.concatenate([s[2] for s in stats])
        extras = {"class_accuracies": class_accuracies(logits, labels, self.num_classes)}
        return Evaluation(metrics, {}, extras)
