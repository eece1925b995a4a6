"""What a task adapter gives the model-agnostic trainer.

A task owns its dataset and knows how one family of models consumes it:

* ``train_batches(batch_size, rng)`` yields training batches (any object the task understands);
* ``train_loss(model, batch) -> (loss Tensor, outputs)`` runs the model on one batch;
* ``batch_stats(loss_value, outputs, batch) -> stats``: the batch's totals for the metrics
  (called only once the loss is known to be finite);
* ``summarize(stats_list) -> dict`` turns an epoch's stats into the documented train metrics;
* ``evaluate(model, split) -> Evaluation(metrics, groups, top_level)``: ``metrics`` go to
  ``metrics.<split>``, ``groups`` are further metric groups (``metrics.retrieval``) and
  ``top_level`` the family's documented top-level keys (``generation_samples``, ...);
* ``dataset_info()`` describes the data for the checkpoint's ``dataset`` field;
* ``model_overrides()`` gives model settings that follow from the data (vocabulary size, ...);
* ``prepare_model(model)`` loads what a fresh model starts from (pretrained weights), if any;
* ``num_train_items()`` is how many examples an epoch visits;
* ``headline(result)`` is one line: the main figure against the baseline;
* ``throughput_unit`` names what ``items(batch)`` counts, for the progress bar.

Under ``mpiexec`` (``training/data_parallel.py``) a batch is a tuple of arrays whose rows each
rank splits; ``shardable`` says the loss is a mean over rows, so that the split is exact, and the
trainer sets ``world`` so that ``eval_stats`` evaluates each rank's rows and gathers the stats.
"""

from typing import NamedTuple

import numpy as np

from neural_arch.core.grad_mode import no_grad
from neural_arch.data.batching import iterate_minibatches
from neural_arch.distributed.sharding import shard_batch


class Evaluation(NamedTuple):
    """What ``Task.evaluate`` measured on one split (the checkpoint's writer places each part)."""
    metrics: dict    # flat: loss, accuracy, ... -> metrics.<split>
    groups: dict     # name -> dict of further metrics, e.g. {"retrieval": {...}}
    top_level: dict  # documented top-level keys, e.g. {"generation_samples": [...]}


class Task:
    throughput_unit = "samples"
    splits = ("train", "val", "test")
    shardable = True  # the loss is a mean of per-row terms (see distributed/sharding.py)
    world = None  # the MPI world when several ranks train together; None in one process

    def __init__(self, config):
        self.config = config

    def model_overrides(self):
        return {}

    def prepare_model(self, model):
        """Called once on a freshly built model before training (pretrained weights)."""

    def dataset_info(self):
        raise NotImplementedError

    def train_arrays(self):
        """The tuple of aligned training arrays that batches are cut from."""
        raise NotImplementedError

    def split_arrays(self, split):
        raise NotImplementedError

    def num_train_items(self):
        """How many training examples one epoch visits."""
        return len(self.train_arrays()[0])

    def train_batches(self, batch_size, rng):
        return iterate_minibatches(self.train_arrays(), batch_size, shuffle=True, rng=rng)

    def eval_batches(self, split, batch_size):
        return iterate_minibatches(self.split_arrays(split), batch_size, shuffle=False)

    def items(self, batch):
        return len(batch[0])

    def train_loss(self, model, batch):
        raise NotImplementedError

    def batch_stats(self, loss_value, outputs, batch):
        raise NotImplementedError

    def summarize(self, stats_list):
        raise NotImplementedError

    def eval_stats(self, model, split):
        """``batch_stats`` of every batch of ``split``, in eval mode with no graph.

        With several ranks, each evaluates its rows of every batch and the stats of all ranks
        are gathered: the split is read once in all, not once per rank."""
        world = self.world
        def body():
            stats = []
            for batch in self.eval_batches(split, self.config["eval_batch_size"]):
                if world is not None:
                    batch, weight = shard_batch(batch, world.rank, world.size)
                    if weight == 0:
                        continue
                loss, outputs = self.train_loss(model, batch)
                stats.append(self.batch_stats(loss.item(), outputs, batch))
            return stats
        stats = run_eval(model, body)
        return stats if world is None else world.allgather_list(stats)

    def evaluate(self, model, split):
        raise NotImplementedError

    def headline(self, result):
        """The main figure of ``result`` (one epoch's metrics) beside the baseline's."""
        raise NotImplementedError


def run_eval(model, fn):
    """Call ``fn()`` with the model in eval mode and no graph; restore the previous mode."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return fn()
    finally:
        model.train(was_training)


def as_int(array):
    return np.asarray(array, dtype=np.int64)
