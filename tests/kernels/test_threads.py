"""neural_arch.set_num_threads sets BLAS and Numba together, and refuses bad counts."""

import numba
import pytest
import threadpoolctl

import neural_arch
from neural_arch.kernels.threads import get_num_threads, set_num_threads


def blas_counts():
    return {p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"}


def test_sets_blas_and_numba_and_restores():
    before = get_num_threads(), numba.get_num_threads()
    try:
        for n in (1, 2):
            neural_arch.set_num_threads(n)
            assert blas_counts() == {n} and get_num_threads() == n
            assert numba.get_num_threads() == min(n, numba.config.NUMBA_NUM_THREADS)
    finally:
        set_num_threads(before[0])
        numba.set_num_threads(before[1])


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_bad_counts_name_the_argument(bad):
    with pytest.raises(ValueError, match="set_num_threads: n must be an int >= 1"):
        set_num_threads(bad)


def test_blas_threads_is_the_count_threadpoolctl_reports():
    from neural_arch.kernels._jit import blas_threads
    before = get_num_threads()
    try:
        for n in (1, 2):
            set_num_threads(n)
            assert blas_threads() == max(blas_counts()) == n
    finally:
        set_num_threads(before)


@pytest.mark.parametrize("shape, one_thread", [((2, 2, 64, 16), True), ((1, 1, 160, 8), False)])
def test_dense_attention_keeps_small_heads_on_one_blas_thread(monkeypatch, shape, one_thread):
    """Inside the dense kernel BLAS runs on one thread when the per-head score block is at most
    128 x 128 (its products are too small to split), on the caller's count otherwise; either
    way the caller's count is back afterwards and the result equals the one-thread result."""
    import numpy as np

    from neural_arch.kernels import attention_dense
    from neural_arch.kernels._jit import blas_threads
    rng = np.random.default_rng(0)
    q, k, v, dout = (rng.standard_normal(shape).astype(np.float32) for _ in range(4))
    seen = []
    softmax = attention_dense._softmax_rows

    def recording_softmax(*args):
        seen.append(blas_threads())
        return softmax(*args)

    before = get_num_threads()
    try:
        set_num_threads(1)
        out_1, cache_1 = attention_dense.attention_forward_dense(q, k, v, causal=True)
        grads_1 = attention_dense.attention_backward_dense(dout, cache_1)
        set_num_threads(2)
        monkeypatch.setattr(attention_dense, "_softmax_rows", recording_softmax)
        out_2, cache_2 = attention_dense.attention_forward_dense(q, k, v, causal=True)
        grads_2 = attention_dense.attention_backward_dense(dout, cache_2)
        assert blas_threads() == 2
    finally:
        set_num_threads(before)
    assert seen and set(seen) == ({1} if one_thread else {2})
    np.testing.assert_allclose(out_2, out_1, rtol=1e-6, atol=1e-6)
    for g2, g1 in zip(grads_2, grads_1):
        np.testing.assert_allclose(g2, g1, rtol=1e-5, atol=1e-6)
