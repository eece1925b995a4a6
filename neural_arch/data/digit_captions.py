"""Captions for handwritten digits, for contrastive image-text training (CLIP on MNIST-5k).

A digit's caption is made from its label by a template: ``"a handwritten seven"``,
``"the digit 7"``, ... Training draws one of ``TRAIN_TEMPLATES`` per image (a new draw every
epoch); zero-shot evaluation embeds one caption per class with ``ZERO_SHOT_TEMPLATE``, a wording
never seen in training, and classifies each image by its most similar caption. Each template
names the digit either as a word (``{word}``) or as a numeral (``{digit}``), so the text
encoder has to learn that "7" and "seven" mean the same thing.

Tokens are whole words; a caption is ``<bos> words <eos> <pad>...`` and the text encoder reads
its embedding at the ``<eos>`` position.
"""

import numpy as np

from neural_arch.data.digits import DIGIT_NAMES
from neural_arch.tokenizers.word_tokenizer import WordTokenizer

TRAIN_TEMPLATES = (
    "a handwritten {word}",
    "the digit {digit}",
    "a photo of the number {word}",
    "an image of a {digit}",
    "{word}",
    "a drawing of the digit {word}",
    "the number {digit} written by hand",
    "a scanned {word}",
)
ZERO_SHOT_TEMPLATE = "a picture of a {word}"
SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


def caption(template, label):
    return template.format(word=DIGIT_NAMES[label], digit=str(label))


def caption_tokenizer():
    """A word tokenizer over every word of every template (train and zero-shot) and label."""
    words = set()
    for template in TRAIN_TEMPLATES + (ZERO_SHOT_TEMPLATE,):
        for label in range(len(DIGIT_NAMES)):
            words.update(caption(template, label).split())
    return WordTokenizer(list(SPECIALS) + sorted(words), special_tokens=SPECIALS[2:])


def context_length():
    """Tokens in the longest caption, with <bos> and <eos>."""
    return 2 + max(len(caption(t, label).split())
                   for t in TRAIN_TEMPLATES + (ZERO_SHOT_TEMPLATE,) for label in range(10))


def encode_captions(tokenizer, captions, length):
    """(ids (N, length) int64, eot_index (N,)): ``<bos> words <eos>`` then padding."""
    ids = np.full((len(captions), length), tokenizer.token_to_id["<pad>"], dtype=np.int64)
    eot = np.zeros(len(captions), dtype=np.int64)
    for i, text in enumerate(captions):
        row = (["<bos>"] + tokenizer.split(text) + ["<eos>"])
        if len(row) > length:
            raise ValueError(f"caption {text!r} needs {len(row)} tokens; the context holds "
                             f"{length}")
        ids[i, :len(row)] = [tokenizer.token_to_id.get(w, tokenizer.token_to_id["<unk>"])
                             for w in row]
        eot[i] = len(row) - 1
    return ids, eot


def captions_for_labels(labels, templates, rng=None):
    """One caption per label: ``templates[i % len]`` in order, or a random one per label."""
    labels = np.asarray(labels)
    pick = (np.arange(len(labels)) % len(templates) if rng is None
            else rng.integers(0, len(templates), size=len(labels)))
    return [caption(templates[t], int(y)) for t, y in zip(pick, labels)]
