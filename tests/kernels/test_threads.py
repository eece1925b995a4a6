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
