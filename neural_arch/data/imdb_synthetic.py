"""Synthetic IMDB: short movie reviews whose label depends on word order.

What the data is
    Lower-case reviews such as

        i saw it with my family. the acting was very bad but the story was not boring.

    labelled 1 (positive) or 0 (negative), balanced, tokenised BERT-style:
    ``[CLS] words ... [SEP] [PAD] ...`` with an attention mask (1 = real token, 0 = padding).

How it is generated
    A review is one verdict sentence with up to two neutral filler sentences before or after
    it.  The verdict is one of

    * ``CLAUSE .``                              -- a single opinion;
    * ``CLAUSE but CLAUSE .``                   -- a contrast;
    * ``although CLAUSE , CLAUSE .``            -- a concession;

    and a clause is ``the ASPECT was [not] [INTENSIFIER] ADJECTIVE``.

The label rule (a deterministic function of the text, see ``review_label``)
    The **last clause decides**: its adjective's polarity, flipped if the clause says "not".
    Intensifiers ("very", "really") do not change the polarity; fillers carry none; the first
    clause of a contrast or concession is overruled whatever it says.

Why it is hard enough
    A bag of words loses exactly what decides the label: which adjective comes last and which
    one "not" belongs to.  "the acting was bad but the story was great" and "the acting was
    great but the story was bad" have the same bag and opposite labels, and "not" flips
    polarity, which no single linear weight can express.  Bag-of-words softmax regression stays
    below 80 % (about 55-70 %), while a model that reads the order can reach 100 %: the label
    is a function of the text, with no label noise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .batching import split_sizes
from .word_tokenizer import WordTokenizer, join_words

ASPECTS = ["acting", "story", "music", "ending", "plot", "cast", "script", "dialogue", "pacing",
           "movie"]
POSITIVE = ["good", "great", "excellent", "wonderful", "brilliant", "amazing", "fun",
            "beautiful", "clever", "charming"]
NEGATIVE = ["bad", "terrible", "awful", "boring", "weak", "dull", "poor", "horrible", "silly",
            "bland"]
INTENSIFIERS = ["very", "really", "so", "quite", "truly", "extremely"]
FILLERS = ["i watched it last night .", "i saw it with my family .",
           "it is about two brothers .", "the film is two hours long .",
           "we went to the cinema on friday .", "my friend told me about it .",
           "it came out last year .", "i had heard a lot about it .",
           "it is set in a small town .", "there is a dog in it ."]
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Often enough that a model must learn what "not" does, rare enough to read like real reviews.
NEGATION_PROBABILITY = 0.3
MAX_VERDICT_WORDS = 16   # "although the x was not very y , the x was not very y ."


@dataclass
class TextClassificationDataset:
    """Token ids, masks ``(n, max_len)`` int64 and labels ``(n,)`` int64 per split."""

    train_ids: np.ndarray
    train_mask: np.ndarray
    train_labels: np.ndarray
    val_ids: np.ndarray
    val_mask: np.ndarray
    val_labels: np.ndarray
    test_ids: np.ndarray
    test_mask: np.ndarray
    test_labels: np.ndarray
    train_texts: list
    val_texts: list
    test_texts: list
    tokenizer: WordTokenizer
    vocab: list
    max_len: int
    pad_id: int
    cls_id: int
    sep_id: int
    mask_id: int
    class_names: tuple = ("negative", "positive")


def build_review_tokenizer() -> WordTokenizer:
    """BERT-style specials first (``[PAD]`` = 0), then every word the generator uses, sorted."""
    words = {"the", "was", "not", "but", "although", ",", "."}
    for table in (ASPECTS, POSITIVE, NEGATIVE, INTENSIFIERS, FILLERS):
        for phrase in table:
            words.update(phrase.split())
    return WordTokenizer(SPECIAL_TOKENS + sorted(words), pad_token="[PAD]", unk_token="[UNK]",
                         special_tokens=["[CLS]", "[SEP]", "[MASK]"])


def review_label(text: str) -> int:
    """The label rule, applied to the text alone: 1 positive, 0 negative.

    Find the last sentiment adjective; its clause (the words since the last "was") contains
    "not" or it does not.  Positive XOR negated gives the label.
    """
    words = re.findall(r"\w+|[^\w\s]", text)
    for position in range(len(words) - 1, -1, -1):
        word = words[position]
        if word in POSITIVE or word in NEGATIVE:
            clause_start = max(i for i in range(position) if words[i] == "was")
            negated = "not" in words[clause_start:position]
            return int((word in POSITIVE) != negated)
    raise ValueError(f"no sentiment adjective in {text!r}")


def _clause(rng: np.random.Generator, positive: bool) -> list[str]:
    """``the ASPECT was [not] [INTENSIFIER] ADJ`` whose meaning has the given polarity."""
    negated = rng.random() < NEGATION_PROBABILITY
    adjectives = POSITIVE if positive != negated else NEGATIVE
    words = ["the", ASPECTS[rng.integers(len(ASPECTS))], "was"]
    if negated:
        words.append("not")
    if rng.random() < 0.4:
        words.append(INTENSIFIERS[rng.integers(len(INTENSIFIERS))])
    words.append(adjectives[rng.integers(len(adjectives))])
    return words


def _review(rng: np.random.Generator, label: int, max_words: int) -> list[str]:
    """One review with the given label, at most ``max_words`` words."""
    form = rng.integers(3)
    # The first clause of a contrast / concession has a random polarity: it must not leak.
    first_positive = bool(rng.random() < 0.5)
    if form == 0:
        verdict = _clause(rng, bool(label)) + ["."]
    elif form == 1:
        verdict = _clause(rng, first_positive) + ["but"] + _clause(rng, bool(label)) + ["."]
    else:
        verdict = (["although"] + _clause(rng, first_positive) + [","]
                   + _clause(rng, bool(label)) + ["."])
    before, after = [], []
    for _ in range(rng.integers(0, 3)):
        filler = FILLERS[rng.integers(len(FILLERS))].split()
        if len(before) + len(verdict) + len(after) + len(filler) > max_words:
            break
        if rng.random() < 0.5:
            before += filler
        else:
            after += filler
    return before + verdict + after


def make_synthetic_imdb(num_reviews: int = 1000, max_len: int = 32,
                        seed: int = 0) -> TextClassificationDataset:
    """Generate the dataset; 70 / 15 / 15 % splits (700 / 150 / 150), each balanced 50 / 50.

    ``max_len`` counts ``[CLS]`` and ``[SEP]``; reviews are built to fit (filler sentences are
    only added while they fit), so nothing is ever truncated.  All texts are distinct, so no
    review appears in two splits.
    """
    if max_len < MAX_VERDICT_WORDS + 2:
        raise ValueError(f"max_len must be at least {MAX_VERDICT_WORDS + 2} to hold a verdict "
                         f"sentence plus [CLS] and [SEP], got {max_len}")
    rng = np.random.default_rng(seed)
    tokenizer = build_review_tokenizer()
    sizes = split_sizes(num_reviews, 0.15, 0.15)
    seen: set[str] = set()
    splits = []
    for size in sizes:
        # Exactly balanced labels in every split (one extra negative if the size is odd).
        labels = rng.permutation(np.arange(size) % 2).astype(np.int64)
        texts = []
        ids = np.full((size, max_len), tokenizer.pad_id, dtype=np.int64)
        for i, label in enumerate(labels):
            while True:   # redraw duplicates so that no text is shared between splits
                words = _review(rng, int(label), max_len - 2)
                text = join_words(words)
                if text not in seen:
                    break
            seen.add(text)
            texts.append(text)
            row = ([tokenizer.id_of("[CLS]")] + tokenizer.encode_words(words)
                   + [tokenizer.id_of("[SEP]")])
            ids[i, :len(row)] = row
        mask = (ids != tokenizer.pad_id).astype(np.int64)
        splits.append((ids, mask, labels, texts))
    (tr_ids, tr_mask, tr_y, tr_t), (va_ids, va_mask, va_y, va_t), (te_ids, te_mask, te_y, te_t) = (
        splits)
    return TextClassificationDataset(
        train_ids=tr_ids, train_mask=tr_mask, train_labels=tr_y,
        val_ids=va_ids, val_mask=va_mask, val_labels=va_y,
        test_ids=te_ids, test_mask=te_mask, test_labels=te_y,
        train_texts=tr_t, val_texts=va_t, test_texts=te_t,
        tokenizer=tokenizer, vocab=list(tokenizer.vocab), max_len=max_len,
        pad_id=tokenizer.pad_id, cls_id=tokenizer.id_of("[CLS]"),
        sep_id=tokenizer.id_of("[SEP]"), mask_id=tokenizer.id_of("[MASK]"))
