"""Which of OpenBLAS's kernels NumPy's matrix products run on, chosen before NumPy loads them.

OpenBLAS (the BLAS inside the NumPy wheels) picks its kernels for the CPU once, when the library
loads, and reads the environment variable ``OPENBLAS_CORETYPE`` to override the pick. On AMD's
Zen 4 (CPU family 0x19 with AVX-512) it picks the SkylakeX kernels, written for Intel cores that
run a 512-bit instruction at full width; Zen 4 splits each one into two 256-bit halves, and
OpenBLAS's Haswell (AVX2) kernels are faster there. Measured on the benchmark machine, one
thread, float32 (``benchmarks/README.md``): a 1024^3 product 98 -> 105 GFLOP/s, GPT-2 *seed*'s
products 4-10 % faster, its training step 15.4 -> 14.7 ms.

So on Zen 4, ``prefer_fastest_openblas_kernels()`` (called by ``import neural_arch``, which
imports nothing else) sets ``OPENBLAS_CORETYPE=Haswell`` unless it is already set: a user's own
choice always wins, and ``OPENBLAS_CORETYPE=SkylakeX`` restores OpenBLAS's pick. The variable only
works if NumPy has not been loaded yet, so import neural_arch before NumPy (the command line,
the trainer and the benchmark workers do). Child processes inherit it.

No NumPy here: this module must run before NumPy exists in the process.
"""

import os
import sys

ENV_VAR = "OPENBLAS_CORETYPE"
CPUINFO = "/proc/cpuinfo"


def cpu_fields(text):
    """The vendor, family and flags of the first processor in /proc/cpuinfo's text."""
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            break                                    # the end of the first processor's block
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    family = fields.get("cpu family", "")
    return {"vendor": fields.get("vendor_id", ""),
            "family": int(family) if family.isdigit() else None,
            "flags": set(fields.get("flags", "").split())}


def preferred_core_type(cpu):
    """The OpenBLAS core type to ask for on this CPU, or None to keep OpenBLAS's own pick."""
    if cpu["vendor"] == "AuthenticAMD" and cpu["family"] == 0x19 and "avx512f" in cpu["flags"]:
        return "Haswell"                             # Zen 4: see the module docstring
    return None


def prefer_fastest_openblas_kernels(environ=os.environ, cpuinfo_path=CPUINFO):
    """Set OPENBLAS_CORETYPE for this CPU if nobody has and NumPy is not loaded yet.

    Returns the value it set, or None when it changed nothing.
    """
    if ENV_VAR in environ or "numpy" in sys.modules:
        return None
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as f:
            cpu = cpu_fields(f.read())
    except OSError:                                  # not Linux: nothing to read, nothing to do
        return None
    core_type = preferred_core_type(cpu)
    if core_type is not None:
        environ[ENV_VAR] = core_type
    return core_type
