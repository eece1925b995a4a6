"""PyTorch eager references of the benchmarked models, with neural_arch's parameter names.

Each class builds the same architecture as its neural_arch counterpart and registers its
parameters under the same dotted names and shapes (Linear weights (out, in) on both sides), so
``load_from_numpy(model, {name: array})`` copies weights across one to one. Only the forward pass
matters here: initial values always come from the neural_arch model.

    GPT2          <-> neural_arch.models.language.gpt2.GPT2LMHead   (tied lm_head, tanh GELU)
    ViT           <-> neural_arch.models.vision.vision_transformer.VisionTransformer
    BertClassifier <-> neural_arch.models.language.bert_classifier.BertForSequenceClassification

This module imports torch at the top: import it only after checking that torch is installed.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def load_from_numpy(model, arrays):
    """Copy ``{name: ndarray}`` into ``model``'s parameters; every name must match both ways."""
    params = dict(model.named_parameters())
    missing, unexpected = set(params) - set(arrays), set(arrays) - set(params)
    if missing or unexpected:
        raise ValueError(f"parameter names differ: missing {sorted(missing)}, "
                         f"unexpected {sorted(unexpected)}")
    with torch.no_grad():
        for name, p in params.items():
            if tuple(p.shape) != arrays[name].shape:
                raise ValueError(f"{name}: torch shape {tuple(p.shape)} != {arrays[name].shape}")
            p.copy_(torch.from_numpy(np.ascontiguousarray(arrays[name])))


# ----------------------------------------------------------------------------------------- GPT-2

class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, bias):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)      # (B, nh, T, hs)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class GPT2Block(nn.Module):
    def __init__(self, n_embd, n_head, eps, bias):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, eps=eps, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, bias)
        self.ln_2 = nn.LayerNorm(n_embd, eps=eps, bias=bias)
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.mlp.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        h = F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh")
        return x + self.mlp.c_proj(h)


class GPT2(nn.Module):
    """nanoGPT-style GPT-2; ``config`` is neural_arch's GPT2Config (dropout must be 0)."""

    def __init__(self, config):
        super().__init__()
        c = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c.vocab_size, c.n_embd),
            wpe=nn.Embedding(c.n_positions, c.n_embd),
            h=nn.ModuleList(GPT2Block(c.n_embd, c.n_head, c.layer_norm_eps, c.bias)
                            for _ in range(c.n_layer)),
            ln_f=nn.LayerNorm(c.n_embd, eps=c.layer_norm_eps, bias=c.bias),
        ))

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        pos = torch.arange(T, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)       # (B, T, C)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = x @ self.transformer.wte.weight.t()                      # tied head (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


# ------------------------------------------------------------------------------------------- ViT

class ViTBlock(nn.Module):
    def __init__(self, dim, num_heads, hidden):
        super().__init__()
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(dim, 3 * dim)
        self.attn.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(dim, hidden)
        self.mlp.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        B, T, D = x.shape
        qkv = self.attn.qkv(self.norm1(x)).reshape(B, T, 3, self.num_heads, D // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)                   # (B, nh, T, hs) each
        y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, T, D)
        x = x + self.attn.proj(y)
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))


class ViT(nn.Module):
    """timm-style ViT classifier; ``c`` is neural_arch's ViTConfig."""

    def __init__(self, c):
        super().__init__()
        n_patches = (c.image_size // c.patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + n_patches, c.embed_dim))
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(c.in_channels, c.embed_dim, c.patch_size,
                                          stride=c.patch_size)
        hidden = int(c.embed_dim * c.mlp_ratio)
        self.blocks = nn.ModuleList(ViTBlock(c.embed_dim, c.num_heads, hidden)
                                    for _ in range(c.depth))
        self.norm = nn.LayerNorm(c.embed_dim, eps=1e-6)
        self.head = nn.Linear(c.embed_dim, c.num_classes)

    def forward(self, images, targets=None):
        x = self.patch_embed.proj(images).flatten(2).transpose(1, 2)     # (N, P, D)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.norm(x[:, 0]))                           # (N, classes)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


# ------------------------------------------------------------------------------------------ BERT

def _linear(module, name, n_in, n_out):
    setattr(module, name, nn.Linear(n_in, n_out))


class BertLayer(nn.Module):
    """Post-LN encoder layer with Hugging Face names (attention.self.query, output.dense ...)."""

    def __init__(self, h, n_head, inter, eps):
        super().__init__()
        self.n_head, self.eps = n_head, eps
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        for name in ("query", "key", "value"):
            _linear(self.attention.self, name, h, h)
        self.attention.output = nn.Module()
        _linear(self.attention.output, "dense", h, h)
        self.attention.output.LayerNorm = nn.LayerNorm(h, eps=eps)
        self.intermediate = nn.Module()
        _linear(self.intermediate, "dense", h, inter)
        self.output = nn.Module()
        _linear(self.output, "dense", inter, h)
        self.output.LayerNorm = nn.LayerNorm(h, eps=eps)

    def forward(self, x, mask):
        B, T, H = x.shape
        s = self.attention.self

        def heads(t):
            return t.view(B, T, self.n_head, H // self.n_head).transpose(1, 2)

        y = F.scaled_dot_product_attention(heads(s.query(x)), heads(s.key(x)), heads(s.value(x)),
                                           attn_mask=mask)
        y = y.transpose(1, 2).reshape(B, T, H)
        a = self.attention.output.LayerNorm(self.attention.output.dense(y) + x)
        h = self.output.dense(F.gelu(self.intermediate.dense(a)))
        return self.output.LayerNorm(h + a)


class BertClassifier(nn.Module):
    """BERT encoder + tanh pooler + classifier; ``c`` is neural_arch's BERTConfig."""

    def __init__(self, c):
        super().__init__()
        h, eps = c.hidden_size, c.layer_norm_eps
        self.bert = nn.Module()
        emb = self.bert.embeddings = nn.Module()
        emb.word_embeddings = nn.Embedding(c.vocab_size, h)
        emb.position_embeddings = nn.Embedding(c.max_position_embeddings, h)
        emb.token_type_embeddings = nn.Embedding(c.type_vocab_size, h)
        emb.LayerNorm = nn.LayerNorm(h, eps=eps)
        self.bert.encoder = nn.Module()
        self.bert.encoder.layer = nn.ModuleList(
            BertLayer(h, c.num_attention_heads, c.intermediate_size, eps)
            for _ in range(c.num_hidden_layers))
        self.bert.pooler = nn.Module()
        _linear(self.bert.pooler, "dense", h, h)
        self.classifier = nn.Linear(h, c.num_labels)

    def forward(self, input_ids, attention_mask, labels=None):
        emb = self.bert.embeddings
        T = input_ids.shape[1]
        x = emb.word_embeddings(input_ids) + emb.position_embeddings(torch.arange(T))
        x = emb.LayerNorm(x + emb.token_type_embeddings(torch.zeros_like(input_ids)))
        mask = attention_mask.bool()[:, None, None, :]                    # (B, 1, 1, Tk)
        for layer in self.bert.encoder.layer:
            x = layer(x, mask)
        pooled = torch.tanh(self.bert.pooler.dense(x[:, 0]))
        logits = self.classifier(pooled)
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return logits, loss
