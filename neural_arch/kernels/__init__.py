"""Compute kernels: arrays in, arrays out, no Tensor and no autograd.

Every kernel exists twice with one signature and docstring: ``<name>_reference`` (vectorised
NumPy, the readable definition every fast version is checked against) and ``<name>_numba``
(compiled with Numba, parallel over rows or (batch, head) pairs). Forward kernels return
``(out, cache)`` and backward kernels take ``(dout, cache)``; the caches of the two versions are
interchangeable.

``KERNELS`` maps each kernel name to the active backend's implementation; the ops call
``KERNELS["matmul"](a, b)`` (one table lookup, then the kernel). The functions below without a
suffix do the same lookup, for callers outside the ops:

    matmul, attention_forward, attention_backward, layer_norm_forward, layer_norm_backward,
    rms_norm_forward, rms_norm_backward, gelu_forward, gelu_backward,
    cross_entropy_forward, cross_entropy_backward, adamw_step, adamw_step_many,
    embedding_backward

Choosing the backend: the default is "numba"; the environment variable
``NEURAL_ARCH_KERNELS=numpy|numba`` overrides it when this module is first imported; at run time
``set_backend(name)`` switches (it refills ``KERNELS``) and ``with use_backend(name):`` switches
and restores. If Numba cannot be imported the backend falls back to "numpy" with one warning.

One exception is deliberate, decided by measurement: ``matmul`` runs np.matmul (BLAS) under
both backends, because BLAS was faster than our Numba kernel at every size (numbers in
matmul.py). Under "numba", attention is attention_dense.py (BLAS products, compiled softmax rows;
the flash kernel of attention_flash.py when the scores would not fit in memory), and the float32
kernels get their exp from fast_exp.py and the tanh GELU its tanh from fast_tanh.py; float64
inputs to those kernels take the exact NumPy reference. The thread count of both runtimes (BLAS
and Numba) is set by threads.py.
"""

import contextlib
import os
import warnings

from neural_arch.kernels import _jit, allocator
from neural_arch.kernels.adamw import (adamw_step_many_numba, adamw_step_many_reference,
                                      adamw_step_numba, adamw_step_reference)
from neural_arch.kernels.attention import (
    attention_backward_reference,
    attention_forward_reference,
)
from neural_arch.kernels.attention_dense import attention_backward_dense, attention_forward_dense
from neural_arch.kernels.cross_entropy import (
    cross_entropy_backward_numba,
    cross_entropy_backward_reference,
    cross_entropy_forward_numba,
    cross_entropy_forward_reference,
)
from neural_arch.kernels.embedding import embedding_backward_numba, embedding_backward_reference
from neural_arch.kernels.gelu import (
    gelu_backward_numba,
    gelu_backward_reference,
    gelu_forward_numba,
    gelu_forward_reference,
)
from neural_arch.kernels.layer_norm import (
    layer_norm_backward_numba,
    layer_norm_backward_reference,
    layer_norm_forward_numba,
    layer_norm_forward_reference,
    rms_norm_backward_numba,
    rms_norm_backward_reference,
    rms_norm_forward_numba,
    rms_norm_forward_reference,
)
from neural_arch.kernels.matmul import matmul_numba, matmul_reference

# Freed arrays stay in the process for the next step (allocator.py); NEURAL_ARCH_KEEP_FREED_MEMORY=0
# keeps glibc's defaults.
if os.environ.get("NEURAL_ARCH_KEEP_FREED_MEMORY", "1") != "0":
    allocator.keep_freed_memory()

ENV_VAR = "NEURAL_ARCH_KERNELS"
BACKENDS = ("numpy", "numba")

# Kernel name -> implementation per backend. matmul maps to BLAS under both (see module docstring).
_TABLE = {
    "matmul": {"numpy": matmul_reference, "numba": matmul_reference},
    "attention_forward": {"numpy": attention_forward_reference,
                          "numba": attention_forward_dense},
    "attention_backward": {"numpy": attention_backward_reference,
                           "numba": attention_backward_dense},
    "layer_norm_forward": {"numpy": layer_norm_forward_reference,
                           "numba": layer_norm_forward_numba},
    "layer_norm_backward": {"numpy": layer_norm_backward_reference,
                            "numba": layer_norm_backward_numba},
    "rms_norm_forward": {"numpy": rms_norm_forward_reference, "numba": rms_norm_forward_numba},
    "rms_norm_backward": {"numpy": rms_norm_backward_reference, "numba": rms_norm_backward_numba},
    "gelu_forward": {"numpy": gelu_forward_reference, "numba": gelu_forward_numba},
    "gelu_backward": {"numpy": gelu_backward_reference, "numba": gelu_backward_numba},
    "cross_entropy_forward": {"numpy": cross_entropy_forward_reference,
                              "numba": cross_entropy_forward_numba},
    "cross_entropy_backward": {"numpy": cross_entropy_backward_reference,
                               "numba": cross_entropy_backward_numba},
    "adamw_step": {"numpy": adamw_step_reference, "numba": adamw_step_numba},
    "adamw_step_many": {"numpy": adamw_step_many_reference, "numba": adamw_step_many_numba},
    "embedding_backward": {"numpy": embedding_backward_reference,
                           "numba": embedding_backward_numba},
}

_fallback_warned = False


def _resolve(name, source):
    """Validate a backend name; fall back from numba to numpy (warning once) if Numba is absent."""
    global _fallback_warned
    if name not in BACKENDS:
        raise ValueError(f"{source} must be one of {BACKENDS}, got {name!r}")
    if name == "numba" and not _jit.NUMBA_AVAILABLE:
        if not _fallback_warned:
            warnings.warn(f"Numba could not be imported ({_jit.NUMBA_IMPORT_ERROR}); "
                          "neural_arch kernels fall back to the NumPy backend", RuntimeWarning,
                          stacklevel=3)
            _fallback_warned = True
        return "numpy"
    return name


_active = _resolve(os.environ.get(ENV_VAR, "numba").strip().lower() or "numba", ENV_VAR)

# name -> the active backend's implementation. Filled in place (never rebound), so a module that
# imported ``KERNELS`` always sees the current backend.
KERNELS = {}


def _fill_table():
    KERNELS.clear()
    KERNELS.update({name: impls[_active] for name, impls in _TABLE.items()})


_fill_table()


def active_backend():
    """The backend the dispatch functions use now: "numpy" or "numba"."""
    return _active


def set_backend(name):
    """Switch every dispatch function to backend ``name`` ("numpy" or "numba")."""
    global _active
    _active = _resolve(name, "backend")
    _fill_table()


@contextlib.contextmanager
def use_backend(name):
    """``with use_backend("numpy"): ...`` runs the block on that backend, then restores."""
    previous = _active
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def get_kernel(name, backend=None):
    """The implementation of kernel ``name`` for ``backend`` (default: the active one)."""
    return _TABLE[name][backend] if backend else KERNELS[name]


# --------------------------------------------------------------------- dispatch (one per kernel)

def matmul(a, b):
    """a @ b with broadcast batch dims; see matmul.py."""
    return KERNELS["matmul"](a, b)


def attention_forward(q, k, v, causal=False, key_padding_mask=None, scale=None, out=None):
    """Scaled dot-product attention -> (out, cache), written into ``out`` if given; see
    attention.py."""
    return KERNELS["attention_forward"](q, k, v, causal, key_padding_mask, scale, out=out)


def attention_backward(dout, cache, out=None):
    """-> (dq, dk, dv), written into the three arrays of ``out`` if given; see attention.py."""
    return KERNELS["attention_backward"](dout, cache, out=out)


def layer_norm_forward(x, weight, bias, eps=1e-5):
    """LayerNorm over the last axis -> (out, cache); see layer_norm.py."""
    return KERNELS["layer_norm_forward"](x, weight, bias, eps)


def layer_norm_backward(dout, cache):
    """-> (dx, dweight, dbias); see layer_norm.py."""
    return KERNELS["layer_norm_backward"](dout, cache)


def rms_norm_forward(x, weight, eps=1e-6):
    """RMSNorm over the last axis -> (out, cache); see layer_norm.py."""
    return KERNELS["rms_norm_forward"](x, weight, eps)


def rms_norm_backward(dout, cache):
    """-> (dx, dweight); see layer_norm.py."""
    return KERNELS["rms_norm_backward"](dout, cache)


def gelu_forward(x, approximate="none"):
    """GELU, approximate "none" (erf) or "tanh" -> (out, cache); see gelu.py."""
    return KERNELS["gelu_forward"](x, approximate)


def gelu_backward(dout, cache):
    """-> dx; see gelu.py."""
    return KERNELS["gelu_backward"](dout, cache)


def cross_entropy_forward(logits, targets, ignore_index=-100):
    """Per-row fused log-softmax + NLL -> (losses, cache); see cross_entropy.py."""
    return KERNELS["cross_entropy_forward"](logits, targets, ignore_index)


def cross_entropy_backward(dlosses, cache):
    """-> dlogits; see cross_entropy.py."""
    return KERNELS["cross_entropy_backward"](dlosses, cache)


def adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, beta1=0.9, beta2=0.999,
               eps=1e-8, weight_decay=1e-2):
    """In-place AdamW update (torch.optim.AdamW formula); see adamw.py."""
    return KERNELS["adamw_step"](param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
                                 weight_decay)


def adamw_step_many(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, beta1=0.9, beta2=0.999,
                    eps=1e-8, weight_decay=1e-2):
    """``adamw_step`` on lists of arrays at one step count (torch's foreach form); see adamw.py."""
    return KERNELS["adamw_step_many"](params, grads, exp_avgs, exp_avg_sqs, step, lr, beta1,
                                      beta2, eps, weight_decay)


def embedding_backward(dout, indices, num_rows):
    """dweight[r] = sum of dout[n] over idx[n] = r -> (num_rows, D); see embedding.py."""
    return KERNELS["embedding_backward"](dout, indices, num_rows)
