"""Vision Transformer (ViT): an image cut into patches, read by a pre-LN transformer encoder.

References:
    Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
    Scale", ICLR 2021 (arXiv:2010.11929).
    timm ``timm/models/vision_transformer.py`` (VisionTransformer, Block, Attention, Mlp): the
    module tree and parameter names (``patch_embed.proj``, ``cls_token``, ``pos_embed``,
    ``blocks.0.attn.qkv``, ``norm``, ``head``), so vit_base_patch16_224 has exactly 86,567,656
    parameters here as there.

For an image (C, H, W) with P = (H/p)·(W/p) patches of p×p pixels and width D:

    z0 = [cls; patches · E] + pos_embed                 (1 + P, D)
    z  = z + Attn(LN1(z));  z = z + MLP(LN2(z))          per block (pre-LN, GELU MLP)
    logits = head(LN(z)[0])                              the class token is the summary

``Block`` also serves CLIP's causal text encoder (``causal=True``).
"""

from dataclasses import dataclass, replace

import numpy as np

from neural_arch import functional as F
from neural_arch import nn, ops
from neural_arch.core import Tensor
from neural_arch.models.config_base import ConfigDict
from neural_arch.nn import init


@dataclass
class ViTConfig(ConfigDict):
    image_size: int = 32
    patch_size: int = 4
    in_channels: int = 3
    num_classes: int = 10
    embed_dim: int = 64
    depth: int = 3
    num_heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if self.image_size % self.patch_size:
            raise ValueError(f"VisionTransformer: image_size {self.image_size} is not divisible "
                             f"by patch_size {self.patch_size}")


class Attention(nn.Module):
    """Multi-head self-attention with one fused ``qkv`` projection and an output ``proj``."""

    def __init__(self, dim, num_heads, dropout, rng, causal=False):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"Attention: dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads, self.causal = num_heads, causal
        self.qkv = nn.Linear(dim, 3 * dim, rng=rng)
        self.proj = nn.Linear(dim, dim, rng=rng)
        self.proj_drop = nn.Dropout(dropout, rng=rng)

    def forward(self, x):
        # qkv (B, T, 3D) holds [q | k | v], each D = num_heads * hs: split into heads, attend,
        # put the heads side by side again, in one op (F.qkv_attention).
        y = F.qkv_attention(self.qkv(x), self.num_heads, causal=self.causal)  # (B, T, D)
        return self.proj_drop(self.proj(y))


class Mlp(nn.Module):
    """fc2(GELU(fc1(x))) with the exact erf GELU."""

    def __init__(self, dim, hidden, dropout, rng):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, rng=rng)
        self.fc2 = nn.Linear(hidden, dim, rng=rng)
        self.drop = nn.Dropout(dropout, rng=rng)

    def forward(self, x):
        return self.drop(self.fc2(F.gelu(self.fc1(x))))


class Block(nn.Module):
    """Pre-LN transformer block: x + Attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim, num_heads, mlp_ratio, dropout, rng, causal=False, eps=1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, dropout, rng, causal=causal)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dropout, rng)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT classifier. ``forward(images (N, C, H, W), targets=None) -> (logits, loss)``;
    ``num_classes=0`` gives a feature extractor (``head`` is the identity), as in timm.

    ``config`` is a ViTConfig, a dict or None (the defaults); keyword arguments override its
    fields, timm style: ``VisionTransformer(image_size=224, patch_size=16, num_classes=1000)``.
    """

    def __init__(self, config=None, **overrides):
        super().__init__()
        c = self.config = replace(ViTConfig.coerce(config), **overrides)
        self.num_patches = (c.image_size // c.patch_size) ** 2
        rng = np.random.default_rng(c.seed)
        self.patch_embed = nn.PatchEmbedding(c.image_size, c.patch_size, c.in_channels,
                                             c.embed_dim, rng=rng)        # a Conv2d "proj"
        self.cls_token = nn.Parameter(np.zeros((1, 1, c.embed_dim), dtype=np.float32))
        self.pos_embed = nn.Parameter(np.zeros((1, 1 + self.num_patches, c.embed_dim),
                                               dtype=np.float32))
        self.pos_drop = nn.Dropout(c.dropout, rng=rng)
        self.blocks = nn.ModuleList(Block(c.embed_dim, c.num_heads, c.mlp_ratio, c.dropout, rng)
                                    for _ in range(c.depth))
        self.norm = nn.LayerNorm(c.embed_dim, eps=1e-6)
        self.head = (nn.Linear(c.embed_dim, c.num_classes, rng=rng) if c.num_classes
                     else nn.Identity())
        init.trunc_normal_(self.pos_embed, rng)
        init.trunc_normal_(self.cls_token, rng)
        init.init_linear_layers(self.blocks, rng)
        init.init_linear_layers(self.head, rng)

    @classmethod
    def from_config(cls, config):
        """Build from a ViTConfig or a dict (unknown keys ignored), as ``cls(config)`` does."""
        return cls(config)

    def _check_images(self, images):
        x = images if isinstance(images, Tensor) else Tensor(np.asarray(images, np.float32))
        c = self.config
        expected = (c.in_channels, c.image_size, c.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"VisionTransformer: images must be (N, {c.in_channels}, "
                             f"{c.image_size}, {c.image_size}); got shape {x.shape}")
        return x

    def forward_features(self, images):
        """The final-LayerNorm'd class token, (N, D)."""
        x = self.patch_embed(self._check_images(images))                 # (N, P, D)
        N, _, D = x.shape
        cls = ops.broadcast_to(self.cls_token, (N, 1, D))                # (N, 1, D)
        x = ops.concatenate([cls, x], axis=1) + self.pos_embed           # (N, 1 + P, D)
        x = self.pos_drop(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x[:, 0])                                        # (N, D)

    def forward(self, images, targets=None):
        logits = self.head(self.forward_features(images))                # (N, classes)
        if targets is None:
            return logits, None
        t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
        return logits, F.cross_entropy(logits, t)
