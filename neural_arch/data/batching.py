"""Minibatches and train / val / test splits, shared by every dataset.

Everything here is plain NumPy and deterministic given the ``numpy.random.Generator`` passed in,
so a training run that seeds its generator replays the same batches.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np


def iterate_minibatches(arrays: Sequence[np.ndarray], batch_size: int, shuffle: bool = True,
                        rng: np.random.Generator | None = None) -> Iterator[tuple]:
    """Yield tuples of aligned slices ``(a[idx], b[idx], ...)`` covering every row once.

    Args:
        arrays: arrays that share their first dimension (inputs, targets, masks, ...).
        batch_size: rows per batch; the last batch keeps the remainder (it may be smaller).
        shuffle: visit rows in a random order drawn from ``rng``; otherwise in order.
        rng: the generator for the shuffle (required when ``shuffle`` is true, so that the
            order is always reproducible and never comes from hidden global state).
    """
    arrays = tuple(arrays)
    if not arrays:
        raise ValueError("iterate_minibatches needs at least one array")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    n = len(arrays[0])
    for k, a in enumerate(arrays):
        if len(a) != n:
            raise ValueError(f"arrays[{k}] has {len(a)} rows but arrays[0] has {n}")
    if shuffle:
        if rng is None:
            raise ValueError("shuffle=True needs an rng (numpy.random.Generator)")
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield tuple(a[idx] for a in arrays)


def split_each_class(labels, n_val, n_test, seed=0):
    """Indices (train, val, test): of each class, ``n_val`` rows validate, ``n_test`` test and
    the rest train. A count below 1 is a fraction of the class (0.1 = 10 %, rounded).

    Each class's rows are shuffled by one generator (classes in sorted order), so the split is
    fixed by ``seed``; each split comes back shuffled.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        k_val, k_test = (int(round(n * len(members))) if n < 1 else int(n)
                         for n in (n_val, n_test))
        if len(members) <= k_val + k_test:
            raise ValueError(f"class {c} has {len(members)} rows; need more than "
                             f"n_val + n_test = {k_val + k_test}")
        val.append(members[:k_val])
        test.append(members[k_val:k_val + k_test])
        train.append(members[k_val + k_test:])
    return [rng.permutation(np.concatenate(part)) for part in (train, val, test)]
