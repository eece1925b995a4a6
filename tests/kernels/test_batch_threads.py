"""batch_threads: the parts tile the (batch, heads) grid, and run gives fn of every part."""

import numpy as np
import pytest

from neural_arch.kernels import batch_threads


@pytest.mark.parametrize("batch, heads, n", [(8, 6, 2), (7, 4, 3), (1, 6, 2), (1, 2, 4), (2, 1, 2)])
def test_split_tiles_every_batch_and_head_once(batch, heads, n):
    parts = batch_threads.split(batch, heads, n)
    covered = np.zeros((batch, heads), dtype=int)
    for part in parts:
        covered[part] += 1
    assert (covered == 1).all()
    assert len(parts) == (n if batch >= n else min(n, heads))
    lengths = [len(range(*part[0 if batch >= n else 1].indices(max(batch, heads))))
               for part in parts]
    assert max(lengths) - min(lengths) <= 1              # nearly equal parts


def test_run_returns_every_result_in_order_from_other_threads():
    import threading
    parts = batch_threads.split(9, 1, 3)
    results = batch_threads.run(lambda part: (part, threading.get_ident()), parts)
    assert [part for part, _ in results] == parts
    assert batch_threads.run(lambda part: part, parts[:1]) == parts[:1]   # one part: here


@pytest.mark.parametrize("size, n", [(1000, 2), (1000, 3), (16, 2), (5, 2), (0, 2), (4096, 4)])
def test_ranges_tile_the_range_on_line_boundaries(size, n):
    parts = batch_threads.ranges(size, n)
    covered = np.zeros(size, dtype=int)
    for part in parts:
        covered[part] += 1
        assert part.start % 16 == 0 and part.stop > part.start
    assert (covered == 1).all() and len(parts) <= n
    if size >= 16 * n:
        lengths = [part.stop - part.start for part in parts]
        assert len(parts) == n and max(lengths) - min(lengths) < 2 * 16 + 1


@pytest.mark.parametrize("failing", [0, 1])
def test_a_failing_part_waits_for_the_others_and_restores_blas(failing):
    """Whichever part raises (the calling thread's or a pool thread's), every other part has
    finished before run returns, and all of them ran with BLAS on one thread; the thread count
    is restored afterwards."""
    import time
    from neural_arch.kernels._jit import blas_threads
    from neural_arch.kernels.threads import set_num_threads
    finished, blas_seen = [], []

    def fn(part):
        blas_seen.append(blas_threads())
        if part == failing:
            raise ValueError(f"part {part} fails")
        time.sleep(0.2 if part == 2 else 0.01)     # the last part outlasts the failure
        finished.append(part)
    before = blas_threads()
    set_num_threads(2)
    try:
        with pytest.raises(ValueError, match=f"part {failing} fails"):
            batch_threads.run(fn, [0, 1, 2])
        assert blas_threads() == 2
    finally:
        set_num_threads(before)
    assert sorted(finished) == sorted({0, 1, 2} - {failing})
    assert blas_seen == [1, 1, 1]


def test_a_new_thread_count_retires_the_old_pool():
    batch_threads.run(lambda part: part, [0, 1, 2])
    old = batch_threads._pool
    batch_threads.run(lambda part: part, [0, 1])
    assert batch_threads._pool is not old
    with pytest.raises(RuntimeError):          # shut down: takes no more work
        old.submit(lambda: None)
