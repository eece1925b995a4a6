"""neural_arch.blas_choice: OpenBLAS's Haswell kernels on Zen 4, set before NumPy loads, never
over a user's own OPENBLAS_CORETYPE."""

import os
import subprocess
import sys

import pytest

from neural_arch import blas_choice

ZEN4 = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
        "flags\t\t: fpu sse2 avx2 fma avx512f avx512bw\n\nprocessor\t: 1\n"
        "vendor_id\t: GenuineIntel\n")


def _cpu(vendor, family, flags):
    return {"vendor": vendor, "family": family, "flags": set(flags.split())}


def test_cpu_fields_reads_the_first_processor():
    assert blas_choice.cpu_fields(ZEN4) == _cpu("AuthenticAMD", 25, "fpu sse2 avx2 fma avx512f "
                                                                    "avx512bw")


@pytest.mark.parametrize("cpu, expected", [
    (_cpu("AuthenticAMD", 25, "avx2 avx512f"), "Haswell"),    # Zen 4
    (_cpu("AuthenticAMD", 25, "avx2"), None),                 # Zen 3: OpenBLAS picks Zen itself
    (_cpu("AuthenticAMD", 26, "avx2 avx512f"), None),         # Zen 5: full-width AVX-512
    (_cpu("GenuineIntel", 6, "avx2 avx512f"), None),
    (_cpu("", None, ""), None),
])
def test_preferred_core_type(cpu, expected):
    assert blas_choice.preferred_core_type(cpu) == expected


def test_sets_the_variable_only_when_nobody_has(tmp_path, monkeypatch):
    path = tmp_path / "cpuinfo"
    path.write_text(ZEN4)
    monkeypatch.delitem(sys.modules, "numpy")            # as if NumPy were not loaded yet
    environ = {}
    assert blas_choice.prefer_fastest_openblas_kernels(environ, str(path)) == "Haswell"
    assert environ == {"OPENBLAS_CORETYPE": "Haswell"}
    mine = {"OPENBLAS_CORETYPE": "SkylakeX"}
    assert blas_choice.prefer_fastest_openblas_kernels(mine, str(path)) is None
    assert mine == {"OPENBLAS_CORETYPE": "SkylakeX"}
    assert blas_choice.prefer_fastest_openblas_kernels({}, str(tmp_path / "absent")) is None


def test_too_late_once_numpy_is_loaded(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(ZEN4)
    import numpy  # noqa: F401  (loaded here; the choice would come too late)
    environ = {}
    assert blas_choice.prefer_fastest_openblas_kernels(environ, str(path)) is None
    assert environ == {}


def _blas_in_fresh_process(code, env_value):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    if env_value is not None:
        env["OPENBLAS_CORETYPE"] = env_value
    code += ("; import threadpoolctl; print(sorted(p.get('architecture') for p in "
             "threadpoolctl.threadpool_info() if p['internal_api'] == 'openblas'))")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_neural_arch_first_picks_the_kernels_in_a_real_process():
    """On this machine: neural_arch then NumPy loads the kernels blas_choice asks for, NumPy
    alone loads OpenBLAS's own pick; a user's OPENBLAS_CORETYPE is obeyed either way."""
    try:
        with open(blas_choice.CPUINFO) as f:
            wanted = blas_choice.preferred_core_type(blas_choice.cpu_fields(f.read()))
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    own_pick = _blas_in_fresh_process("import numpy", None)
    if own_pick == "[]":
        pytest.skip("NumPy's BLAS is not OpenBLAS here")
    ours = _blas_in_fresh_process("import neural_arch, numpy", None)
    assert ours == (f"[{wanted!r}]" if wanted else own_pick)
    users = _blas_in_fresh_process("import numpy", "Sandybridge")
    assert _blas_in_fresh_process("import neural_arch, numpy", "Sandybridge") == users
