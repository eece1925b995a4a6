"""What the trainer does differently when ``mpiexec -n N`` started it (N > 1).

At the start (``setup_data_parallel``): the task must be one whose loss is a mean over rows
(``Task.shardable``), rank 0's initial weights go to every rank, evaluation batches are sharded
too (``Task.world``), and one flat gradient buffer is laid out (``distributed/allreduce.py``).

One step (``parallel_train_step``), beside the one-process step in ``ModelTrainer._train_step``:

    local, w_r = rows [r·B/N, (r+1)·B/N) of the global batch,  w_r = n_r / B
    loss_r     = task.train_loss(model, local); backward          (skipped when n_r = 0)
    ∇L, L      = Σ_r w_r ∇L_r,  Σ_r w_r L_r                        one bucketed Allreduce
    finite?    the global loss, so that every rank stops on the same step
    clip, AdamW step, schedule                                     identical on every rank

The clipping sees the global gradient, as in one process. Each rank keeps the metric totals of
its own rows (``batch_stats`` of its shard); the trainer gathers them once per epoch.

Not decomposed, and so said where it applies: BatchNorm normalizes each rank's n_r rows by their
own statistics (as PyTorch's DistributedDataParallel without SyncBatchNorm; the running
averages saved are rank 0's), and dropout draws each rank's masks from its own copy of the
generator, so runs with dropout agree with a one-process run in distribution, not to the bit.
"""

from neural_arch.distributed import shard_batch
from neural_arch.distributed.allreduce import FlatGradientAllreduce
from neural_arch.distributed.replicas import broadcast_module
from neural_arch.optim import clip_grad_norm_, params_without_grad


def setup_data_parallel(trainer):
    """Prepare ``trainer`` (a ModelTrainer whose ``world`` has several ranks)."""
    world, task = trainer.world, trainer.task
    if not task.shardable:
        raise ValueError(f"{trainer.model_name}: its loss couples every example of the batch "
                         f"(InfoNCE over all pairs), so splitting the batch over ranks would "
                         f"change what it learns; train it in one process (without mpiexec)")
    broadcast_module(world, trainer.model)
    task.world = world
    trainer.allreduce = FlatGradientAllreduce(world.comm, world.mpi, trainer.model.parameters())
    batch_norms = [name for name, m in trainer.model.named_modules()
                   if type(m).__name__.startswith("BatchNorm")]
    if batch_norms and world.is_root and not trainer.config["quiet"]:
        print(f"{trainer.model_name}: BatchNorm uses each rank's own rows "
              f"({len(batch_norms)} layers); results differ slightly from one process",
              flush=True)


def parallel_train_step(trainer, batch):
    """One optimizer step on the global ``batch``; returns (global loss, this rank's stats),
    the stats None when this rank holds no rows of the batch."""
    world, model = trainer.world, trainer.model
    local, weight = shard_batch(batch, world.rank, world.size)
    trainer.optimizer.zero_grad()
    local_value, outputs = 0.0, None
    if weight > 0:
        loss, outputs = trainer.task.train_loss(model, local)
        local_value = loss.item()
        loss.backward()
        if trainer.step == 0:
            missing = params_without_grad(model.named_parameters())
            if missing:
                raise RuntimeError(f"{trainer.model_name}: these parameters received no "
                                   f"gradient from the loss (the graph is cut): {missing}")
    value = trainer.allreduce(weight, local_value)
    trainer.check_finite(value)  # the global loss: every rank stops at the same step
    clip_grad_norm_(model.parameters(), trainer.config["grad_clip"])
    trainer.optimizer.step()
    trainer.scheduler.step()
    trainer.step += 1
    stats = trainer.task.batch_stats(local_value, outputs, local) if weight > 0 else None
    return value, stats
