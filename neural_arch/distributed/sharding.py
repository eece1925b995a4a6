"""Which rows of a global batch each rank trains on, and what its gradient weighs.

``batch_size`` stays the *global* batch: every rank draws the same global batch B from the same
generator (the data order of a one-process run), then keeps a contiguous block of its rows:

    rank r of N keeps rows [floor(r·B/N), floor((r+1)·B/N))

so the blocks tile the batch, and their sizes n_r differ by at most one when N does not divide
B (B = 10, N = 4: 2, 3, 2, 3 rows). With B < N some ranks hold no rows for that step.

The weight. Each rank's loss is a mean over its own rows, L_r = (1/n_r) Σ_{i∈r} ℓ_i, while a
one-process run takes the mean over the whole batch, L = (1/B) Σ_i ℓ_i. Hence

    L = Σ_r (n_r / B) · L_r        and        ∇L = Σ_r (n_r / B) · ∇L_r,

so each rank scales its gradient by w_r = n_r / B before the sum-all-reduce; a plain average
(1/N) Σ_r ∇L_r is right only when every n_r is equal. This holds for every loss that is a mean
of per-row terms with the same number of terms per row (our cross-entropies over rows, or over
rows x positions when every row has the same length). A loss that couples the rows of a batch
(CLIP's InfoNCE over all pairs) or layers that do (BatchNorm's batch statistics) are not
decomposed by any weighting; see ``training/data_parallel.py`` for what the trainer does then.
"""


def shard_bounds(rows, rank, size):
    """[lo, hi) of the contiguous block of ``rows`` that ``rank`` of ``size`` keeps."""
    return rank * rows // size, (rank + 1) * rows // size


def shard_batch(batch, rank, size):
    """(``rank``'s rows of every array of the tuple ``batch``, weight n_r / B).

    The arrays are views (no copy); all of them share the leading batch axis."""
    rows = len(batch[0])
    lo, hi = shard_bounds(rows, rank, size)
    return tuple(a[lo:hi] for a in batch), (hi - lo) / rows
