"""Data-parallel training over MPI: ``mpiexec -n N neural-arch train MODEL``.

Every rank holds a full copy of the model and draws the same global batch; rank r trains on
its block of rows, the gradients are summed over the ranks (weighted by rows), and every rank
takes the same optimizer step, so the copies stay identical and the run equals a one-process
run with the same global batch, up to float32 summation order. Rank 0 alone prints, draws
progress bars and writes checkpoints.

    world.py       which ranks exist (from the launcher's variables; mpi4py only if N > 1)
    sharding.py    which rows a rank keeps, and the weight n_r / B of its gradient
    allreduce.py   one flat float32 gradient buffer, summed in a few large Allreduce calls
    replicas.py    rank 0's initial weights for everyone; an in-sync check per epoch
    failure.py     an error on one rank aborts them all (no hang in a collective)

Without a launcher, or with one rank, ``current_world()`` is a ``SingleProcess`` whose methods
do nothing, and mpi4py is never imported.
"""

from neural_arch.distributed.failure import stop_all_on_error
from neural_arch.distributed.sharding import shard_batch, shard_bounds
from neural_arch.distributed.world import MPIWorld, SingleProcess, current_world

__all__ = ["MPIWorld", "SingleProcess", "current_world", "shard_batch", "shard_bounds",
           "stop_all_on_error"]
