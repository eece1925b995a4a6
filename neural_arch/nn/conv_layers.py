"""Convolution and pooling layers for images (N, C, H, W), and the ViT patch embedding.

The arithmetic lives in ``neural_arch.ops.conv`` (im2col + GEMM, slice-add col2im); these
modules hold the weights and the hyper-parameters, with PyTorch's names and default init so
that a PyTorch ``state_dict`` loads unchanged.
"""

import math

import numpy as np

from neural_arch import ops
from neural_arch.nn import init
from neural_arch.nn.dtypes import in_layer_dtype
from neural_arch.nn.module import Module, Parameter
from neural_arch.ops.conv import _pair, avg_pool2d, conv2d, max_pool2d


class Conv2d(Module):
    """2-D convolution: out[n, o] = b[o] + Σ_c w[o, c] ⋆ x[n, c] (cross-correlation).

    Weight (out_channels, in_channels, kh, kw). Init as PyTorch: kaiming_uniform_(a=√5), i.e.
    U(±1/√fan_in) with fan_in = in_channels·kh·kw, and bias U(±1/√fan_in).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 rng=None, dtype=np.float32):
        super().__init__()
        rng = init.resolve_rng(rng)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = _pair(stride, "stride", "Conv2d")
        self.padding = _pair(padding, "padding", "Conv2d")
        self.weight = Parameter(np.empty((out_channels, in_channels) + self.kernel_size,
                                         dtype=dtype))
        init.kaiming_uniform_(self.weight, rng, a=math.sqrt(5))
        if bias:
            bound = 1.0 / math.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
            init.uniform_(self.bias, rng, -bound, bound)
        else:
            self.bias = None

    def forward(self, x):
        """x (N, C, H, W) -> (N, O, H', W'); an unbatched (C, H, W) image -> (O, H', W'), as in
        PyTorch."""
        if x.ndim not in (3, 4):
            raise ValueError(f"Conv2d({self.in_channels}, {self.out_channels}): input must be "
                             f"(N, C, H, W) or an unbatched (C, H, W); got shape {x.shape}")
        if x.shape[-3] != self.in_channels:
            raise ValueError(f"Conv2d({self.in_channels}, {self.out_channels}): input has "
                             f"{x.shape[-3]} channels, weight expects {self.in_channels} "
                             f"(input shape {x.shape})")
        x = in_layer_dtype(x, self.weight, "Conv2d")
        if x.ndim == 3:
            batched = ops.reshape(x, (1,) + x.shape)                    # (1, C, H, W)
            out = conv2d(batched, self.weight, self.bias, stride=self.stride,
                         padding=self.padding)                          # (1, O, H', W')
            return ops.reshape(out, out.shape[1:])                      # (O, H', W')
        return conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


class MaxPool2d(Module):
    """Max over kernel_size windows; ``stride`` defaults to ``kernel_size`` (as PyTorch)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over kernel_size windows, padded zeros counted (PyTorch's count_include_pad=True)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Global average pooling: (N, C, H, W) -> (N, C, 1, 1). Only ``output_size=1`` is
    supported (the only size ResNet-style classifiers use)."""

    def __init__(self, output_size=1):
        super().__init__()
        if _pair(output_size, "output_size", "AdaptiveAvgPool2d") != (1, 1):
            raise ValueError(f"AdaptiveAvgPool2d: only output_size=1 is supported; got "
                             f"{output_size!r}")
        self.output_size = 1

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"AdaptiveAvgPool2d: input must be 4-D (N, C, H, W); got shape "
                             f"{x.shape}")
        return ops.mean(x, axis=(2, 3), keepdims=True)  # (N, C, 1, 1)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class PatchEmbedding(Module):
    """Split an image into non-overlapping patches and project each to ``embed_dim`` (ViT).

    A Conv2d with kernel = stride = patch_size is exactly "flatten each patch, apply one
    shared Linear". It is called ``proj`` as in timm, so timm ViT weights load by name.
    (N, C, H, W) -> (N, num_patches, embed_dim), patches in row-major (raster) order.
    """

    def __init__(self, image_size, patch_size, in_channels=3, embed_dim=768, bias=True,
                 rng=None, dtype=np.float32):
        super().__init__()
        self.image_size = _pair(image_size, "image_size", "PatchEmbedding")
        self.patch_size = _pair(patch_size, "patch_size", "PatchEmbedding")
        if any(s % p for s, p in zip(self.image_size, self.patch_size)) or \
                min(self.patch_size) < 1:
            raise ValueError(f"PatchEmbedding: image_size {self.image_size} is not divisible "
                             f"by patch_size {self.patch_size}")
        self.grid_size = (self.image_size[0] // self.patch_size[0],
                          self.image_size[1] // self.patch_size[1])
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.in_channels, self.embed_dim = in_channels, embed_dim
        self.proj = Conv2d(in_channels, embed_dim, self.patch_size, stride=self.patch_size,
                           bias=bias, rng=rng, dtype=dtype)

    def forward(self, x):
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.in_channels,) + self.image_size:
            raise ValueError(f"PatchEmbedding: expected images (N, {self.in_channels}, "
                             f"{self.image_size[0]}, {self.image_size[1]}); got shape {x.shape}")
        n = x.shape[0]
        y = self.proj(x)                                            # (N, D, gh, gw)
        y = ops.reshape(y, (n, self.embed_dim, self.num_patches))   # (N, D, P)
        return ops.transpose(y, 1, 2)                               # (N, P, D)

    def extra_repr(self):
        return (f"image_size={self.image_size}, patch_size={self.patch_size}, "
                f"num_patches={self.num_patches}")
