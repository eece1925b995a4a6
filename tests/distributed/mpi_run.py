"""``neural-arch`` as one rank of an MPI test run, with two test-only instruments.

    mpiexec -n 2 python tests/distributed/mpi_run.py train gpt2 --epochs 2 ...

* ``NA_TEST_FAIL=RANK:STEP`` makes rank RANK raise just before optimizer step STEP (counted
  from 0 over the whole run), as a bug or a bad batch on one machine would;
* ``NA_TEST_WRITERS=PATH`` appends the rank of every process that writes a checkpoint to PATH.
"""

import os
import sys

from neural_arch.cli import main
from neural_arch.distributed import current_world
from neural_arch.training import trainer as trainer_module


def fail_at(rank, step):
    original = trainer_module.ModelTrainer._train_step

    def failing_step(self, batch):
        if self.world.rank == rank and self.step == step:
            raise RuntimeError(f"injected failure on rank {rank} before step {step}")
        return original(self, batch)
    trainer_module.ModelTrainer._train_step = failing_step


def log_writers(path):
    original = trainer_module.save_checkpoint

    def logged_save(*args, **kwargs):
        with open(path, "a") as f:
            f.write(f"{current_world().rank}\n")
        return original(*args, **kwargs)
    trainer_module.save_checkpoint = logged_save


if __name__ == "__main__":
    if os.environ.get("NA_TEST_FAIL"):
        fail_at(*(int(x) for x in os.environ["NA_TEST_FAIL"].split(":")))
    if os.environ.get("NA_TEST_WRITERS"):
        log_writers(os.environ["NA_TEST_WRITERS"])
    sys.exit(main(sys.argv[1:]))
