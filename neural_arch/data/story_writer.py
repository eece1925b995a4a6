"""A token writer that knows the exact probability of every token it writes.

The story grammar (``story_grammar.py``) is an ordinary Python program that calls two methods:

* ``say("Once upon a time")`` writes tokens that are fixed by what came before (probability 1);
* ``choose({"sad": 3, "happy": 1})`` samples one phrase from weighted options and writes it.

For the optimal loss to be exact we need ``p(token | all previous tokens)`` for every token, not
just the probability of the choices the program made.  Two rules give us that:

1. **Every choice is written immediately.**  The program never makes a hidden choice; whatever
   it decides shows up in the very next tokens.
2. **Options are prefix-free.**  No option's token list is a prefix of another option's (checked
   on every call).  So reading the tokens tells you which option was taken, and where it ends.

Under these rules the state of the program after any token prefix is a function of that prefix
alone, so the text has a single derivation.  Inside one choice, several options can share their
first words ("red ball", "red kite"); the conditional of each word is then the weight of the
options still consistent with the words so far, divided by the weight consistent before it --
the walk down a trie of the options.  Multiplying these conditionals gives back the option's
weight, and summing the per-token log-probabilities gives the exact log-probability of the text.

The same writer can *replay* a given token list instead of sampling: each ``choose`` then picks
the one option that matches the upcoming tokens.  Replaying a sampled story and getting the same
log-probabilities is an independent check that the text really has one derivation.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np


class StoryWriter:
    """Writes tokens while recording ``log p(token | prefix)`` for each one.

    Args:
        rng: the generator used to sample choices (ignored when replaying).
        replay: if given, a token list to re-derive instead of sampling.
    """

    def __init__(self, rng: np.random.Generator | None = None,
                 replay: Sequence[str] | None = None):
        if rng is None and replay is None:
            raise ValueError("StoryWriter needs an rng to sample or a token list to replay")
        self.rng = rng
        self.replay = list(replay) if replay is not None else None
        self.tokens: list[str] = []
        self.log_probs: list[float] = []

    def __len__(self) -> int:
        return len(self.tokens)

    def _write(self, token: str, log_prob: float) -> None:
        if self.replay is not None:
            position = len(self.tokens)
            if position >= len(self.replay) or self.replay[position] != token:
                found = self.replay[position] if position < len(self.replay) else "<end>"
                raise ValueError(f"replay diverged at token {position}: the grammar writes "
                                 f"{token!r} with probability 1 but the text has {found!r}")
        self.tokens.append(token)
        self.log_probs.append(log_prob)

    def say(self, phrase: str) -> None:
        """Write tokens that are determined by the prefix (probability 1 each)."""
        for token in phrase.split():
            self._write(token, 0.0)

    def choose(self, options: Mapping[str, float]) -> str:
        """Sample one phrase from ``{phrase: weight}``, write it and return it.

        Weights need not sum to one; zero-weight options are dropped.  The per-token
        log-probabilities written are the exact conditionals described in the module docstring.
        """
        phrases = [p for p, w in options.items() if w > 0]
        if not phrases:
            raise ValueError("choose() needs at least one option with positive weight")
        weights = np.array([float(options[p]) for p in phrases])
        token_lists = [p.split() for p in phrases]
        _check_prefix_free(token_lists)
        index = self._pick(token_lists, weights)
        # Walk the trie of options along the chosen one, one token at a time.
        alive = list(range(len(phrases)))
        mass = weights.sum()
        for k, token in enumerate(token_lists[index]):
            alive = [j for j in alive if k < len(token_lists[j]) and token_lists[j][k] == token]
            new_mass = weights[alive].sum()
            self._write(token, math.log(new_mass / mass))
            mass = new_mass
        return phrases[index]

    def _pick(self, token_lists: list[list[str]], weights: np.ndarray) -> int:
        if self.replay is None:
            cumulative = np.cumsum(weights)
            u = self.rng.random() * cumulative[-1]
            return int(np.searchsorted(cumulative, u, side="right").clip(0, len(weights) - 1))
        # Replay: the single option whose tokens match what the text says next.
        start = len(self.tokens)
        matches = [j for j, toks in enumerate(token_lists)
                   if self.replay[start:start + len(toks)] == toks]
        if len(matches) != 1:
            raise ValueError(f"replay at token {start}: {len(matches)} options match the text "
                             f"(options: {[' '.join(t) for t in token_lists]})")
        return matches[0]


# Option lists already checked; the grammar reuses the same few hundred, so check each once.
_checked: set[tuple[tuple[str, ...], ...]] = set()


def _check_prefix_free(token_lists: list[list[str]]) -> None:
    """Raise if one option is a prefix of (or equal to) another; see rule 2 above."""
    key = tuple(tuple(t) for t in token_lists)
    if key in _checked:
        return
    for i, a in enumerate(token_lists):
        if not a:
            raise ValueError("an option must write at least one token (no hidden choices)")
        for j, b in enumerate(token_lists):
            if i != j and len(a) <= len(b) and b[:len(a)] == a:
                raise ValueError(f"options are not prefix-free: {' '.join(a)!r} starts "
                                 f"{' '.join(b)!r}")
    _checked.add(key)
