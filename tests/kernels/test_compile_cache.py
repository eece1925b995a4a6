"""The kernel cache folder (neural_arch/kernels/compile_cache.py): one folder per environment,
the user's NUMBA_CACHE_DIR kept, a note on stderr when (and only when) kernels compile, and no
crash when the folder cannot be written.

The subprocess tests each compile one small kernel (LayerNorm forward) into an empty cache.
"""

import importlib.util
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from neural_arch.data import package_files
from neural_arch.kernels import _jit, compile_cache

needs_numba = pytest.mark.skipif(not _jit.NUMBA_AVAILABLE, reason="Numba is not installed")

MESSAGE = "neural_arch: compiling kernels (first run only, cached in"

# Prints the numba cache settings, then runs LayerNorm forward and prints its largest error
# against the NumPy reference.
LAYER_NORM = """
import numpy as np, numba
import neural_arch.kernels as K
from neural_arch.kernels import compile_cache, layer_norm
print(numba.config.CACHE_DIR)
print(compile_cache.kernel_cache_dir)
print(layer_norm._layer_norm_fwd.stats.cache_path)
x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
w, b = np.ones(8, np.float32), np.zeros(8, np.float32)
out, _ = K.layer_norm_forward(x, w, b)
ref, _ = K.layer_norm_forward_reference(x, w, b)
print(float(np.abs(out - ref).max()))
"""


def run_layer_norm(cache_root, **env_vars):
    """Run LAYER_NORM in a fresh interpreter with $NEURAL_ARCH_CACHE = cache_root.
    Returns (stdout lines, stderr)."""
    env = dict(os.environ)
    for name in ("NUMBA_CACHE_DIR", compile_cache.QUIET_VARIABLE):
        env.pop(name, None)
    env.update({compile_cache.CACHE_VARIABLE: str(cache_root), "NEURAL_ARCH_KERNELS": "numba",
                **env_vars})
    done = subprocess.run([sys.executable, "-c", LAYER_NORM], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines(), done.stderr


# ---- the fingerprint: a pure function of the facts ------------------------------------------

FACTS = {"python": "CPython 3.11.7", "platform": "linux-x86_64", "numpy": "2.4.6",
         "numba": "0.68.1", "llvmlite": "0.50.0", "scipy": "absent", "neural_arch": "0.1.0",
         "kernel_sources": "ab12", "cpu_name": "znver3", "cpu_features": "+avx2,+fma",
         "numba.config.OPT": "_OptLevel(3)"}


def test_the_fingerprint_is_short_and_depends_only_on_the_facts():
    first = compile_cache.fingerprint(FACTS)
    assert len(first) == 16 and int(first, 16) >= 0
    assert compile_cache.fingerprint(dict(reversed(list(FACTS.items())))) == first


@pytest.mark.parametrize("name, other", [
    ("scipy", "1.14.1"),                     # SciPy installed after the kernels were compiled
    ("numba", "0.69.0"),
    ("numpy", "2.3.0"),
    ("cpu_features", "+avx2,-fma"),
    ("cpu_name", "skylake-avx512"),
    ("python", "CPython 3.12.1"),
    ("kernel_sources", "cd34"),              # e.g. FASTMATH changed in _jit.py
    ("numba.config.OPT", "_OptLevel(0)"),    # NUMBA_OPT=0
])
def test_each_fact_changes_the_fingerprint(name, other):
    assert compile_cache.fingerprint({**FACTS, name: other}) != compile_cache.fingerprint(FACTS)


@needs_numba
def test_the_facts_of_this_environment():
    import numba
    facts = compile_cache.environment_facts()
    assert set(FACTS) <= set(facts)
    assert all(isinstance(value, str) for value in facts.values())
    assert facts["numba"] == numba.__version__
    scipy_found = importlib.util.find_spec("scipy") is not None
    assert (facts["scipy"] != "absent") == scipy_found
    for name in facts:  # every fact counts
        assert compile_cache.fingerprint({**facts, name: "x"}) != compile_cache.fingerprint(facts)


def test_the_cache_root_follows_the_data_cache_rule(monkeypatch, tmp_path):
    """compile_cache repeats package_files.cache_dir's rule (kernels may not import data)."""
    monkeypatch.setenv(compile_cache.CACHE_VARIABLE, str(tmp_path))
    assert compile_cache.cache_root() == package_files.cache_dir() == tmp_path
    monkeypatch.delenv(compile_cache.CACHE_VARIABLE)
    assert compile_cache.cache_root() == package_files.cache_dir()


# ---- in process: the decoration-time setting and the message --------------------------------

@needs_numba
def test_the_cache_folder_is_set_only_while_a_kernel_is_decorated(monkeypatch, tmp_path):
    from numba.core import config
    monkeypatch.setattr(config, "CACHE_DIR", "")
    monkeypatch.setattr(compile_cache, "kernel_cache_dir", tmp_path)
    with compile_cache.cache_dir_in_force():
        assert config.CACHE_DIR == str(tmp_path)
    assert config.CACHE_DIR == ""


def fake_dispatcher(module):
    py_func = SimpleNamespace(__module__=module)
    return SimpleNamespace(py_func=py_func, stats=SimpleNamespace(cache_path="/numba/default"))


def test_the_message_is_printed_once_and_only_for_our_kernels(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(compile_cache, "_announced", False)
    monkeypatch.setattr(compile_cache, "kernel_cache_dir", tmp_path)
    monkeypatch.delenv(compile_cache.QUIET_VARIABLE, raising=False)
    compile_cache.announce_compile(fake_dispatcher("numba.np.arraymath"))
    compile_cache.announce_compile(None)
    assert capsys.readouterr().err == ""
    compile_cache.announce_compile(fake_dispatcher("neural_arch.kernels.gelu"))
    compile_cache.announce_compile(fake_dispatcher("neural_arch.kernels.adamw"))
    assert capsys.readouterr().err == f"{MESSAGE} {tmp_path})...\n"


def test_the_quiet_variable_silences_the_message(monkeypatch, capsys):
    monkeypatch.setattr(compile_cache, "_announced", False)
    monkeypatch.setenv(compile_cache.QUIET_VARIABLE, "1")
    compile_cache.announce_compile(fake_dispatcher("neural_arch.kernels.gelu"))
    assert capsys.readouterr().err == ""


# ---- in fresh interpreters ------------------------------------------------------------------

@needs_numba
def test_a_user_set_numba_cache_dir_is_kept(tmp_path):
    user_dir = tmp_path / "user"
    lines, _ = run_layer_norm(tmp_path / "ours", NUMBA_CACHE_DIR=str(user_dir))
    numba_dir, ours, kernel_path, error = lines
    assert numba_dir == str(user_dir) and ours == "None"
    assert kernel_path.startswith(str(user_dir))
    assert float(error) < 1e-5
    assert not (tmp_path / "ours").exists()


@needs_numba
def test_the_first_run_compiles_and_says_so_the_second_loads_silently(tmp_path):
    lines, err = run_layer_norm(tmp_path)
    numba_dir, ours, kernel_path, error = lines
    assert numba_dir == ""  # restored after the kernels were decorated
    assert ours.startswith(str(tmp_path / "numba")) and kernel_path.startswith(ours)
    assert f"{MESSAGE} {ours})..." in err and err.count(MESSAGE) == 1
    assert float(error) < 1e-5

    lines, err = run_layer_norm(tmp_path)
    assert lines[1] == ours and float(lines[3]) < 1e-5
    assert "compiling" not in err
    names = [path.name for path in (tmp_path / "numba").rglob("*")]
    assert any(name.endswith(".nbi") for name in names)
    assert any(name.endswith(".nbc") for name in names)
    assert len(list((tmp_path / "numba").iterdir())) == 1  # one fingerprint folder


@needs_numba
def test_the_quiet_variable_in_a_fresh_interpreter(tmp_path):
    _, err = run_layer_norm(tmp_path, NEURAL_ARCH_QUIET_COMPILE="1")
    assert "compiling" not in err


@needs_numba
@pytest.mark.parametrize("kind", ["read-only folder", "path under a file"])
def test_an_unwritable_cache_root_falls_back_to_numba_default(tmp_path, kind):
    if kind == "read-only folder":
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder")
        root = tmp_path / "ro"
        root.mkdir()
        root.chmod(0o500)
    else:  # fails for every user, root included
        (tmp_path / "file").write_text("")
        root = tmp_path / "file" / "cache"
    try:
        lines, _ = run_layer_norm(root)
    finally:
        if kind == "read-only folder":
            root.chmod(0o700)
    numba_dir, ours, _, error = lines
    assert numba_dir == "" and ours == "None"
    assert float(error) < 1e-5
