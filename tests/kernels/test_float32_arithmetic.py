"""The float32 kernels compute in float32.

A Python float handed to a Numba kernel is a float64, and one float64 operand promotes the
arithmetic around it (often a whole loop) to float64: half the SIMD lanes and a conversion per
element, with every value test still passing. The AdamW and LayerNorm kernels ran that way until
2026-12-04, 2-3x slower than needed. This test reads Numba's own type annotation of every
float32 specialisation of the kernels and fails on a float64 add, subtract, multiply or divide
whose operands are not all compile-time constants.
"""

import importlib
import io
import json
import os
import pkgutil
import re
import subprocess
import sys

import numpy as np
from numba.core.registry import CPUDispatcher

import neural_arch.kernels as K
from neural_arch.kernels import attention_flash

F32 = np.float32
BINOP = re.compile(r"= ([$\w.]+) [-+*/] ([$\w.]+)\s+:: float64$")
INPLACE = re.compile(r"inplace_binop\(.*lhs=([^,]+), rhs=([^,]+),.*:: float64$")
CONSTANT = re.compile(r"^\$\d*(const|load_global)")


def run_every_float32_kernel(rng):
    """Compile each kernel's float32 specialisation by calling it (with an empty cache, the
    helpers they call compile too)."""
    x = rng.standard_normal((4, 16, 32)).astype(F32)
    w, b = np.ones(32, F32), np.zeros(32, F32)
    K.layer_norm_backward_numba(x, K.layer_norm_forward_numba(x, w, b)[1])
    K.rms_norm_backward_numba(x, K.rms_norm_forward_numba(x, w)[1])
    for approximate in ("tanh", "none"):
        K.gelu_backward_numba(x, K.gelu_forward_numba(x, approximate)[1])
    logits, targets = rng.standard_normal((64, 50)).astype(F32), rng.integers(0, 50, 64)
    losses, cache = K.cross_entropy_forward_numba(logits, targets)
    K.cross_entropy_backward_numba(np.ones_like(losses), cache)
    K.embedding_backward_numba(rng.standard_normal((64, 32)).astype(F32), targets, 50)
    q = rng.standard_normal((2, 2, 16, 8)).astype(F32)
    for forward, backward in ((K.attention_forward_dense, K.attention_backward_dense),
                              (attention_flash.attention_forward_numba,
                               attention_flash.attention_backward_numba)):
        for causal in (True, False):
            out, cache = forward(q, q, q, causal)
            backward(out, cache)
    p = rng.standard_normal(100).astype(F32)
    K.adamw_step_numba(p, p.copy(), np.zeros_like(p), np.zeros_like(p), 1)


def is_float32_signature(sig):
    """float32 arrays and no float64 ones (integer and bool arrays are indices and masks), or,
    for a scalar helper such as fast_tanh.tanh_f32, float32 scalars only."""
    types = [str(t) for t in sig]
    arrays = [t for t in types if t.startswith("array(")]
    if not arrays:
        return bool(types) and all(t == "float32" for t in types)
    return (all(re.match(r"array\((float32|u?int\d+|bool)", a) for a in arrays)
            and any("float32" in a for a in arrays))


def float32_specialisations():
    """(name, dispatcher, signature) for every kernel overload ``is_float32_signature`` accepts."""
    found = []
    for module_info in pkgutil.iter_modules(K.__path__):
        module = importlib.import_module(f"neural_arch.kernels.{module_info.name}")
        for name, obj in vars(module).items():
            if not isinstance(obj, CPUDispatcher) or obj.__module__ != module.__name__:
                continue
            for sig in obj.signatures:
                if is_float32_signature(sig):
                    found.append((f"{module_info.name}.{name}", obj, sig))
    return found


def float64_binops(dispatcher, sig):
    buf = io.StringIO()
    dispatcher.inspect_types(signature=sig, file=buf)
    bad = []
    for line in buf.getvalue().splitlines():
        match = BINOP.search(line) or INPLACE.search(line)
        if match and not all(CONSTANT.match(operand.strip()) for operand in match.groups()):
            bad.append(line.strip())
    return bad


def offenders_in_this_process():
    """(kernel names checked, {kernel: its float64 lines}) for this process's compiled code."""
    run_every_float32_kernel(np.random.default_rng(0))
    specialisations = float32_specialisations()
    offenders = {name: bad for name, dispatcher, sig in specialisations
                 if (bad := float64_binops(dispatcher, sig))}
    return sorted({name for name, _, _ in specialisations}), offenders


def test_every_float32_kernel_does_float32_arithmetic(tmp_path):
    # In a fresh process with an empty Numba cache: a kernel loaded from the cache does not
    # compile the helpers it calls, and only compiled code has a type annotation to read.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NEURAL_ARCH_QUIET_COMPILE="1")
    result = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    names, offenders = json.loads(result.stdout.splitlines()[-1])
    assert {"adamw._adamw", "layer_norm._layer_norm_fwd", "layer_norm._norm_bwd",
            "fast_exp.exp_inplace", "attention_dense._softmax_rows", "attention_flash._mm_nt",
            "attention_flash._flash_fwd", "fast_tanh.tanh_f32", "gelu._phi_terms_f32",
            "fast_exp.row_max"} <= set(names), names
    assert not offenders, "\n".join(f"{name}: {lines[:3]}" for name, lines in offenders.items())


def test_the_check_sees_a_promotion():
    """The check itself: a float32 loop with a float64 scalar is caught."""
    from neural_arch.kernels._jit import njit

    @njit
    def scaled(x, s):
        for i in range(x.size):
            x[i] = x[i] * s
    scaled(np.ones(4, F32), 0.5)
    (sig,) = scaled.signatures
    assert float64_binops(scaled, sig)
    scaled_f32 = njit(scaled.py_func)
    scaled_f32(np.ones(4, F32), F32(0.5))
    assert not float64_binops(scaled_f32, scaled_f32.signatures[0])


if __name__ == "__main__":
    print(json.dumps(offenders_in_this_process()))
