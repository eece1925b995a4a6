"""A word-level tokenizer: one id per word of a fixed vocabulary.

Used for the digit captions (a closed word list) and for BERT trained from scratch on movie
reviews (the training words seen often enough; the rest become ``unk_token``). A plain lookup
table is the whole tokenizer: one id per word, one id per punctuation mark, and a few special
tokens (``<pad>``, ``<bos>``, ``[CLS]``, ...) that are kept whole when they appear in text.

Splitting rule: a special token, else a run of letters/digits/underscores (``\\w+``), else a single
punctuation character.  ``"Tom was sad."`` becomes ``["Tom", "was", "sad", "."]``.  Case is kept
("He" and "he" are different words); callers lower-case first where they want it folded.

``decode`` joins words with spaces and glues closing punctuation to the word before it, which is
how the captions are written, so ``decode(encode(text)) == text`` for them.

The tokenizer saves to and loads from a small JSON file (never pickle).
"""

from __future__ import annotations

import json
import os
import re
from typing import Iterable, Sequence

# Punctuation that attaches to the previous word when text is rendered ("sad ." -> "sad.").
_CLOSING_PUNCTUATION = {".", ",", "!", "?", ";", ":"}


def join_words(words: Sequence[str]) -> str:
    """Render word tokens as text: spaces between words, none before closing punctuation."""
    text = ""
    for word in words:
        if text and word not in _CLOSING_PUNCTUATION:
            text += " "
        text += word
    return text


class WordTokenizer:
    """Maps words to integer ids and back.

    Args:
        vocab: the token list; a token's id is its position.  Must contain ``pad_token`` and
            ``unk_token`` and no duplicates.
        pad_token, unk_token: padding and out-of-vocabulary tokens.
        special_tokens: further tokens kept whole by ``split`` (``<bos>``, ``[CLS]``, ...).
    """

    def __init__(self, vocab: Sequence[str], pad_token: str = "<pad>", unk_token: str = "<unk>",
                 special_tokens: Sequence[str] = ()):
        self.vocab = list(vocab)
        if len(set(self.vocab)) != len(self.vocab):
            raise ValueError("vocab contains duplicate tokens")
        self.token_to_id = {token: i for i, token in enumerate(self.vocab)}
        for token in (pad_token, unk_token, *special_tokens):
            if token not in self.token_to_id:
                raise ValueError(f"special token {token!r} is missing from the vocab")
        self.pad_token = pad_token
        self.unk_token = unk_token
        self.special_tokens = [pad_token, unk_token] + [t for t in special_tokens
                                                         if t not in (pad_token, unk_token)]
        # Longest specials first so that no special is cut short by a shorter one.
        specials = sorted(self.special_tokens, key=len, reverse=True)
        alternatives = [re.escape(t) for t in specials] + [r"\w+", r"[^\w\s]"]
        self._pattern = re.compile("|".join(alternatives))

    @property
    def pad_id(self) -> int:
        return self.token_to_id[self.pad_token]

    @property
    def unk_id(self) -> int:
        return self.token_to_id[self.unk_token]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return len(self.vocab)

    def id_of(self, token: str) -> int:
        """The id of one token (``KeyError`` if it is not in the vocab)."""
        return self.token_to_id[token]

    def split(self, text: str) -> list[str]:
        """Split text into word tokens (see the module docstring for the rule)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self._pattern.findall(text)

    def encode(self, text: str) -> list[int]:
        """Text -> ids; unknown words map to the ``unk_token`` id."""
        unk = self.unk_id
        return [self.token_to_id.get(word, unk) for word in self.split(text)]

    def encode_words(self, words: Iterable[str]) -> list[int]:
        """Already-split words -> ids; unknown words map to the ``unk_token`` id."""
        unk = self.unk_id
        return [self.token_to_id.get(word, unk) for word in words]

    def decode(self, ids: Iterable[int], skip_special: bool = False) -> str:
        """Ids -> text.  With ``skip_special`` the special tokens (pad, bos, ...) are dropped."""
        skip = set(self.special_tokens) if skip_special else set()
        words = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.vocab):
                raise ValueError(f"token id {i} is outside the vocab of size {len(self.vocab)}")
            if self.vocab[i] not in skip:
                words.append(self.vocab[i])
        return join_words(words)

    # ----------------------------------------------------------------- JSON persistence
    def to_dict(self) -> dict:
        return {"vocab": self.vocab, "pad_token": self.pad_token, "unk_token": self.unk_token,
                "special_tokens": self.special_tokens}

    def save(self, path: str | os.PathLike) -> None:
        """Write the tokenizer as JSON."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "WordTokenizer":
        """Read a tokenizer written by ``save``."""
        with open(path, "r", encoding="utf-8") as f:
            state = json.load(f)
        if not isinstance(state, dict) or "vocab" not in state:
            raise ValueError(f"{path}: not a WordTokenizer JSON file (no 'vocab' key)")
        return cls(state["vocab"], pad_token=state["pad_token"], unk_token=state["unk_token"],
                   special_tokens=state.get("special_tokens", ()))
