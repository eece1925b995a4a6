"""The machine: what it is, how fast its sgemm is, and whether it is quiet enough to time.

The sgemm rate (np.matmul of two 1024 × 1024 float32 matrices through NumPy's BLAS, best of
several) is the yardstick for "% of sgemm" in the table. Quietness is judged twice, before and
after the run: the 1-minute load average (a quiet 2-core machine sits near 0 before we start)
and the single-thread sgemm rate, which drops when other processes share the cores.
"""

import os
import platform
import time

import numpy as np

LOAD_LIMIT = 0.5          # 1-minute load average above this before the run: not quiet
SGEMM_DRIFT_LIMIT = 0.10  # single-thread sgemm changing by more than 10% during the run


def sgemm_gflops(threads, n=1024, repeats=7):
    """Best-of-``repeats`` GFLOP/s of an n³ float32 matmul with the BLAS set to ``threads``
    (at the BLAS's own thread count when threadpoolctl is missing; see worker.py)."""
    import contextlib
    try:
        import threadpoolctl
        limit = threadpoolctl.threadpool_limits(limits=threads, user_api="blas")
    except ImportError:
        limit = contextlib.nullcontext()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    with limit:
        a @ b  # warm-up: thread pool start, page faults
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    return 2.0 * n ** 3 / best / 1e9


def cpu_model():
    """The CPU's model name (shared with the checkpoints' environment record)."""
    from neural_arch.training.config import cpu_name
    return cpu_name()


def installed_packages():
    """Every distribution in this environment as "name==version", sorted: the proof of what the
    virtual environment held (an extra package, SciPy say, can change the speed several-fold)."""
    from importlib import metadata
    return sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()},
                  key=str.lower)


def blas_kernels():
    """The kernels NumPy's BLAS runs on (threadpoolctl's "architecture", e.g. "Haswell") and the
    OPENBLAS_CORETYPE that chose them, if any (see neural_arch/blas_choice.py)."""
    import threadpoolctl
    names = sorted({f"{pool['internal_api']} {pool.get('architecture')}"
                    for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"})
    return {"numpy_blas": names, "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def describe(torch_version):
    """Static facts about the machine and the libraries, for the JSON and the README."""
    import numba
    return {"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "torch": torch_version,
            "blas_kernels": blas_kernels(), "packages": installed_packages()}


def quietness(threads_for_calibration=1):
    """One snapshot: load average and single-thread sgemm rate."""
    return {"loadavg_1min": os.getloadavg()[0],
            "sgemm_1thread_gflops": sgemm_gflops(threads_for_calibration, repeats=5)}


def noise_warnings(before, after):
    """Plain-language warnings when the machine was not quiet; an empty list when it was."""
    warnings = []
    if before["loadavg_1min"] > LOAD_LIMIT:
        warnings.append(f"load average was {before['loadavg_1min']:.2f} before the run "
                        f"(quiet: < {LOAD_LIMIT}); other processes share the cores")
    a, b = before["sgemm_1thread_gflops"], after["sgemm_1thread_gflops"]
    drift = abs(a - b) / max(a, b)
    if drift > SGEMM_DRIFT_LIMIT:
        warnings.append(f"single-thread sgemm moved from {a:.1f} to {b:.1f} GFLOP/s during "
                        f"the run ({100 * drift:.0f}%)")
    if warnings:
        warnings.append("timings are distorted, 2-thread ones most; the CPU-time columns "
                        "(process_time per step) are the steadier measure")
    return warnings
