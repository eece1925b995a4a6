"""The basic layers: Linear, Embedding, LayerNorm, RMSNorm, Dropout, activations, Flatten.

Each layer takes an optional ``rng`` (a ``np.random.Generator``); without one it draws from
``neural_arch.nn.init.default_rng()``, which ``init.manual_seed`` resets.

A layer checks its input once, here at the public boundary, and then calls its autograd
Function (``ops``: ``LinearFn``, ``LayerNormFn``, ...) directly, so ``forward`` reaches the
arithmetic in a few calls: ``Linear.forward -> LinearFn.apply -> LinearFn.forward -> kernel``.
"""

import math

import numpy as np

from neural_arch import functional as F
from neural_arch import ops
from neural_arch.ops.elementwise import GeluFn, ReluFn, SiluFn, TanhFn
from neural_arch.ops.linear import LinearFn
from neural_arch.ops.nn_ops import LayerNormFn, RMSNormFn
from neural_arch.nn import init
from neural_arch.nn.dtypes import in_layer_dtype
from neural_arch.nn.module import Module, Parameter


class Linear(Module):
    """y = x Wᵀ + b, W stored (out_features, in_features); PyTorch's default init."""

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype=np.float32):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive int; got {value!r}")
        rng = init.resolve_rng(rng)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        init.kaiming_uniform_(self.weight, rng)
        if bias:
            bound = 1.0 / math.sqrt(in_features)
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
            init.uniform_(self.bias, rng, -bound, bound)
        else:
            self.bias = None

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): input has "
                             f"{x.shape[-1]} features (shape {x.shape}), expected "
                             f"{self.in_features}")
        x = in_layer_dtype(x, self.weight, "Linear")
        if self.bias is None:
            return LinearFn.apply(x, self.weight)
        return LinearFn.apply(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table of ``num_embeddings`` rows of size ``embedding_dim`` (init N(0, 1))."""

    def __init__(self, num_embeddings, embedding_dim, rng=None, dtype=np.float32):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Embedding: {name} must be a positive int; got {value!r}")
        rng = init.resolve_rng(rng)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
        init.normal_(self.weight, rng)

    def forward(self, indices):
        return ops.embedding(self.weight, indices)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=np.float32):
        super().__init__()
        n = normalized_shape if isinstance(normalized_shape, int) else normalized_shape[-1]
        self.normalized_shape, self.eps = n, eps
        self.weight = Parameter(np.ones(n, dtype=dtype), requires_grad=elementwise_affine)
        self.bias = Parameter(np.zeros(n, dtype=dtype), requires_grad=elementwise_affine and bias)

    def forward(self, x):
        if x.shape[-1] != self.normalized_shape:
            raise ValueError(f"LayerNorm({self.normalized_shape}): last dimension of input "
                             f"{x.shape} is not {self.normalized_shape}")
        x = in_layer_dtype(x, self.weight, "LayerNorm")
        return LayerNormFn.apply(x, self.weight, self.bias, eps=self.eps)

    def extra_repr(self):
        return f"({self.normalized_shape},), eps={self.eps}"


class RMSNorm(Module):
    def __init__(self, dim, eps=1e-6, dtype=np.float32):
        super().__init__()
        self.dim, self.eps = dim, eps
        self.weight = Parameter(np.ones(dim, dtype=dtype))

    def forward(self, x):
        if x.shape[-1] != self.dim:
            raise ValueError(f"RMSNorm({self.dim}): last dimension of input {x.shape} is not "
                             f"{self.dim}")
        x = in_layer_dtype(x, self.weight, "RMSNorm")
        return RMSNormFn.apply(x, self.weight, eps=self.eps)

    def extra_repr(self):
        return f"({self.dim},), eps={self.eps}"


class Dropout(Module):
    """Inverted dropout with its own Generator (saved by checkpoints for exact resume)."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1]; got {p}")
        self.p = p
        parent = init.resolve_rng(rng)
        self.rng = np.random.default_rng(parent.integers(2**63))

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}"


class ReLU(Module):
    def forward(self, x):
        return ReluFn.apply(x)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh'; got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return GeluFn.apply(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    def forward(self, x):
        return SiluFn.apply(x)


class Tanh(Module):
    def forward(self, x):
        return TanhFn.apply(x)


class Identity(Module):
    def forward(self, x):
        return x


class Flatten(Module):
    """Flatten every axis from ``start_dim`` on: (N, C, H, W) -> (N, C·H·W)."""

    def __init__(self, start_dim=1):
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x):
        return ops.reshape(x, x.shape[:self.start_dim] + (-1,))
