"""Keeping the N copies of the model identical: the same start, then a check once per epoch.

Every rank builds the model from the same seed, so the copies should start equal; broadcasting
rank 0's weights (and buffers) makes it certain, whatever each rank's environment. After that,
every rank applies the same all-reduced gradient with the same optimizer, so the copies stay
equal bit for bit: MPI's Allreduce hands every rank the same sum. ``check_in_sync`` proves it
once per epoch from a fingerprint of the parameters (Σ p and Σ p² in float64, a few bytes per
rank), and stops the run with a clear error instead of letting ranks drift apart silently.
"""

import numpy as np


def broadcast_module(world, module):
    """Overwrite ``module``'s parameters and buffers with rank 0's (one Bcast per array, once
    per run)."""
    state = module.state_dict()
    for array in state.values():
        world.comm.Bcast(array, root=0)
    module.load_state_dict(state)


def fingerprint(params):
    """(Σ p, Σ p²) over every element of ``params``, in float64."""
    total = squares = 0.0
    for p in params:
        values = np.asarray(p.data, dtype=np.float64)
        total += float(values.sum())
        squares += float(np.square(values).sum())
    return total, squares


def check_in_sync(world, params, what="model"):
    """Raise RuntimeError if the ranks' copies of ``params`` differ."""
    prints = world.comm.allgather(fingerprint(params))
    if any(p != prints[0] for p in prints):
        raise RuntimeError(f"the ranks' copies of the {what} have drifted apart "
                           f"(fingerprints per rank: {prints}); stopping rather than writing a "
                           f"checkpoint that only rank 0 agrees with")
