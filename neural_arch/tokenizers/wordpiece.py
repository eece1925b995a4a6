"""BERT's WordPiece tokenizer, reading a Hugging Face ``vocab.txt``.

Two stages, exactly as in the original BERT code and Hugging Face's ``BertTokenizer``
(uncased models):

1. **Basic tokenization** -- drop control characters and U+FFFD, turn every whitespace
   character into a space, put spaces around CJK ideographs, normalise to NFC, split on
   whitespace; then per word: lower-case, strip accents (NFD, drop combining marks ``Mn``), and
   split off each punctuation character as its own token.
2. **WordPiece** -- split each word greedily into the longest vocab entries from the left;
   pieces after the first are looked up with a ``##`` prefix ("playing" -> "play", "##ing").
   A word that cannot be covered, or is longer than 100 characters, becomes ``[UNK]`` whole.

Special tokens written in the text (``[MASK]``, ``[SEP]``, ...) are kept whole, as Hugging Face
does for its added tokens.  ``encode`` adds ``[CLS]`` ... ``[SEP]`` and truncates from the right,
keeping ``[SEP]`` last; ``encode_batch`` pads with ``[PAD]`` and returns the attention mask.

Checked against the real ``bert-base-uncased`` vocab (30,522 tokens) in the tests.
"""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Sequence

import numpy as np

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


# ----------------------------------------------------------------- character classes
def _is_whitespace(ch: str) -> bool:
    # \t, \n and \r are control characters in Unicode, but BERT treats them as whitespace.
    return ch in (" ", "\t", "\n", "\r") or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # All non-letter/number ASCII counts as punctuation ("$", "^", "`" are not Unicode "P*").
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    """CJK Unified Ideographs blocks (Han characters; not Hangul, Hiragana or Katakana)."""
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


# ----------------------------------------------------------------- basic tokenizer
def basic_tokenize(text: str, lower_case: bool = True) -> list[str]:
    """Stage 1: clean, split on whitespace and punctuation, lower-case, strip accents."""
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            cleaned.append(" ")
        elif _is_cjk(cp):
            cleaned.append(f" {ch} ")
        else:
            cleaned.append(ch)
    text = unicodedata.normalize("NFC", "".join(cleaned))
    tokens = []
    for word in text.split():
        if lower_case:
            word = word.lower()
            word = "".join(c for c in unicodedata.normalize("NFD", word)
                           if unicodedata.category(c) != "Mn")
        # Every punctuation character becomes a token of its own.
        current = ""
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    tokens.append(current)
                tokens.append(ch)
                current = ""
            else:
                current += ch
        if current:
            tokens.append(current)
    return tokens


# ----------------------------------------------------------------- the tokenizer
class WordPieceTokenizer:
    """BERT (uncased by default) tokenizer over a vocab list; a token's id is its line number."""

    def __init__(self, vocab: Sequence[str], lower_case: bool = True,
                 max_input_chars_per_word: int = 100):
        self.vocab = list(vocab)
        self.token_to_id = {}
        for i, token in enumerate(self.vocab):
            self.token_to_id.setdefault(token, i)   # first occurrence wins, as in HF
        missing = [t for t in SPECIAL_TOKENS if t not in self.token_to_id]
        if missing:
            raise ValueError(f"vocab is missing the special tokens {missing}")
        self.lower_case = lower_case
        self.max_input_chars_per_word = max_input_chars_per_word
        self.pad_id = self.token_to_id["[PAD]"]
        self.unk_id = self.token_to_id["[UNK]"]
        self.cls_id = self.token_to_id["[CLS]"]
        self.sep_id = self.token_to_id["[SEP]"]
        self.mask_id = self.token_to_id["[MASK]"]
        specials = sorted(SPECIAL_TOKENS, key=len, reverse=True)
        self._special_pattern = re.compile("(" + "|".join(re.escape(t) for t in specials) + ")")

    @classmethod
    def from_file(cls, path: str | os.PathLike, lower_case: bool = True) -> "WordPieceTokenizer":
        """Read a ``vocab.txt`` (one token per line) or a directory that holds one."""
        if os.path.isdir(path):
            path = os.path.join(path, "vocab.txt")
        with open(path, "r", encoding="utf-8") as f:
            vocab = [line.rstrip("\n") for line in f]
        return cls(vocab, lower_case=lower_case)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def wordpiece(self, word: str) -> list[str]:
        """Stage 2: greedy longest-match-first split of one basic token."""
        if len(word) > self.max_input_chars_per_word:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            piece = None
            while start < end:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.token_to_id:
                    piece = candidate
                    break
                end -= 1
            if piece is None:
                return ["[UNK]"]   # one uncoverable character spoils the whole word
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """Text -> WordPiece tokens (no ``[CLS]`` / ``[SEP]`` added)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        tokens = []
        # Special tokens typed in the text pass through untouched.
        for chunk in self._special_pattern.split(text):
            if chunk in SPECIAL_TOKENS:
                tokens.append(chunk)
                continue
            for word in basic_tokenize(chunk, self.lower_case):
                tokens.extend(self.wordpiece(word))
        return tokens

    def convert_tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.token_to_id.get(t, self.unk_id) for t in tokens]

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        """``[CLS] tokens [SEP]`` as ids; truncated to ``max_length`` with ``[SEP]`` kept last."""
        ids = self.convert_tokens_to_ids(self.tokenize(text))
        if max_length is not None:
            if max_length < 2:
                raise ValueError(f"max_length must be at least 2 ([CLS] and [SEP]), "
                                 f"got {max_length}")
            ids = ids[:max_length - 2]
        return [self.cls_id] + ids + [self.sep_id]

    def encode_batch(self, texts: Sequence[str], max_length: int | None = None,
                     pad_to_max_length: bool = False):
        """Encode and pad with ``[PAD]``: ``(input_ids, attention_mask)``, int64 ``(B, L)``.

        Rows are truncated to ``max_length`` (if given).  ``L`` is the longest encoded row --
        Hugging Face's ``padding=True`` -- or exactly ``max_length`` with ``pad_to_max_length``
        (``padding="max_length"``).  The mask is 1 on real tokens and 0 on padding.
        """
        if isinstance(texts, str):
            raise TypeError("encode_batch takes a list of texts; use encode for one text")
        if pad_to_max_length and max_length is None:
            raise ValueError("pad_to_max_length=True needs a max_length")
        rows = [self.encode(t, max_length) for t in texts]
        length = max((len(r) for r in rows), default=2)
        if pad_to_max_length:
            length = max_length
        input_ids = np.full((len(rows), length), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(rows), length), dtype=np.int64)
        for i, row in enumerate(rows):
            input_ids[i, :len(row)] = row
            attention_mask[i, :len(row)] = 1
        return input_ids, attention_mask

    def decode(self, ids: Sequence[int], skip_special: bool = True) -> str:
        """Ids -> text, joining ``##`` pieces back onto their word (lower-cased, as tokenized)."""
        tokens = [self.vocab[int(i)] for i in ids]
        if skip_special:
            tokens = [t for t in tokens if t not in SPECIAL_TOKENS]
        return " ".join(tokens).replace(" ##", "")
