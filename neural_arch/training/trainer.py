"""ModelTrainer: one training loop for every model family (after minGPT's ``trainer.py``).

The trainer knows nothing about GPT-2 or CLIP. A task adapter (``training/tasks``) owns the data
and says how a family turns a batch into a loss and a split into metrics; the model comes from
the ``get_model`` registry. Per epoch: train (AdamW, linear warmup + cosine decay, global
gradient-norm clipping), evaluate on val and test, write the documented JSON checkpoint with the
weights, optimizer and RNG state beside it (``checkpoint.py``), so that ``resume`` continues
bit for bit.
"""

import math
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from neural_arch.distributed import current_world
from neural_arch.models import get_model
from neural_arch.optim import AdamW, WarmupCosine, clip_grad_norm_, params_without_grad
from neural_arch.training.checkpoint import (archive_previous_run, checkpoint_metadata,
                                             ensure_writable, pack_state, save_checkpoint)
from neural_arch.training.config import environment_info, model_settings, resolve_config
from neural_arch.training.data_parallel import parallel_train_step, setup_data_parallel
from neural_arch.training.rng_state import (generator_state_array, module_generators,
                                            restore_generator_state)
from neural_arch.training.tasks import make_task


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; the last written checkpoint is untouched."""


def parameter_groups(model, weight_decay):
    """AdamW groups: decay matrices (≥ 2-D weights), not biases, norms or 1-D scales."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


class ModelTrainer:
    """Train ``config["model"]`` with the settings in ``config`` (see ``training/config.py``).

    Attributes used by the documented examples: ``model``, ``step``, ``train()``.
    """

    def __init__(self, config, quiet=None, out_dir=None, checkpoint_dir=None, bar_position=None):
        self.config = resolve_config(config)
        if quiet is not None:
            self.config["quiet"] = bool(quiet)
        if out_dir is not None:
            self.config["out_dir"] = str(out_dir)
        # One process unless mpiexec started several (distributed/); then rank 0's seeds rule.
        self.world = current_world()
        cfg = self.config = self.world.broadcast_config(self.config)
        self.model_name = cfg["model"]
        # <out_dir>/<model>/ unless told otherwise (resume writes beside the checkpoint it read).
        self.checkpoint_dir = Path(checkpoint_dir or Path(cfg["out_dir"]) / self.model_name)
        ensure_writable(self.checkpoint_dir)  # fail now, not after an hour of training
        self.task = make_task(self.model_name, cfg)
        cfg.update(self.task.model_overrides())
        self.model = get_model(self.model_name, **model_settings(self.model_name, cfg))
        self.task.prepare_model(self.model)
        self.optimizer = AdamW(parameter_groups(self.model, cfg["weight_decay"]),
                               lr=cfg["learning_rate"], betas=(cfg["beta1"], cfg["beta2"]),
                               eps=cfg["adam_eps"])
        self.steps_per_epoch = math.ceil(self.task.num_train_items() / cfg["batch_size"])
        total = self.steps_per_epoch * cfg["num_epochs"]
        warmup = int(round(cfg["warmup_fraction"] * total))
        self.scheduler = WarmupCosine(self.optimizer, warmup_steps=warmup, total_steps=total,
                                      min_lr_ratio=cfg["min_lr_ratio"])
        self.rng = np.random.default_rng(cfg["seed"])
        self.step = 0
        self.epochs_completed = 0
        self.history = []
        self.last_checkpoint = None
        self.archived = None  # where an earlier run's checkpoints were moved, if any
        self.bar_position = bar_position  # the progress bar's line when several models train
        if self.world.size > 1:
            setup_data_parallel(self)  # rank 0's weights everywhere, sharded eval, grad buffer

    # ----- one epoch ---------------------------------------------------------------------------
    def check_finite(self, value):
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"{self.model_name}: loss is {value} at step {self.step + 1} (epoch "
                f"{self.epochs_completed + 1}); training stopped. Last good checkpoint: "
                f"{self.last_checkpoint or 'none written yet'}")

    def _train_step(self, batch):
        if self.world.size > 1:
            return parallel_train_step(self, batch)  # this rank's rows, all-reduced gradients
        loss, outputs = self.task.train_loss(self.model, batch)
        value = loss.item()
        self.check_finite(value)
        self.optimizer.zero_grad()
        loss.backward()
        if self.step == 0:
            missing = params_without_grad(self.model.named_parameters())
            if missing:
                raise RuntimeError(f"{self.model_name}: these parameters received no gradient "
                                   f"from the loss (the graph is cut): {missing}")
        clip_grad_norm_(self.model.parameters(), self.config["grad_clip"])
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return value, self.task.batch_stats(value, outputs, batch)

    def _train_epoch(self):
        cfg = self.config
        self.model.train()
        quiet = cfg["quiet"] or not sys.stderr.isatty() or not self.world.is_root
        bar = tqdm(total=self.steps_per_epoch, disable=quiet, leave=False,
                   position=self.bar_position,
                   desc=f"{self.model_name} epoch {self.epochs_completed + 1}/{cfg['num_epochs']}")
        stats_list, items, start = [], 0, time.perf_counter()
        for batch in self.task.train_batches(cfg["batch_size"], self.rng):
            value, stats = self._train_step(batch)
            stats_list.append(stats)
            items += self.task.items(batch)
            rate = items / max(time.perf_counter() - start, 1e-9)
            bar.set_postfix(loss=f"{value:.4f}", lr=f"{self.scheduler.get_last_lr()[0]:.2e}",
                            **{f"{self.task.throughput_unit}/s": f"{rate:.0f}"})
            bar.update(1)
        bar.close()
        metrics = self.task.summarize(self.world.allgather_list(stats_list))  # every rank's rows
        metrics["time"] = time.perf_counter() - start
        return metrics

    def _evaluate(self, split):
        """The task's ``Evaluation`` of ``split``, with the seconds it took in its metrics."""
        start = time.perf_counter()
        evaluation = self.task.evaluate(self.model, split)
        evaluation.metrics["time"] = time.perf_counter() - start
        return evaluation

    # ----- the loop ----------------------------------------------------------------------------
    def train(self, epochs=None):
        """Train until ``num_epochs`` (or for ``epochs`` more); return the final metrics."""
        cfg = self.config
        end = cfg["num_epochs"] if epochs is None else min(cfg["num_epochs"],
                                                           self.epochs_completed + epochs)
        result = None
        if end > self.epochs_completed and self.world.is_root:
            # A new run moves the old one aside; a resumed one, the checkpoints after its own.
            self.archived = archive_previous_run(self.checkpoint_dir, after=self.epochs_completed)
        while self.epochs_completed < end:
            train_metrics = self._train_epoch()
            val = self._evaluate("val")
            self.epochs_completed += 1
            result = {"train": train_metrics, "val": val.metrics}
            if "test" in self.task.splits:
                result["test"] = self._evaluate("test").metrics
            self.history.append(result)
            self.world.check_in_sync(self.model.parameters())
            if self.world.is_root:  # the only writer and printer of a several-rank run
                self.last_checkpoint = self.save(result, val)
            if not cfg["quiet"] and self.world.is_root:
                tqdm.write(self._epoch_line(result))  # above any progress bars
        return result if result is not None else (self.history[-1] if self.history else None)

    def headline(self):
        """One line: the model's main figure against its same-run baseline."""
        return f"{self.model_name}: {self.task.headline(self.history[-1])}"

    def _epoch_line(self, result):
        parts = [f"{self.model_name} epoch {self.epochs_completed}/{self.config['num_epochs']}"]
        for split in ("train", "val"):
            shown = {k: v for k, v in result[split].items() if isinstance(v, float)}
            parts.append(split + " " + " ".join(f"{k}={v:.4g}" for k, v in shown.items()))
        return " | ".join(parts)

    # ----- checkpoints -------------------------------------------------------------------------
    def state_tensors(self):
        rng = {"trainer": generator_state_array(self.rng)}
        for name, gen in module_generators(self.model):
            rng[f"module.{name}"] = generator_state_array(gen)
        return pack_state(self.model.state_dict(), self.optimizer.state_arrays(), rng)

    def save(self, result, evaluation):
        """Write this epoch's checkpoint: the metadata (``checkpoint_metadata``) and tensors."""
        saved_config = {k: v for k, v in self.config.items() if k not in ("out_dir", "quiet")}
        meta = checkpoint_metadata(
            self.model_name, epoch=self.epochs_completed - 1, step=self.step,
            config=saved_config, metrics={**result, **evaluation.groups},
            top_level=evaluation.top_level, learning_rate=self.scheduler.get_last_lr()[0],
            seed=self.config["seed"], environment=environment_info(),
            dataset=self.task.dataset_info())
        return save_checkpoint(self.checkpoint_dir, meta, self.state_tensors(),
                               compress=self.config["compress"])

    def load_state(self, meta, model_state, optim_state, rng_state):
        """Restore everything a checkpoint saved (the inverse of ``state_tensors``)."""
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_arrays(optim_state)
        restore_generator_state(self.rng, rng_state["trainer"])
        for name, gen in module_generators(self.model):
            restore_generator_state(gen, rng_state[f"module.{name}"])
        self.step = int(meta["step"])
        self.epochs_completed = int(meta["epoch"]) + 1
        self.scheduler.load_state_dict({**self.scheduler.state_dict(), "last_step": self.step})
