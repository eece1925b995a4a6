"""Which processes train together: the world of one run, detected without importing MPI.

``mpiexec -n N neural-arch train ...`` starts N copies of the same command. Each copy finds its
rank r in 0..N-1 and the world size N from the variables its launcher sets, so a plain
``neural-arch train`` (no launcher) never imports ``mpi4py``:

    launcher                  size variable             rank variable
    MPICH / Intel MPI (Hydra) PMI_SIZE                  PMI_RANK
    Open MPI (mpirun, prterun) OMPI_COMM_WORLD_SIZE     OMPI_COMM_WORLD_RANK
    MVAPICH                   MV2_COMM_WORLD_SIZE       MV2_COMM_WORLD_RANK
    PMIx alone (srun --mpi=pmix) (none)                 PMIX_RANK

A size above 1 (or a PMIx rank with no size) imports ``mpi4py``, and from then on its
``COMM_WORLD`` is the truth. ``current_world()`` returns ``SingleProcess`` or ``MPIWorld``; both
offer the same methods, so the trainer calls them without asking which one it has.
"""

import os
from functools import cache

SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")


def launcher_world_size(environ=os.environ):
    """The world size the launcher announced: an int, None for a PMIx rank without a size, or
    1 when no launcher started this process."""
    for name in SIZE_VARIABLES:
        if environ.get(name, "").strip().isdigit():
            return int(environ[name])
    return None if "PMIX_RANK" in environ else 1


class SingleProcess:
    """The world of an ordinary run: one rank, and every collective is the identity."""

    rank, size, is_root = 0, 1, True

    def describe(self):
        return {"world_size": 1}

    def broadcast_config(self, config):
        return config

    def allgather_list(self, items):
        return [item for item in items if item is not None]

    def check_in_sync(self, params):
        pass

    def barrier(self):
        pass


class MPIWorld(SingleProcess):
    """N ranks of ``MPI.COMM_WORLD``; rank 0 is the root that prints and writes checkpoints."""

    def __init__(self, comm, mpi):
        self.comm, self.mpi = comm, mpi
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.is_root = self.rank == 0

    def describe(self):
        """What the checkpoint's ``environment`` records about the run's distribution."""
        library = self.mpi.Get_library_version().strip().splitlines()[0]
        return {"world_size": self.size, "mpi_library": " ".join(library.split()),
                "mpi_standard": "{}.{}".format(*self.mpi.Get_version()),
                "mpi4py": __import__("mpi4py").__version__}

    def broadcast_config(self, config):
        """Rank 0's config (seeds included) on every rank: the ranks must draw the same global
        batches, whatever each one's environment says."""
        return self.comm.bcast(config, root=0)

    def allgather_list(self, items):
        """Every rank's ``items`` concatenated in rank order, on every rank, less the Nones
        (the stats of a step where a rank held no rows).

        mpi4py's lower-case calls send Python objects between the ranks of this one job (in
        memory, serialized by mpi4py); nothing here reads a file."""
        parts = self.comm.allgather(list(items))
        return [item for part in parts for item in part if item is not None]

    def check_in_sync(self, params):
        """Raise RuntimeError unless every rank holds the same ``params`` (see replicas.py)."""
        from neural_arch.distributed.replicas import check_in_sync
        check_in_sync(self, params)

    def barrier(self):
        self.comm.Barrier()

    def abort(self, code=1):
        """End every rank of the job now (MPI_Abort): a collective may be waiting on us."""
        self.comm.Abort(code)


def connect_mpi():
    """MPI.COMM_WORLD through mpi4py, or a clear error if the extra is not installed."""
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise RuntimeError("this process was started by an MPI launcher with several ranks, "
                           "but mpi4py is not installed: pip install 'neural-arch[mpi]'"
                           ) from err
    return MPIWorld(MPI.COMM_WORLD, MPI)


@cache
def current_world():
    """This process's world, decided once: ``SingleProcess`` unless a launcher started several
    ranks (then ``MPIWorld``, and only then is mpi4py imported)."""
    size = launcher_world_size()
    if size == 1:
        return SingleProcess()
    world = connect_mpi()
    return world if world.size > 1 else SingleProcess()
