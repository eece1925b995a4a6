"""benchmarks/kernels.py: merging the rows of an engine's two passes (the faster median wins)."""

from benchmarks.kernels import _merge_row


def test_times_keep_the_faster_pass_and_validity_needs_both():
    into = {"valid": True, "flops": 10, "numba_s": 2.0}
    _merge_row(into, {"numpy_s": 5.0})                       # another engine's first pass
    _merge_row(into, {"valid": False, "flops": 10, "numba_s": 3.0})   # numba's second pass
    _merge_row(into, {"numpy_s": 4.0})                       # numpy's second pass
    assert into == {"valid": False, "flops": 10, "numba_s": 2.0, "numpy_s": 4.0}
