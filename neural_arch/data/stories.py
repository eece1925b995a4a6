"""Synthetic TinyStories: short children's stories with a known optimal loss.

What the data is
    Stories from the probabilistic grammar in ``story_grammar.py``: a character with a name and
    a pronoun, a background sentence or two, an emotion with its cause and a resolution that
    follows from the cause ("Tom was sad because he lost his ball . Then he found it in the park
    and he was happy again .").  Tokens are words, with punctuation as separate tokens.

How it is laid out
    One story per row, ``<bos> story <eos> <pad> <pad> ...``, rows of ``seq_len + 1`` tokens, so
    ``inputs = rows[:, :-1]`` and ``targets = rows[:, 1:]``.  Every row starts at the beginning
    of a story, so a model sees exactly the prefix the generator saw, and the optimal loss below
    is exact rather than an estimate that ignores mid-story starts.

    **Ignored targets:** a target equal to ``pad_id`` is padding and must not count in the loss
    (``ignore_index = pad_id``).  ``<eos>`` is a real target: predicting the end is part of the
    task.  No story is ever cut: the grammar only offers a sentence if it still fits the row.

Why the numbers are trustworthy
    The generator records ``log p(token | prefix)`` for every token it writes (see
    ``story_writer.py``).  ``optimal_loss`` is the mean of ``-log p`` over the non-pad val
    targets: the cross-entropy of a perfect model, a floor no model can beat on average.
    ``unigram_perplexity`` is ``exp`` of the val cross-entropy of an add-one smoothed unigram
    model fitted on the train targets (smoothed over all ``vocab_size`` ids), on the same tokens.

Why it is hard enough
    The optimal perplexity is a small fraction of the unigram perplexity (about 1.6 against 78
    with the defaults): most of the predictable mass comes from structure -- agreement over
    distance, cause and effect, copying a toy or a friend's name from earlier in the story.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .batching import split_sizes
from .story_grammar import MIN_STORY_TOKENS, grammar_words, write_story
from .story_writer import StoryWriter
from .word_tokenizer import WordTokenizer

SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>"]


@dataclass
class StoriesDataset:
    """Token rows of shape ``(n, seq_len + 1)``, int64, one story per row.

    ``val_log_probs`` has shape ``(n_val, seq_len)``: the true ``log p`` of each val target
    (0.0 at ignored pad targets).  Losses are in nats per token.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    tokenizer: WordTokenizer
    vocab_size: int
    seq_len: int
    pad_id: int
    bos_id: int
    eos_id: int
    ignore_index: int
    optimal_loss: float
    optimal_perplexity: float
    unigram_loss: float
    unigram_perplexity: float
    val_log_probs: np.ndarray


def build_story_tokenizer(vocab_size: int = 200) -> WordTokenizer:
    """Specials, then the grammar's words (sorted), then ``<unused_k>`` fillers up to size."""
    words = [w for w in grammar_words() if w not in SPECIAL_TOKENS]
    needed = len(SPECIAL_TOKENS) + len(words)
    if vocab_size < needed:
        raise ValueError(f"vocab_size={vocab_size} is too small: the story grammar uses "
                         f"{len(words)} words plus {len(SPECIAL_TOKENS)} special tokens "
                         f"= {needed}")
    fillers = [f"<unused_{k}>" for k in range(vocab_size - needed)]
    return WordTokenizer(SPECIAL_TOKENS + words + fillers, pad_token="<pad>", unk_token="<unk>",
                         special_tokens=["<bos>", "<eos>"])


def sample_story(rng: np.random.Generator, max_tokens: int) -> tuple[list[str], list[float]]:
    """One story's tokens (``<bos>`` ... ``<eos>``) and the log-prob of each (``<bos>``: 0)."""
    writer = StoryWriter(rng)
    write_story(writer, max_tokens)
    return writer.tokens, writer.log_probs


def score_story(tokens: list[str], max_tokens: int) -> list[float]:
    """Re-derive a story's per-token log-probs by replaying the grammar on its tokens."""
    writer = StoryWriter(replay=tokens)
    write_story(writer, max_tokens)
    if len(writer.tokens) != len(tokens):
        raise ValueError(f"the story ends after {len(writer.tokens)} of {len(tokens)} tokens")
    return writer.log_probs


def unigram_cross_entropy(train_targets: np.ndarray, eval_targets: np.ndarray,
                          vocab_size: int, ignore_index: int) -> float:
    """Mean NLL of ``eval_targets`` under an add-one unigram model of ``train_targets``.

    Targets equal to ``ignore_index`` are left out of both the counts and the average.
    """
    train = train_targets[train_targets != ignore_index]
    counts = np.bincount(train, minlength=vocab_size).astype(np.float64)
    log_p = np.log(counts + 1.0) - math.log(len(train) + vocab_size)
    evaluated = eval_targets[eval_targets != ignore_index]
    return float(-log_p[evaluated].mean())


def make_stories(num_sequences: int = 200, vocab_size: int = 200, seq_len: int = 64,
                 seed: int = 0) -> StoriesDataset:
    """Generate the stories corpus; splits are 80 / 10 / 10 % train / val / test (160/20/20).

    Raises ``ValueError`` if ``vocab_size`` cannot hold the grammar's words or ``seq_len`` is
    too short for the longest possible story.
    """
    if seq_len + 1 < MIN_STORY_TOKENS:
        raise ValueError(f"seq_len={seq_len} is too short: rows of seq_len + 1 tokens must hold "
                         f"a whole story, which needs seq_len >= {MIN_STORY_TOKENS - 1}")
    tokenizer = build_story_tokenizer(vocab_size)
    n_train, n_val, n_test = split_sizes(num_sequences, 0.1, 0.1)
    rng = np.random.default_rng(seed)
    rows = np.full((num_sequences, seq_len + 1), tokenizer.pad_id, dtype=np.int64)
    log_probs = np.zeros((num_sequences, seq_len + 1), dtype=np.float64)
    for i in range(num_sequences):
        tokens, token_log_probs = sample_story(rng, seq_len + 1)
        rows[i, :len(tokens)] = tokenizer.encode_words(tokens)
        log_probs[i, :len(tokens)] = token_log_probs

    train, val, test = np.split(rows, [n_train, n_train + n_val])
    val_log_probs = log_probs[n_train:n_train + n_val, 1:]      # aligned with val[:, 1:]
    pad = tokenizer.pad_id
    real = val[:, 1:] != pad
    optimal_loss = float(-val_log_probs[real].mean())
    unigram_loss = unigram_cross_entropy(train[:, 1:], val[:, 1:], vocab_size, pad)
    return StoriesDataset(
        train=train, val=val, test=test, tokenizer=tokenizer, vocab_size=vocab_size,
        seq_len=seq_len, pad_id=pad, bos_id=tokenizer.id_of("<bos>"),
        eos_id=tokenizer.id_of("<eos>"), ignore_index=pad,
        optimal_loss=optimal_loss, optimal_perplexity=math.exp(optimal_loss),
        unigram_loss=unigram_loss, unigram_perplexity=math.exp(unigram_loss),
        val_log_probs=val_log_probs)
