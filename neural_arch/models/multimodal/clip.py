"""CLIP: an image encoder and a text encoder trained to agree, by a symmetric contrastive loss.

References:
    Radford et al., "Learning Transferable Visual Models From Natural Language Supervision",
    ICML 2021 (arXiv:2103.00020), Figure 3 (the numpy-like pseudocode of the loss).
    OpenAI ``CLIP/clip/model.py``: text transformer pooled at the end-of-text token, projections
    without bias, ``logit_scale`` initialised to ln(1/0.07) and its temperature capped at 100.

For a batch of N (image, caption) pairs:

    I = normalize(visual(images) W_i)            (N, E)   ViT class token, final LayerNorm
    T = normalize(text(ids)[eot] W_t)             (N, E)   causal transformer, final LayerNorm
    logits_per_image = min(exp(logit_scale), 100) · I Tᵀ         (N, N); per_text is its ᵀ
    loss = (CE(logits_per_image, arange N) + CE(logits_per_text, arange N)) / 2
    (with ``labels``, every same-label pair is a positive: ``same_label_info_nce``)

The text encoder is causal, so the hidden state at the end-of-text position depends only on the
caption itself: padding after it changes nothing and no padding mask is needed.
"""

import math
from dataclasses import dataclass

import numpy as np

from neural_arch import functional as F
from neural_arch import nn, ops
from neural_arch.core import Tensor
from neural_arch.models.config_base import ConfigDict
from neural_arch.models.vision.vision_transformer import Block, VisionTransformer
from neural_arch.nn.init import init_linear_layers, trunc_normal_

MAX_TEMPERATURE = 100.0


@dataclass
class CLIPConfig(ConfigDict):
    image_size: int = 32
    patch_size: int = 4
    in_channels: int = 3
    vision_width: int = 64
    vision_layers: int = 2
    vision_heads: int = 4
    vocab_size: int = 256            # the trainer overrides this with the caption vocabulary
    context_length: int = 16
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 4
    embed_dim: int = 64
    init_logit_scale: float = math.log(1 / 0.07)
    seed: int = 0


class TextTransformer(nn.Module):
    """Token + position embeddings, pre-LN causal blocks, final LayerNorm: (B, T) -> (B, T, W)."""

    def __init__(self, config, rng):
        super().__init__()
        c = config
        self.token_embedding = nn.Embedding(c.vocab_size, c.text_width, rng=rng)
        self.positional_embedding = nn.Parameter(np.zeros((c.context_length, c.text_width),
                                                          dtype=np.float32))
        self.blocks = nn.ModuleList(Block(c.text_width, c.text_heads, 4.0, 0.0, rng,
                                          causal=True, eps=1e-5)
                                    for _ in range(c.text_layers))
        self.ln_final = nn.LayerNorm(c.text_width)
        nn.init.normal_(self.token_embedding.weight, rng, 0.0, 0.02)
        nn.init.normal_(self.positional_embedding, rng, 0.0, 0.01)
        init_linear_layers(self.blocks, rng)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.token_embedding(ids) + self.positional_embedding[:T]   # (B, T, W)
        for block in self.blocks:
            x = block(x)
        return self.ln_final(x)                                          # (B, T, W)


class CLIP(nn.Module):
    """``forward(images, text_ids, eot_index=None) -> (logits_per_image, logits_per_text,
    loss)``. ``eot_index`` (N,) is the position of each caption's end-of-text token; without it
    the position of the largest id is used (OpenAI's convention: end-of-text has the top id)."""

    def __init__(self, config=None):
        super().__init__()
        config = CLIPConfig.coerce(config)
        c = self.config = config
        rng = np.random.default_rng(c.seed)
        self.visual = VisionTransformer(image_size=c.image_size, patch_size=c.patch_size,
                                        in_channels=c.in_channels, num_classes=0,
                                        embed_dim=c.vision_width, depth=c.vision_layers,
                                        num_heads=c.vision_heads, mlp_ratio=4.0, dropout=0.0,
                                        seed=int(rng.integers(2**31)))
        self.text = TextTransformer(c, rng)
        self.image_projection = nn.Linear(c.vision_width, c.embed_dim, bias=False, rng=rng)
        self.text_projection = nn.Linear(c.text_width, c.embed_dim, bias=False, rng=rng)
        trunc_normal_(self.image_projection.weight, rng, c.vision_width ** -0.5)
        trunc_normal_(self.text_projection.weight, rng, c.text_width ** -0.5)
        self.logit_scale = nn.Parameter(np.array(c.init_logit_scale, dtype=np.float32))

    def _check_text(self, text_ids, eot_index):
        ids = text_ids.data if isinstance(text_ids, Tensor) else np.asarray(text_ids)
        c = self.config
        if ids.dtype.kind not in "iu" or ids.ndim != 2:
            raise ValueError(f"CLIP: text_ids must be an integer (N, T) array; got dtype "
                             f"{ids.dtype}, shape {ids.shape}")
        if ids.shape[1] > c.context_length:
            raise ValueError(f"CLIP: text length {ids.shape[1]} exceeds context_length="
                             f"{c.context_length}")
        if ids.size and (ids.min() < 0 or ids.max() >= c.vocab_size):
            raise ValueError(f"CLIP: token ids must lie in [0, {c.vocab_size}); got values "
                             f"from {ids.min()} to {ids.max()}")
        eot = ids.argmax(axis=1) if eot_index is None else np.asarray(
            eot_index.data if isinstance(eot_index, Tensor) else eot_index).astype(np.int64)
        if eot.shape != (ids.shape[0],) or (eot.size and (eot.min() < 0
                                                           or eot.max() >= ids.shape[1])):
            raise ValueError(f"CLIP: eot_index must be ({ids.shape[0]},) positions in "
                             f"[0, {ids.shape[1]}); got {eot.tolist()}")
        return ids.astype(np.int64), eot

    def encode_image(self, images):
        """L2-normalised image embeddings (N, embed_dim)."""
        return F.normalize(self.image_projection(self.visual.forward_features(images)))

    def encode_text(self, text_ids, eot_index=None):
        """L2-normalised text embeddings (N, embed_dim), read at each end-of-text token."""
        ids, eot = self._check_text(text_ids, eot_index)
        hidden = self.text(ids)                                          # (N, T, W)
        pooled = hidden[np.arange(ids.shape[0]), eot]                    # (N, W)
        return F.normalize(self.text_projection(pooled))

    def scale(self):
        """min(exp(logit_scale), 100) as a Tensor: the gradient flows while below the cap."""
        return ops.minimum(self.logit_scale.exp(), MAX_TEMPERATURE)

    def temperature(self):
        """The multiplier of the cosine similarities, exp(logit_scale) capped at 100."""
        return float(self.scale().item())

    def forward(self, images, text_ids, eot_index=None, labels=None):
        """``labels`` (N,), optional: pairs with equal labels are all positives (captions made
        from class labels); without them pair i matches only pair i, as in CLIP."""
        image = self.encode_image(images)                                # (N, E)
        text = self.encode_text(text_ids, eot_index)                     # (N, E)
        if image.shape[0] != text.shape[0]:
            raise ValueError(f"CLIP: {image.shape[0]} images but {text.shape[0]} captions")
        logits_per_image = self.scale() * (image @ text.T)               # (N, N)
        logits_per_text = logits_per_image.T                             # (N, N)
        if labels is None:
            targets = np.arange(image.shape[0])
            loss = (F.cross_entropy(logits_per_image, targets)
                    + F.cross_entropy(logits_per_text, targets)) / 2
        else:
            loss = same_label_info_nce(logits_per_image, np.asarray(labels))
        return logits_per_image, logits_per_text, loss


def same_label_info_nce(logits_per_image, labels):
    """CLIP's symmetric InfoNCE where every pair with the same label is a positive.

    When captions are made from class labels, a batch holds several images of each class and
    their captions mean the same thing; the one-positive loss would push them apart. Targets
    spread each row over its positives: T[i, j] = [y_i = y_j] / #{k : y_k = y_i}, and
        loss = ½ (mean_i -Σ_j T_ij log softmax_j(L)_ij + mean_j -Σ_i T_ij log softmax_i(L)_ij)
    which is CLIP's loss when all labels differ (T = I).
    """
    if labels.shape != (logits_per_image.shape[0],):
        raise ValueError(f"CLIP: labels must be ({logits_per_image.shape[0]},); got shape "
                         f"{labels.shape}")
    same = (labels[:, None] == labels[None, :]).astype(logits_per_image.dtype)  # (N, N)
    targets = same / same.sum(axis=1, keepdims=True)                    # rows sum to 1
    image_to_text = -(logits_per_image.log_softmax(axis=1) * targets).sum(axis=1).mean()
    text_to_image = -(logits_per_image.T.log_softmax(axis=1) * targets).sum(axis=1).mean()
    return (image_to_text + text_to_image) / 2
