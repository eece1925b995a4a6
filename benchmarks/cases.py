"""The benchmark cases: which model, which config, which batch, and how many FLOPs a step costs.

A case is plain data (picklable), so the parent process can hand it to the worker processes that
build and run the models. Inputs are drawn from ``np.random.default_rng(1)`` in each worker, so
both sides see identical batches without shipping them around.

FLOPs per step (stated in the output, after Kaplan et al. 2020 and nanoGPT's ``estimate_mfu``):

    train:  6 · N · tokens + 12 · L · T · C · tokens
    infer:  2 · N · tokens +  4 · L · T · C · tokens

N counts the weights that take part in a matrix product per token (every Linear, the tied
lm_head, ViT's patch projection; not biases, norms or embedding lookups), L the layers, T the
sequence length and C the width. The second term is attention's q·kᵀ and p·v over the full
T × T square (no discount for the causal mask: neither side skips the masked half entirely).
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    name: str                 # short id, e.g. "gpt2-seed-train"
    model: str                # "gpt2" | "vit" | "bert"
    mode: str                 # "train" (forward + backward + AdamW) | "infer" (forward only)
    config: dict              # the neural_arch config (dropout 0 so both sides are deterministic)
    batch: int
    seq: int                  # tokens per sample (ViT: 1 + patches)
    label: str = ""           # human description printed in the table
    quick: bool = False       # part of the --quick pass
    # also time the neural_arch side in a process that has imported torch (GPT-2 training)
    check_with_torch_imported: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def tokens(self):
        return self.batch * self.seq

    @property
    def unit(self):
        return "images" if self.model == "vit" else "tokens"

    @property
    def items(self):
        """What a step processes, in ``unit``s (images for ViT, tokens otherwise)."""
        return self.batch if self.model == "vit" else self.tokens


def _gpt2(name, vocab, n_embd, n_layer, n_head, batch, block, quick=False):
    config = dict(vocab_size=vocab, n_positions=block, n_embd=n_embd, n_layer=n_layer,
                  n_head=n_head, dropout=0.0, seed=0)
    label = f"GPT-2 {name}: V{vocab} C{n_embd} L{n_layer} H{n_head}, B{batch}×T{block}"
    return [Case(f"gpt2-{name}-{mode}", "gpt2", mode, config, batch, block, label, quick,
                 check_with_torch_imported=(mode == "train"))
            for mode in ("train", "infer")]


VIT_TINY = dict(image_size=32, patch_size=4, in_channels=3, num_classes=10, embed_dim=192,
                depth=12, num_heads=3, mlp_ratio=4.0, dropout=0.0, seed=0)
BERT_MINI = dict(vocab_size=4096, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                 intermediate_size=1024, max_position_embeddings=128, hidden_dropout_prob=0.0,
                 attention_probs_dropout_prob=0.0, num_labels=2, seed=0)


def all_cases():
    """Every case of the full run, smallest first."""
    cases = (_gpt2("seed", 200, 128, 3, 4, 4, 64, quick=True)
             + _gpt2("nanogpt-cpu", 65, 128, 4, 4, 12, 64)
             + _gpt2("small", 512, 384, 6, 6, 8, 256))
    cases.append(Case("vit-tiny-train", "vit", "train", VIT_TINY, 8, 65,
                      "ViT-Ti/4 on 32×32: D192 L12 H3, batch 8 (65 tokens)"))
    cases.append(Case("bert-mini-train", "bert", "train", BERT_MINI, 8, 128,
                      "BERT-mini classifier: V4096 H256 L4 A4 I1024, B8×T128"))
    return cases


def tiny_gpt2_case(mode="train"):
    """A seconds-long case for tests."""
    config = dict(vocab_size=50, n_positions=16, n_embd=32, n_layer=2, n_head=2, dropout=0.0,
                  seed=0)
    return Case(f"gpt2-tiny-{mode}", "gpt2", mode, config, 2, 16, "GPT-2 tiny (test)", True)


# ----------------------------------------------------------------------------------- FLOPs

def _matmul_weights(case):
    """(N, L, C) for the FLOP formula in the module docstring."""
    c = case.config
    if case.model == "gpt2":
        C, L = c["n_embd"], c["n_layer"]
        return 12 * L * C * C + c["vocab_size"] * C, L, C
    if case.model == "vit":
        C, L = c["embed_dim"], c["depth"]
        hidden = int(C * c["mlp_ratio"])
        patch = c["in_channels"] * c["patch_size"] ** 2 * C
        return L * (4 * C * C + 2 * C * hidden) + patch, L, C
    C, L = c["hidden_size"], c["num_hidden_layers"]
    return L * (4 * C * C + 2 * C * c["intermediate_size"]), L, C


def flops_per_step(case):
    n, layers, width = _matmul_weights(case)
    dense, attn = (6, 12) if case.mode == "train" else (2, 4)
    return float(case.tokens * (dense * n + attn * layers * case.seq * width))


def make_inputs(case):
    """The batch of one step as NumPy arrays (identical in every process)."""
    rng = np.random.default_rng(1)
    c = case.config
    if case.model == "gpt2":
        data = rng.integers(0, c["vocab_size"], size=(case.batch, case.seq + 1))
        return {"idx": data[:, :-1].copy(), "targets": data[:, 1:].copy()}
    if case.model == "vit":
        images = rng.standard_normal((case.batch, c["in_channels"], c["image_size"],
                                      c["image_size"])).astype(np.float32)
        return {"images": images, "targets": rng.integers(0, c["num_classes"], case.batch)}
    ids = rng.integers(0, c["vocab_size"], size=(case.batch, case.seq))
    mask = np.ones((case.batch, case.seq), dtype=np.int64)
    mask[: case.batch // 2, -case.seq // 8:] = 0  # half the rows end in padding
    return {"input_ids": ids, "attention_mask": mask,
            "labels": rng.integers(0, c["num_labels"], case.batch)}
