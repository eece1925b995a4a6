"""One rank fails, every rank stops: no hang in a collective.

If rank 1 raises while rank 0 waits in an Allreduce, rank 0 would wait forever (an MPI
collective has no timeout). So an error that leaves the command on any rank is printed with
the rank's number and then ends the whole job with ``MPI_Abort``: the launcher kills every
rank within seconds and exits non-zero. Checkpoints are written atomically by rank 0 alone, so
the last complete one stays valid whichever rank failed and whenever.

A rank that dies without raising (killed, out of memory) is the launcher's to notice: mpiexec
ends the others when one exits abnormally.
"""

import sys
import traceback
from contextlib import contextmanager


@contextmanager
def stop_all_on_error(world, what="neural-arch"):
    """Run the body; on an exception in a world of several ranks, print it and abort them all.

    In one process this changes nothing: the exception goes on to the caller."""
    try:
        yield
    except BaseException as err:
        if world.size == 1 or (isinstance(err, SystemExit) and err.code in (0, None)):
            raise
        print(f"{what} (rank {world.rank} of {world.size}): error: "
              f"{type(err).__name__}: {err}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        print(f"{what} (rank {world.rank} of {world.size}): stopping every rank "
              f"(MPI_Abort)", file=sys.stderr, flush=True)
        sys.stdout.flush()
        world.abort(1)
