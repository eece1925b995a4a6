"""Where Numba keeps the compiled kernels, and one line on stderr when it compiles them.

Why a folder per environment. Numba's own cache (``@njit(cache=True)``) finds a compiled kernel
by the kernel's source file, its argument types and the CPU. Other things change the generated
code and Numba does not look at them: whether SciPy is installed (gelu.py and attention_flash.py
choose their code at import time with ``try: import scipy...``), the NumPy version (Numba's
typing of ``np.*`` calls), the fast-math flags in _jit.py, a jitted helper that lives in another
file (fast_exp.py), a ``NUMBA_OPT`` setting. A kernel compiled without SciPy would be served
after SciPy is installed. So every environment gets its own folder::

    <cache root>/numba/<fingerprint>/      cache root: $NEURAL_ARCH_CACHE or ~/.cache/neural_arch

and ``fingerprint(environment_facts())`` hashes all of the above (the list is in
``environment_facts``). The folder also lives outside the installed package, so a read-only
site-packages works (Numba's default is the ``__pycache__`` beside each kernel file). Deleting
``<cache root>/numba`` is always safe: the next run compiles again.

What is left out of the fingerprint, on purpose: ``NUMBA_NUM_THREADS`` and
``NUMBA_THREADING_LAYER``. Both are read when the first parallel kernel launches; compiled code
calls the thread pool through symbols (``numba_parallel_for``, ``do_scheduling_signed``) that
numba/np/ufunc/parallel.py ``_launch_threads`` binds at that moment, so one compiled kernel
serves every threading layer. Debug and dump switches (``NUMBA_DEBUG*``, ``NUMBA_DUMP_*``) print
but do not change the machine code.

A user who set ``NUMBA_CACHE_DIR`` (or ``cache_dir`` in ``.numba_config.yaml``) keeps it, with
Numba's own keys only. If the folder cannot be created or written, Numba's default is used.

How it works, checked in Numba 0.68's source. ``numba/core/decorators.py`` ``_jit`` calls
``Dispatcher.enable_caching()`` as soon as a function is decorated; that builds a
``caching.FunctionCache``, whose ``_CacheImpl.__init__`` asks each locator class in turn, and the
first, ``UserProvidedCacheLocator``, reads ``config.CACHE_DIR`` in ``from_function`` and
``__init__`` and keeps the path. Later changes to ``config.CACHE_DIR`` do not move it. So
``_jit.njit`` sets ``config.CACHE_DIR`` only while a kernel is being decorated
(``cache_dir_in_force``) and puts the old value back: the user's own Numba functions keep
their usual cache.

The message. ``numba/core/dispatcher.py`` ``Dispatcher.compile`` first tries
``self._cache.load_overload`` and returns on a hit; only on a miss does it enter
``event.trigger_event("numba:compile", data={"dispatcher": ..., ...})``. A listener on that
event prints ``neural_arch: compiling kernels (first run only, cached in <dir>)...`` once per
process, for dispatchers whose Python function is in neural_arch (Numba also compiles its own
helpers through that event, while compiling ours). ``NEURAL_ARCH_QUIET_COMPILE=1`` silences it.

The cache root repeats the rule of ``neural_arch.data.package_files.cache_dir`` (three lines)
instead of importing it: kernels is the bottom layer and may not import data
(tests/test_layering.py).

This module imports Numba only inside functions, so ``fingerprint`` works without Numba.
"""

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

CACHE_VARIABLE = "NEURAL_ARCH_CACHE"
QUIET_VARIABLE = "NEURAL_ARCH_QUIET_COMPILE"

# numba.config settings that change the machine code, read from numba.config (so the values
# from NUMBA_* variables and from .numba_config.yaml both count). CPU_NAME / CPU_FEATURES are
# read separately, in cpu_facts.
CODEGEN_SETTINGS = (
    "OPT", "LOOP_VECTORIZE", "SLP_VECTORIZE", "ENABLE_AVX", "DISABLE_INTEL_SVML", "USING_SVML",
    "BOUNDSCHECK", "DEBUGINFO_DEFAULT", "EXTEND_VARIABLE_LIFETIMES", "LLVM_REFPRUNE_PASS",
    "LLVM_REFPRUNE_FLAGS",
)

# The folder this process's kernels are cached in; None: Numba's default (or the user's
# NUMBA_CACHE_DIR). Set once by setup().
kernel_cache_dir = None
_announced = False


def cache_root():
    """The cache root: ``$NEURAL_ARCH_CACHE`` or ``~/.cache/neural_arch`` (as package_files)."""
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "neural_arch")


def fingerprint(facts):
    """16 hex digits naming one environment: a hash of ``facts`` (a dict of strings).

    A pure function of its argument, so the tests can vary one fact at a time.
    """
    text = json.dumps(facts, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def package_version(name):
    """Installed version of distribution ``name``, or "absent"."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def kernel_sources_hash():
    """sha256 of every .py file in this folder. Numba checks only the kernel's own file, but a
    kernel also bakes in what it imports from its neighbours (FASTMATH from _jit.py, the jitted
    ``exp_inplace`` of fast_exp.py); a change to any of them must not serve old code."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cpu_facts():
    """CPU name and features as Numba's code generator sees them (codegen.py
    ``_get_host_cpu_name`` / ``_get_host_cpu_features``): NUMBA_CPU_NAME / NUMBA_CPU_FEATURES
    when set, else the host's, with AVX masked off when ``config.ENABLE_AVX`` is false."""
    import llvmlite.binding as ll
    from numba.core import codegen, config

    name = config.CPU_NAME or ll.get_host_cpu_name()
    features = config.CPU_FEATURES
    if features is None:
        features = codegen.get_host_cpu_features()
    return {"cpu_name": name, "cpu_features": features}


def environment_facts():
    """Everything that changes the code Numba generates for our kernels, as strings."""
    import llvmlite
    import numba
    import numpy
    from numba.core import config

    facts = {
        "python": f"{platform.python_implementation()} {sys.version}",
        "platform": f"{sys.platform}-{platform.machine()}",
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "scipy": package_version("scipy"),
        "neural_arch": package_version("neural-arch"),
        "kernel_sources": kernel_sources_hash(),
        **cpu_facts(),
    }
    for name in CODEGEN_SETTINGS:
        facts[f"numba.config.{name}"] = str(getattr(config, name, None))
    return facts


def writable_dir(path):
    """Create ``path`` and check a file can be written in it (as Numba's
    ``_CacheLocator.ensure_cache_path`` does). Returns the path, or None when that fails."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return None
    return path


def choose_cache_dir():
    """The folder for this environment's kernels, or None to leave Numba's default alone:
    when the user chose a folder (NUMBA_CACHE_DIR) or ours cannot be made or written."""
    from numba.core import config

    if config.CACHE_DIR:
        return None
    try:
        path = cache_root().absolute() / "numba" / fingerprint(environment_facts())
    except (OSError, RuntimeError, KeyError):  # no home folder, unreadable source file
        return None
    return writable_dir(path)


@contextlib.contextmanager
def cache_dir_in_force():
    """Point ``numba.config.CACHE_DIR`` at the kernel folder for the body, then restore it.

    Used by ``_jit.njit`` around each decoration: that is when Numba reads the setting (see the
    module docstring), and restoring it leaves other Numba code in the process untouched.
    """
    from numba.core import config

    if kernel_cache_dir is None:
        yield
        return
    saved = config.CACHE_DIR
    config.CACHE_DIR = str(kernel_cache_dir)
    try:
        yield
    finally:
        config.CACHE_DIR = saved


def announce_compile(dispatcher):
    """Print the compiling message once per process, for neural_arch's own kernels."""
    global _announced
    if _announced or os.environ.get(QUIET_VARIABLE, "") not in ("", "0"):
        return
    module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
    if not module.startswith("neural_arch."):
        return
    _announced = True
    where = kernel_cache_dir or dispatcher.stats.cache_path
    print(f"neural_arch: compiling kernels (first run only, cached in {where})...",
          file=sys.stderr, flush=True)


def setup():
    """Choose the kernel folder and listen for compiles. Called once by _jit.py, after Numba
    imported and before any kernel is decorated."""
    global kernel_cache_dir
    from numba.core import event

    class CompileNotice(event.Listener):
        """Prints the message when a compile starts (a cache hit sends no event)."""

        def on_start(self, evt):
            announce_compile((evt.data or {}).get("dispatcher"))

        def on_end(self, evt):
            pass

    kernel_cache_dir = choose_cache_dir()
    event.register("numba:compile", CompileNotice())
    return kernel_cache_dir
