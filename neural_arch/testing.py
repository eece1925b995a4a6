"""Gradient checking and hypothesis strategies, for our tests and for users' own ops.

``gradcheck`` compares backprop against central differences in float64 (after PyTorch's
``gradcheck.py``):

* full mode (small inputs): the whole Jacobian. Column j of the numeric Jacobian is
  (f(x + eps·e_j) - f(x - eps·e_j)) / (2·eps); row i of the analytic one is the backward of the
  one-hot output gradient e_i.
* projection mode (large inputs, HIPS ``check_vjp``): for random directions u (inputs) and v
  (output), vᵀJu numerically is vᵀ(f(x + eps·u) - f(x - eps·u)) / (2·eps), two forward calls
  whatever the size, and analytically Σ_inputs <backward(v), u>.

A mismatch raises AssertionError naming the input, the worst element and both values.
"""

import numpy as np

from neural_arch.core.grad_mode import enable_grad
from neural_arch.core.tensor import Tensor

FULL_JACOBIAN_LIMIT = 4096  # n_inputs · n_outputs above which projection mode is used


def _checked_inputs(inputs):
    checked = []
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.dtype != np.float64:
                raise TypeError(f"gradcheck: input {i} has dtype {t.dtype}; use float64 "
                                f"(float32 differences are too coarse at eps=1e-6)")
            checked.append(i)
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    return checked


def _evaluate(fn, inputs):
    with enable_grad():
        out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor; got {type(out).__name__}")
    return out


def _analytic_vjp(fn, inputs, checked, v):
    """Σ_i v_i ∂out_i/∂x for each checked input, by backprop."""
    for i in checked:
        inputs[i].grad = None
    out = _evaluate(fn, inputs)
    out.backward(v.astype(out.dtype))
    return [np.zeros(inputs[i].shape) if inputs[i].grad is None else inputs[i].grad.copy()
            for i in checked]


def _output_at(fn, inputs, i, flat_index, value):
    data = inputs[i].data
    # An n-d index, not data.reshape(-1): that is a copy for a non-contiguous (transposed) array.
    where = np.unravel_index(flat_index, data.shape)
    saved = data[where]
    data[where] = value
    try:
        return np.array(_evaluate(fn, inputs).data, dtype=np.float64)
    finally:
        data[where] = saved


def _fail(name, where, analytic, numeric):
    raise AssertionError(f"gradcheck failed for {name} at {where}: analytic {analytic!r}, "
                         f"numeric {numeric!r}, difference {abs(analytic - numeric)!r}")


def _full_check(fn, inputs, checked, out_shape, eps, atol, rtol, names):
    n_out = int(np.prod(out_shape))
    for pos, i in enumerate(checked):
        x = inputs[i]
        numeric = np.empty((n_out, x.numel()))
        flat = x.data.reshape(-1)
        for j in range(x.numel()):
            original = flat[j]
            plus = _output_at(fn, inputs, i, j, original + eps)
            minus = _output_at(fn, inputs, i, j, original - eps)
            numeric[:, j] = ((plus - minus) / (2 * eps)).reshape(-1)
        analytic = np.empty((n_out, x.numel()))
        for row in range(n_out):
            v = np.zeros(n_out)
            v[row] = 1.0
            analytic[row] = _analytic_vjp(fn, inputs, checked, v.reshape(out_shape))[pos].ravel()
        # NaN or inf anywhere is a failure: every comparison with NaN is False, so the test is
        # written as "not within tolerance" and non-finite entries are marked worst of all.
        bad = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        bad[~(np.isfinite(analytic) & np.isfinite(numeric))] = np.inf
        if not np.all(bad <= 0):
            r, c = np.unravel_index(np.argmax(bad), bad.shape)
            element = np.unravel_index(c, x.shape) if x.ndim else ()
            _fail(names[pos], f"output element {r}, input element {element}",
                  analytic[r, c], numeric[r, c])


def _projection_check(fn, inputs, checked, out_shape, eps, atol, rtol, names, projections, rng):
    for p in range(projections):
        v = rng.standard_normal(out_shape)
        grads = _analytic_vjp(fn, inputs, checked, v)
        for pos, i in enumerate(checked):
            u = rng.standard_normal(inputs[i].shape)
            data = inputs[i].data
            saved = data.copy()
            try:
                data += eps * u
                plus = np.array(_evaluate(fn, inputs).data, dtype=np.float64)
                data[...] = saved - eps * u
                minus = np.array(_evaluate(fn, inputs).data, dtype=np.float64)
            finally:
                data[...] = saved
            numeric = float(np.sum(v * (plus - minus)) / (2 * eps))
            analytic = float(np.sum(grads[pos] * u))
            if not abs(analytic - numeric) <= atol + rtol * abs(numeric):  # NaN fails too
                _fail(names[pos], f"random projection {p} (vᵀJu)", analytic, numeric)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, mode="auto", projections=3, seed=0,
              names=None):
    """Check the gradients of ``fn(*inputs) -> Tensor`` against central differences.

    Args:
        fn: function of the inputs returning a Tensor of any shape.
        inputs: Tensors (float64 for those with ``requires_grad``) and other arguments.
        mode: "full", "projection" or "auto" (full when inputs·outputs ≤ FULL_JACOBIAN_LIMIT).
        names: optional names of the inputs, used in the error message.
    Returns True; raises AssertionError on a mismatch.
    """
    inputs = list(inputs)
    checked = _checked_inputs(inputs)
    labels = [names[i] if names else f"input {i} (shape {inputs[i].shape})" for i in checked]
    out_shape = _evaluate(fn, inputs).shape
    total = sum(inputs[i].numel() for i in checked) * max(1, int(np.prod(out_shape)))
    if mode == "auto":
        mode = "full" if total <= FULL_JACOBIAN_LIMIT else "projection"
    if mode == "full":
        _full_check(fn, inputs, checked, out_shape, eps, atol, rtol, labels)
    elif mode == "projection":
        rng = np.random.default_rng(seed)
        _projection_check(fn, inputs, checked, out_shape, eps, atol, rtol, labels,
                          projections, rng)
    else:
        raise ValueError(f"gradcheck: mode must be 'auto', 'full' or 'projection'; got {mode!r}")
    return True


# ----- hypothesis strategies (hypothesis is a test extra: imported only when used) ------------

def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes, including 0-d and size-1 dimensions."""
    from hypothesis.extra import numpy as hnp
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shape_pairs(max_dims=3, max_side=4):
    """Pairs of shapes that broadcast together (size-1 and missing leading axes)."""
    from hypothesis.extra import numpy as hnp
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims,
                                             max_side=max_side).map(lambda r: r.input_shapes)


def arrays(shape, low=-2.0, high=2.0, away_from=(), margin=0.1, dtype=np.float64):
    """float64 arrays in [low, high] whose elements are at least ``margin`` from every point in
    ``away_from`` (kinks such as 0 for relu/abs, poles such as 0 for 1/x)."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    def far_enough(v):
        return all(abs(v - k) >= margin for k in away_from)

    elements = st.floats(low, high, allow_nan=False, allow_infinity=False).filter(far_enough)
    return hnp.arrays(dtype, shape, elements=elements)


def positive_arrays(shape, low=0.2, high=3.0):
    """float64 arrays bounded away from 0, for log, sqrt, division and powers."""
    return arrays(shape, low=low, high=high)


def distinct_arrays(shape, low=-2.0, high=2.0, gap=1e-3):
    """float64 arrays whose elements are pairwise at least ``gap`` apart (no ties for max/min)."""
    from hypothesis import strategies as st
    n = int(np.prod(shape)) if shape else 1
    return st.integers(0, 2**31 - 1).map(
        lambda seed: _spread_values(seed, n, low, high, gap).reshape(shape))


def _spread_values(seed, n, low, high, gap):
    rng = np.random.default_rng(seed)
    grid = np.linspace(low, high, max(n, int((high - low) / gap) // 4 + n))
    return rng.permutation(grid)[:n].astype(np.float64)
