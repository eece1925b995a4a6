"""Summing the gradients of every rank: one flat float32 buffer, a few large Allreduce calls.

A model has dozens of parameter arrays, many of them small (biases, norms). One Allreduce per
array would pay the network's latency α dozens of times per step; one message for the whole
model pays it once. The time of a ring all-reduce of n bytes over N ranks is about

    T(n) = 2(N-1)·α + 2·(N-1)/N · n/β        (α latency per message, β bandwidth)

so a few large messages are as cheap as one, while a message per parameter multiplies the α
term. The buffer is cut into buckets of at most ``bucket_bytes`` (25 MiB, PyTorch DDP's
default): each Allreduce is large, and a very large model never needs a second full-size copy
of its gradients inside the MPI library. (Here the buckets are reduced after the backward pass;
DDP's further gain, starting a bucket while backward still computes the earlier layers, needs
hooks in the engine that neural_arch does not have.)

Per step:

    pack     flat[o_k : o_k + size_k] = w_r · grad_k      for every parameter k (zeros if None)
             flat[-1] = w_r · loss_r                       the global loss rides along free
    reduce   Allreduce(IN_PLACE, flat[bucket], SUM)       for each bucket
    unpack   grad_k = flat[o_k : o_k + size_k].reshape(shape_k)      (a view, no copy)

after which every rank holds ∇L = Σ_r w_r ∇L_r and L = Σ_r w_r L_r (see ``sharding.py``).
"""

import numpy as np

BUCKET_BYTES = 25 * 2**20


class FlatGradientAllreduce:
    """Sum-all-reduce of the gradients of ``params`` (those that require grad) over ``comm``."""

    def __init__(self, comm, mpi, params, bucket_bytes=BUCKET_BYTES):
        if bucket_bytes < 4:
            raise ValueError(f"bucket_bytes must be at least 4 (one float32); got "
                             f"{bucket_bytes}")
        self.comm, self.mpi = comm, mpi
        self.params = [p for p in params if p.requires_grad]
        self.offsets = np.cumsum([0] + [p.data.size for p in self.params])
        self.numel = int(self.offsets[-1])
        self.flat = np.zeros(self.numel + 1, dtype=np.float32)  # + 1: the weighted loss
        per_bucket = bucket_bytes // self.flat.itemsize
        self.buckets = [slice(lo, min(lo + per_bucket, self.flat.size))
                        for lo in range(0, self.flat.size, per_bucket)]
        self.seconds = 0.0  # time spent in Allreduce, for the benchmark

    @property
    def bytes_per_step(self):
        """Bytes each rank hands to Allreduce per step (the n of the α-β model)."""
        return self.flat.nbytes

    def __call__(self, weight, loss_value):
        """Replace every gradient by the weighted sum over ranks; return the global loss."""
        flat = self.flat
        for p, lo, hi in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            if p.grad is None:
                flat[lo:hi] = 0.0  # a rank with no rows this step contributes nothing
            else:
                np.multiply(p.grad.reshape(-1), weight, out=flat[lo:hi], casting="same_kind")
        flat[-1] = weight * loss_value
        start = self.mpi.Wtime()
        for bucket in self.buckets:
            self.comm.Allreduce(self.mpi.IN_PLACE, flat[bucket], op=self.mpi.SUM)
        self.seconds += self.mpi.Wtime() - start
        for p, lo, hi in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            p.grad = flat[lo:hi].reshape(p.data.shape)
        return float(flat[-1])
