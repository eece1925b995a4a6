"""Safe access to Numba for the kernel modules.

Every kernel module does ``from neural_arch.kernels._jit import njit, prange``. When Numba is
installed these are Numba's own (``njit`` with one addition, below); when it is not, ``njit`` is
a decorator that returns the plain Python function and ``prange`` is ``range``. So
``import neural_arch.kernels`` never fails, the ``*_numba`` functions still run (slowly, as pure
Python), and the registry in ``__init__`` falls back to the NumPy backend and says so once.

With Numba, ``njit`` is ``numba.njit`` with one addition: while a kernel is decorated, Numba's
cache folder is the one compile_cache.py chose for this environment (Python, NumPy, Numba,
SciPy present or not, CPU, ...), so a kernel compiled elsewhere is never served, and the first
compile says so on stderr.
"""

import os

# Numba's OpenMP threads spin while waiting for work by default, and the spinning threads then
# compete with OpenBLAS's own threads: measured by the benchmarks on this 2-core machine, a 5 ms
# training step took 1100 ms at two threads, 9 ms with passive waiting. Read by OpenMP when it
# starts (after this line); a value the user already set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import numba
    from numba import prange  # noqa: F401

    NUMBA_AVAILABLE = True
    NUMBA_IMPORT_ERROR = None
except Exception as err:  # ImportError, or a broken llvmlite install
    NUMBA_AVAILABLE = False
    NUMBA_IMPORT_ERROR = err
    prange = range

    def njit(*args, **kwargs):
        """Stand-in for ``numba.njit``: used as ``@njit`` or ``@njit(...)``, returns f unchanged."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f

if NUMBA_AVAILABLE:
    from neural_arch.kernels import compile_cache

    compile_cache.setup()  # before the first kernel is decorated

    def njit(*args, **kwargs):
        """``numba.njit``, decorating with the kernel cache folder in force (compile_cache.py).

        Numba reads its cache folder when a function is decorated, so that is the moment to set
        it: at once for ``njit(f, ...)``, else when the returned decorator is applied.
        """
        # Division by zero gives inf/NaN as in NumPy instead of raising ZeroDivisionError: the
        # per-element zero check stops LLVM from vectorising a loop that divides (measured:
        # x / (1 + x) over 131k float32 took 0.19 ms checked, 0.021 ms unchecked).
        kwargs.setdefault("error_model", "numpy")
        if len(args) == 1 and callable(args[0]):
            with compile_cache.cache_dir_in_force():
                return numba.njit(*args, **kwargs)
        numba_decorator = numba.njit(*args, **kwargs)

        def decorate(func):
            with compile_cache.cache_dir_in_force():
                return numba_decorator(func)
        return decorate


_blas_controller = None
_blas_libraries = None      # the controller's BLAS libraries, for blas_threads()


def _controller():
    """The process's threadpoolctl controller, made on first use (it scans the loaded libraries
    once; every later call reuses it)."""
    global _blas_controller
    import threadpoolctl
    if _blas_controller is None:
        try:  # the BLAS Numba calls into is SciPy's; load it so the controller can see it
            import scipy.linalg.cython_blas  # noqa: F401
        except ImportError:
            pass
        _blas_controller = threadpoolctl.ThreadpoolController()
    return _blas_controller


def blas_threads():
    """How many threads NumPy's BLAS uses now (the largest if several are loaded); a fraction
    of a microsecond, where threadpoolctl.threadpool_info() rescans the libraries each call."""
    global _blas_libraries
    if _blas_libraries is None:
        _blas_libraries = _controller().select(user_api="blas").lib_controllers
    return max((lib.num_threads for lib in _blas_libraries), default=1)


def single_threaded_blas():
    """Context manager that keeps BLAS on one thread: while a parallel Numba kernel runs, and
    around the dense attention's small per-head products (``attention_dense._blas_for``).

    Kernels that call np.dot inside a prange loop already run one tile per thread; if BLAS also
    spawned threads for each tile, the two thread pools would fight (measured: 100x slower with
    OpenBLAS).
    """
    return _controller().limit(limits=1, user_api="blas")


# Fast-math flags for the row-wise kernels: let LLVM reorder float additions ("reassoc") so sum
# reductions become SIMD, and fuse multiply-adds ("contract"). Infinities and NaNs keep their
# meaning (no "nnan"/"ninf"), which the masking code relies on. The equivalence tests against the
# NumPy references pass at the same tolerances with these flags.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
