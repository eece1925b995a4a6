"""``neural_arch.functional`` (imported as F): stateless layers and losses, PyTorch-shaped.

Everything here composes the differentiable ops in ``neural_arch.ops``; the fused ones (layer
norm, RMS norm, cross-entropy, attention) run through the kernel registry.
"""

import numpy as np

from neural_arch import ops
from neural_arch.ops.nn_ops import (CrossEntropyRowsFn, ScaledDotProductAttentionFn,
                                    check_attention_inputs, check_targets)
from neural_arch.core.tensor import Tensor
from neural_arch.ops import (dropout, gelu, log_softmax, pad, relu, silu, softmax,  # noqa: F401
                             embedding, sigmoid, tanh)
# Not PyTorch's: attention from one fused (B, T, 3C) projection in one op (ops/nn_ops.py).
from neural_arch.ops import qkv_attention  # noqa: F401

_REDUCTIONS = ("mean", "sum", "none")


def linear(x, weight, bias=None):
    """y = x Wᵀ + b with W stored (out_features, in_features) as in PyTorch."""
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input has {x.shape[-1]} features (shape {x.shape}) but the "
                         f"weight expects {weight.shape[1]} (weight shape {weight.shape})")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},)")
    return ops.linear(x, weight, bias)


def _reduce(loss, reduction, count=None, name="loss"):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}; got {reduction!r}")
    if reduction == "none":
        return loss
    total = ops.sum(loss)
    if reduction == "sum":
        return total
    return total / (loss.numel() if count is None else max(count, 1))


def cross_entropy(logits, targets, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    """Cross-entropy of ``logits`` (..., C) against integer class ``targets`` (...).

    With label smoothing ε: loss = (1-ε)·(-log p_target) + ε·mean_c(-log p_c), as in PyTorch.
    ``reduction="mean"`` averages over targets that are not ``ignore_index``.
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1); got {label_smoothing}")
    target_array = check_targets(logits, targets, ignore_index)  # once, then the op itself
    loss = CrossEntropyRowsFn.apply(logits, targets=target_array, ignore_index=ignore_index)
    valid = target_array != ignore_index
    if label_smoothing > 0.0:
        uniform = -ops.mean(log_softmax(logits, axis=-1), axis=-1)
        uniform = uniform * valid.astype(logits.dtype)
        loss = loss * (1.0 - label_smoothing) + uniform * label_smoothing
    return _reduce(loss, reduction, int(valid.sum()), "cross_entropy")


def binary_cross_entropy_with_logits(logits, targets, reduction="mean"):
    """-[t·log σ(x) + (1-t)·log(1-σ(x))], computed stably from the logits."""
    targets = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets,
                                                                            dtype=logits.dtype))
    loss = ops.binary_cross_entropy_with_logits_elementwise(logits, targets)
    return _reduce(loss, reduction, name="binary_cross_entropy_with_logits")


def mse_loss(prediction, target, reduction="mean"):
    """(prediction - target)², reduced."""
    if prediction.shape != target.shape:
        raise ValueError(f"mse_loss: prediction {prediction.shape} and target {target.shape} "
                         f"must have the same shape")
    diff = prediction - target
    return _reduce(diff * diff, reduction, name="mse_loss")


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last axis: (x - mean)/sqrt(var + eps)·weight + bias."""
    n = normalized_shape if isinstance(normalized_shape, int) else normalized_shape[-1]
    if x.shape[-1] != n:
        raise ValueError(f"layer_norm: last dimension of input {x.shape} is not {n}")
    weight = weight if weight is not None else Tensor(np.ones(n, dtype=x.dtype))
    bias = bias if bias is not None else Tensor(np.zeros(n, dtype=x.dtype))
    return ops.layer_norm(x, weight, bias, eps)


def rms_norm(x, weight, eps=1e-6):
    """x / sqrt(mean(x²) + eps) · weight over the last axis."""
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"rms_norm: last dimension of input {x.shape} does not match weight "
                         f"{weight.shape}")
    return ops.rms_norm(x, weight, eps)


def normalize(x, p=2, axis=-1, eps=1e-12, *, dim=None):
    """x / sqrt(‖x‖² + eps²) along ``axis`` (L2 only, like the common use in CLIP).

    PyTorch divides by max(‖x‖, eps); adding eps² under the root gives the same values to
    float precision and a finite gradient at x = 0 (where d‖x‖/dx would divide by zero).
    """
    if p != 2:
        raise ValueError(f"normalize: only p=2 is supported; got p={p}")
    axis = axis if dim is None else dim
    return x / ops.sqrt(ops.sum(x * x, axis=axis, keepdims=True) + eps * eps)


def one_hot(indices, num_classes, dtype=np.float32):
    """(..., num_classes) one-hot encoding of integer ``indices`` (a constant, no gradient)."""
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers; got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: indices must lie in [0, {num_classes}); got values from "
                         f"{idx.min()} to {idx.max()}")
    return Tensor(np.eye(num_classes, dtype=dtype)[idx])


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution (cross-correlation) on (N, C, H, W) with weight (O, C, kh, kw)."""
    from neural_arch.ops.conv import conv2d as _conv2d
    return _conv2d(x, weight, bias, stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    from neural_arch.ops.conv import max_pool2d as _max_pool2d
    return _max_pool2d(x, kernel_size, stride=stride, padding=padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    from neural_arch.ops.conv import avg_pool2d as _avg_pool2d
    return _avg_pool2d(x, kernel_size, stride=stride, padding=padding)


def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, *, causal=None, key_padding_mask=None):
    """softmax(q kᵀ · scale + mask) v on (B, H, Tq, D) queries and (B, H, Tk, D) keys/values.

    PyTorch's keywords: ``is_causal``, ``attn_mask`` (bool, True where a query may attend, or
    float, added to the scores; broadcast to (B, H, Tq, Tk)), ``dropout_p`` (on the attention
    weights, from the global generator), ``scale`` (default 1/sqrt(D)). Ours: ``causal`` (the
    same as ``is_causal``) and ``key_padding_mask`` (bool (B, Tk), True for real tokens).
    Without ``attn_mask`` and dropout the fused kernel runs; otherwise the plain composition.
    """
    causal = bool(is_causal) if causal is None else bool(causal)
    if attn_mask is None and dropout_p == 0.0:  # the fused kernel: checked once, then the op
        mask = check_attention_inputs(q, k, v, key_padding_mask)
        return ScaledDotProductAttentionFn.apply(q, k, v, causal=causal, key_padding_mask=mask,
                                                 scale=scale)
    if causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal, not both")
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = ops.matmul(q, ops.swapaxes(k, -2, -1)) * scale           # (B, H, Tq, Tk)
    tq, tk = q.shape[-2], k.shape[-2]
    if causal:  # queries aligned to the end of the keys, as in the fused kernel
        attn_mask = np.tri(tq, tk, tk - tq, dtype=bool)
    if key_padding_mask is not None:
        pad_mask = np.asarray(key_padding_mask.data if isinstance(key_padding_mask, Tensor)
                              else key_padding_mask, dtype=bool)[:, None, None, :]
        scores = ops.masked_fill(scores, ~pad_mask, -np.inf)
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if mask.dtype == np.bool_:
            scores = ops.masked_fill(scores, ~mask, -np.inf)
        else:
            scores = scores + Tensor(mask.astype(scores.dtype))
    weights = dropout(softmax(scores, axis=-1), p=dropout_p)
    return ops.matmul(weights, v)                                       # (B, H, Tq, D)
