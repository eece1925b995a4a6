"""Backend registry: default, env-var override, set_backend / use_backend, Numba fallback."""

import os
import subprocess
import sys

import numpy as np
import pytest

import neural_arch.kernels as K
from neural_arch.kernels import _jit

NAMES = ["matmul", "attention_forward", "attention_backward", "layer_norm_forward",
         "layer_norm_backward", "rms_norm_forward", "rms_norm_backward", "gelu_forward",
         "gelu_backward", "cross_entropy_forward", "cross_entropy_backward", "adamw_step",
         "adamw_step_many", "embedding_backward"]


def backend_in_subprocess(value):
    env = dict(os.environ)
    env.pop(K.ENV_VAR, None)
    if value is not None:
        env[K.ENV_VAR] = value
    code = "import neural_arch.kernels as K; print(K.active_backend())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("value,expected", [(None, "numba"), ("numpy", "numpy"),
                                            ("numba", "numba"), ("NumPy", "numpy")])
def test_env_var_sets_the_backend(value, expected):
    if expected == "numba" and not _jit.NUMBA_AVAILABLE:
        expected = "numpy"
    result = backend_in_subprocess(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_invalid_env_var_names_the_variable():
    result = backend_in_subprocess("cuda")
    assert result.returncode != 0
    assert "NEURAL_ARCH_KERNELS" in result.stderr and "numpy" in result.stderr


def test_use_backend_switches_and_restores():
    start = K.active_backend()
    with K.use_backend("numpy"):
        assert K.active_backend() == "numpy"
        assert K.get_kernel("gelu_forward") is K.gelu_forward_reference
        with K.use_backend("numba"):
            assert K.get_kernel("gelu_forward") is K.gelu_forward_numba
        assert K.active_backend() == "numpy"
    assert K.active_backend() == start


def test_use_backend_restores_after_an_exception():
    start = K.active_backend()
    with pytest.raises(RuntimeError):
        with K.use_backend("numpy"):
            raise RuntimeError("boom")
    assert K.active_backend() == start


def test_set_backend_rejects_unknown_names():
    with pytest.raises(ValueError, match="numpy"):
        K.set_backend("torch")


def test_matmul_uses_blas_under_both_backends():
    for backend in K.BACKENDS:
        assert K.get_kernel("matmul", backend) is K.matmul_reference


def test_fallback_to_numpy_warns_once(monkeypatch):
    monkeypatch.setattr(_jit, "NUMBA_AVAILABLE", False)
    monkeypatch.setattr(K, "_fallback_warned", False)
    start = K.active_backend()
    try:
        with pytest.warns(RuntimeWarning, match="Numba"):
            K.set_backend("numba")
        assert K.active_backend() == "numpy"
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            K.set_backend("numba")                         # second time: silent
    finally:
        monkeypatch.setattr(_jit, "NUMBA_AVAILABLE", True)
        K.set_backend(start)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_every_dispatch_function_runs(rng, backend):
    assert all(callable(getattr(K, name)) for name in NAMES)
    x = rng.standard_normal((3, 4, 8)).astype(np.float32)
    with K.use_backend(backend):
        assert K.matmul(x, x.swapaxes(-1, -2)).shape == (3, 4, 4)
        q = x[None]                                          # (1, 3, 4, 8)
        out, cache = K.attention_forward(q, q, q, causal=True)
        assert [g.shape for g in K.attention_backward(out, cache)] == [q.shape] * 3
        out, cache = K.layer_norm_forward(x, np.ones(8, np.float32), np.zeros(8, np.float32))
        assert len(K.layer_norm_backward(out, cache)) == 3
        out, cache = K.rms_norm_forward(x, np.ones(8, np.float32))
        assert len(K.rms_norm_backward(out, cache)) == 2
        out, cache = K.gelu_forward(x, "tanh")
        assert K.gelu_backward(out, cache).shape == x.shape
        losses, cache = K.cross_entropy_forward(x[0], np.array([0, 1, 2, -100]))
        assert K.cross_entropy_backward(np.ones(4, np.float32), cache).shape == (4, 8)
        p, m, v = x.copy(), np.zeros_like(x), np.zeros_like(x)
        K.adamw_step(p, x, m, v, 1)
        assert not np.array_equal(p, x)
