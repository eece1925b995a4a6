"""The output layer of a language model tied to its input embedding (Press & Wolf, 2017).

    logits = x Eᵀ        x (B, T, C),  E the token-embedding matrix (V, C),  logits (B, T, V)

The head holds the embedding's Parameter itself, not a copy: both uses add into one gradient,
and ``named_parameters`` (which skips a Parameter it has seen) lists and saves it once, under
the embedding's name.
"""

from neural_arch.nn.module import Module
from neural_arch.ops.linear import LinearFn


class TiedLMHead(Module):
    """A bias-free Linear whose weight is ``embedding.weight`` (V, C)."""

    def __init__(self, embedding):
        super().__init__()
        self.weight = embedding.weight

    def forward(self, x):
        return LinearFn.apply(x, self.weight)  # (B, T, C) @ (C, V) -> (B, T, V)
