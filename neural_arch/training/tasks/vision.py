"""Image classification on synthetic CIFAR-10 (ViT and ResNet).

Metrics over a whole split: loss = mean cross-entropy, accuracy = top-1, top5_accuracy, and (in
the checkpoint's top level) per-class accuracies of the val split.
"""

import numpy as np

from neural_arch.data.cifar_synthetic import make_synthetic_cifar10
from neural_arch.training.metrics import class_accuracies, topk_accuracy
from neural_arch.training.tasks.base import Task, as_int, run_eval


class ImageClassificationTask(Task):
    throughput_unit = "images"

    def __init__(self, config):
        super().__init__(config)
        self.data = make_synthetic_cifar10(num_images=config["num_images"],
                                           image_size=config.get("image_size", 32),
                                           seed=config["data_seed"])
        self.num_classes = len(self.data.class_names)

    def model_overrides(self):
        return {"num_classes": self.num_classes}

    def dataset_info(self):
        d = self.data
        return {"name": "synthetic_cifar10", "train_images": len(d.train_labels),
                "val_images": len(d.val_labels), "test_images": len(d.test_labels),
                "classes": list(d.class_names)}

    def train_arrays(self):
        return (self.data.train_images, self.data.train_labels)

    def split_arrays(self, split):
        return (getattr(self.data, f"{split}_images"), getattr(self.data, f"{split}_labels"))

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

    def predict_logits(self, model, images):
        def body():
            out = [model(images[i:i + self.config["eval_batch_size"]].astype(np.float32))[0].data
                   for i in range(0, len(images), self.config["eval_batch_size"])]
            return np.concatenate(out)
        return run_eval(model, body)

    def evaluate(self, model, split):
        stats = self.eval_stats(model, split)
        metrics = self.summarize(stats)
        logits = np.concatenate([s[1] for s in stats])
        labels = np.concatenate([s[2] for s in stats])
        extras = {"class_accuracies": class_accuracies(logits, labels, self.num_classes)}
        return metrics, extras
