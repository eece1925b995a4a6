"""Neural-network primitives: embedding lookup, dropout, and the fused ops that run through the
kernel registry (layer norm, RMS norm, cross-entropy, attention).

The fused ops keep autograd thin: forward asks a kernel for ``(out, cache)``, backward hands the
cache back to the matching backward kernel. Which implementation runs (NumPy reference or Numba)
is the registry's choice (``neural_arch.kernels``), invisible to the model.
"""

import numpy as np

from neural_arch.kernels import KERNELS
from neural_arch.core.function import Function
from neural_arch.core.random import resolve_rng
from neural_arch.core.tensor import Tensor


class EmbeddingFn(Function):
    """out[...] = weight[idx[...]];  d weight[r] = Σ of the gradients of positions reading r."""

    def forward(self, weight, indices=None):
        self.indices, self.weight_shape = indices, weight.shape
        return weight[indices]

    def backward(self, grad):
        # (N,) rows and (N, D) gradients; repeated rows are summed, not overwritten.
        return KERNELS["embedding_backward"](grad.reshape(-1, self.weight_shape[1]),
                                             self.indices.reshape(-1), self.weight_shape[0])


class DropoutFn(Function):
    """Inverted dropout: keep each element with probability 1-p and scale it by 1/(1-p)."""

    def forward(self, x, p=0.5, rng=None):
        keep = rng.random(x.shape) >= p
        self.scale_mask = keep.astype(x.dtype) / x.dtype.type(1.0 - p)
        return x * self.scale_mask

    def backward(self, grad):
        return grad * self.scale_mask


class LayerNormFn(Function):
    """y = (x - mean) / sqrt(var + eps) · weight + bias over the last axis."""

    def forward(self, x, weight, bias, eps=1e-5):
        out, self.cache = KERNELS["layer_norm_forward"](x, weight, bias, eps)
        return out

    def backward(self, grad):
        return KERNELS["layer_norm_backward"](grad, self.cache)


class RMSNormFn(Function):
    """y = x / sqrt(mean(x²) + eps) · weight over the last axis."""

    def forward(self, x, weight, eps=1e-6):
        out, self.cache = KERNELS["rms_norm_forward"](x, weight, eps)
        return out

    def backward(self, grad):
        return KERNELS["rms_norm_backward"](grad, self.cache)


class CrossEntropyRowsFn(Function):
    """Per-row loss -log softmax(logits)[target], fused (the softmax is never stored).

    ``logits`` (..., V) and integer ``targets`` (...) give losses (...); rows whose target is
    ``ignore_index`` get loss 0 and no gradient.
    """

    def forward(self, logits, targets=None, ignore_index=-100):
        self.shape = logits.shape
        rows = logits.reshape(-1, logits.shape[-1])  # (N, V)
        losses, self.cache = KERNELS["cross_entropy_forward"](rows, targets.reshape(-1),
                                                           ignore_index)
        return losses.reshape(logits.shape[:-1])

    def backward(self, grad):
        d_rows = KERNELS["cross_entropy_backward"](grad.reshape(-1), self.cache)
        return d_rows.reshape(self.shape)


class ScaledDotProductAttentionFn(Function):
    """softmax(q kᵀ · scale + mask) v on (B, H, T, D), FlashAttention-style in the kernel."""

    def forward(self, q, k, v, causal=False, key_padding_mask=None, scale=None):
        out, self.cache = KERNELS["attention_forward"](q, k, v, causal, key_padding_mask, scale)
        return out

    def backward(self, grad):
        return KERNELS["attention_backward"](np.ascontiguousarray(grad), self.cache)


class QKVAttentionFn(Function):
    """Multi-head attention straight from a fused projection: qkv (B, T, 3C) -> y (B, T, C).

    The same arithmetic as split(qkv, 3) -> q, k, v (B, T, C) -> heads (B, nh, T, hs) -> the
    attention kernel -> heads side by side (B, T, C), in one op instead of ten, and without a
    copy: the kernel reads q, k and v as strided views of qkv, writes its output through a
    (B, nh, T, hs) view of y, and in backward writes dq, dk, dv through views of one (B, T, 3C)
    gradient (three slices would each build a zero-padded (B, T, 3C) array for the engine).
    """

    def forward(self, qkv, n_head=1, causal=False, key_padding_mask=None):
        B, T, C3 = qkv.shape
        self.shape = (B, T, n_head, C3 // (3 * n_head))
        heads = qkv.reshape(B, T, 3, n_head, self.shape[3])               # (B, T, 3, nh, hs)
        q, k, v = (heads[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # (B, nh, T, hs)
        y = np.empty(self.shape, dtype=qkv.dtype)                          # (B, T, nh, hs)
        _, self.cache = KERNELS["attention_forward"](q, k, v, causal, key_padding_mask, None,
                                                     out=y.transpose(0, 2, 1, 3))
        return y.reshape(B, T, C3 // 3)                                    # (B, T, C)

    def backward(self, grad):
        B, T, nh, hs = self.shape
        dout = grad.reshape(B, T, nh, hs).transpose(0, 2, 1, 3)            # (B, nh, T, hs)
        d_qkv = np.empty((B, T, 3, nh, hs), dtype=self.cache[0].dtype)
        KERNELS["attention_backward"](dout, self.cache, out=tuple(
            d_qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3)))      # dq, dk, dv
        return d_qkv.reshape(B, T, 3 * nh * hs)


def _padding_mask(key_padding_mask, expected, name):
    """The key padding mask as a bool array of shape ``expected`` (B, Tk), or None."""
    if key_padding_mask is None:
        return None
    mask = np.asarray(key_padding_mask.data if isinstance(key_padding_mask, Tensor)
                      else key_padding_mask).astype(bool)
    if mask.shape != expected:
        raise ValueError(f"{name}: key_padding_mask has shape {mask.shape}, expected (B, Tk) = "
                         f"{expected}")
    return mask


def qkv_attention(qkv, n_head, causal=False, key_padding_mask=None):
    """Attention of the heads packed in ``qkv`` (B, T, 3C), as [q | k | v] along the last axis
    with each part's C = n_head * hs split into heads in order (GPT-2's c_attn, ViT's qkv).
    Returns (B, T, C). ``key_padding_mask``: bool (B, T), True for real tokens."""
    if qkv.ndim != 3 or qkv.shape[2] % (3 * n_head):
        raise ValueError(f"qkv_attention: qkv must be (B, T, 3 * n_head * hs) with n_head="
                         f"{n_head}; got shape {qkv.shape}")
    mask = _padding_mask(key_padding_mask, qkv.shape[:2], "qkv_attention")
    return QKVAttentionFn.apply(qkv, n_head=n_head, causal=causal, key_padding_mask=mask)


def _index_array(indices, name):
    array = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers; got dtype {array.dtype}")
    return array


def embedding(weight, indices):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``indices`` (any shape)."""
    idx = _index_array(indices, "embedding")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"embedding: indices must lie in [0, {n}); got values from "
                         f"{idx.min()} to {idx.max()}")
    return EmbeddingFn.apply(weight, indices=idx)


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout; identity when ``p == 0`` or not ``training``. ``rng``: a
    ``np.random.Generator``; without one, the global generator (``manual_seed``)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1]; got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return DropoutFn.apply(x, p=p, rng=resolve_rng(rng, "dropout: rng"))


def layer_norm(x, weight, bias, eps=1e-5):
    return LayerNormFn.apply(x, weight, bias, eps=eps)


def rms_norm(x, weight, eps=1e-6):
    return RMSNormFn.apply(x, weight, eps=eps)


def check_targets(logits, targets, ignore_index=-100):
    """The class targets as an integer array, checked against ``logits`` (..., C)."""
    t = _index_array(targets, "cross_entropy")
    if t.shape != logits.shape[:-1]:
        raise ValueError(f"cross_entropy: targets of shape {t.shape} do not match logits of "
                         f"shape {logits.shape} (expected {logits.shape[:-1]})")
    valid = t != ignore_index
    if np.any(valid & ((t < 0) | (t >= logits.shape[-1]))):
        raise ValueError(f"cross_entropy: targets must lie in [0, {logits.shape[-1]}) or equal "
                         f"ignore_index={ignore_index}")
    return t


def cross_entropy_rows(logits, targets, ignore_index=-100):
    """Unreduced cross-entropy per row; see ``CrossEntropyRowsFn``."""
    t = check_targets(logits, targets, ignore_index)
    return CrossEntropyRowsFn.apply(logits, targets=t, ignore_index=ignore_index)


def scaled_dot_product_attention(q, k, v, causal=False, key_padding_mask=None, scale=None):
    """Attention on (B, H, Tq, D) queries and (B, H, Tk, D) keys/values.

    ``key_padding_mask``: bool (B, Tk), True where the key is a real token. ``causal`` aligns
    queries to the end of the keys, so a single query (decoding with a KV cache) sees them all.
    """
    mask = check_attention_inputs(q, k, v, key_padding_mask)
    return ScaledDotProductAttentionFn.apply(q, k, v, causal=causal, key_padding_mask=mask,
                                             scale=scale)


def check_attention_inputs(q, k, v, key_padding_mask=None):
    """Check the shapes of q, k, v (B, H, T, D); return the key padding mask as bool (B, Tk)."""
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"scaled_dot_product_attention: q, k, v must be (B, H, T, D); got "
                         f"{q.shape}, {k.shape}, {v.shape}")
    if k.shape != v.shape or q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3]:
        raise ValueError(f"scaled_dot_product_attention: incompatible shapes q {q.shape}, "
                         f"k {k.shape}, v {v.shape}")
    return _padding_mask(key_padding_mask, (k.shape[0], k.shape[2]),
                         "scaled_dot_product_attention")


class BCEWithLogitsFn(Function):
    """loss = max(x, 0) - x·t + log(1 + exp(-|x|)) (stable);  d/dx = sigmoid(x) - t."""

    def forward(self, x, t):
        self.x, self.t = x, t
        return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    def backward(self, grad):
        from neural_arch.ops.elementwise import _sigmoid
        grad_x = grad * (_sigmoid(self.x) - self.t)
        grad_t = -grad * self.x if self.needs_input_grad[1] else None
        return grad_x, grad_t


def binary_cross_entropy_with_logits_elementwise(logits, targets):
    if logits.shape != targets.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: logits {logits.shape} and targets "
                         f"{targets.shape} must have the same shape")
    return BCEWithLogitsFn.apply(logits, targets)
