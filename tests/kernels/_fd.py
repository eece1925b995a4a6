"""Central finite differences for checking array-level backward kernels (float64 only).

For a forward f(*inputs) -> out and an upstream gradient dout, the scalar L = sum(out * dout)
has dL/dx = the vector-Jacobian product a backward kernel returns. We perturb one element at a
time: dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps), eps = 1e-6, so inputs stay small.
"""

import numpy as np


def numeric_vjp(f, inputs, dout, wrt, eps=1e-6):
    """Numerical dL/d inputs[wrt] for L = sum(f(*inputs) * dout). inputs: list of arrays."""
    x = inputs[wrt]
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)                    # a view: edits below change inputs[wrt]
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = np.sum(f(*inputs) * dout)
        flat[i] = old - eps
        minus = np.sum(f(*inputs) * dout)
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


def assert_grads_match(f, inputs, dout, analytic, wrt, rtol=1e-6, atol=1e-7):
    """Check each analytic gradient against numeric_vjp; wrt lists the input indices."""
    for g, i in zip(analytic, wrt):
        np.testing.assert_allclose(g, numeric_vjp(f, inputs, dout, i), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
