"""Rotten-Tomatoes movie-review sentences with human sentiment ratings (Pang & Lee snippets).

Source: ``movieReviewSnippets_GroundTruth.txt`` in ``additional_resources/hutto_ICWSM_2014.tar.gz``
of the source distribution of ``vaderSentiment==3.3.2`` (MIT), obtained once with
``pip download --no-binary :all: --no-deps`` (``package_files.VADER``). Each line is
``id <TAB> mean valence <TAB> sentence``: 10,605 sentences, each rated by about 20 people on a
-4 .. +4 scale. The label is the sign of the mean valence (1 = positive); the 37 sentences whose
mean is exactly 0 have no sign and are left out, which leaves 10,568. Split 80 / 10 / 10 %,
stratified by label, fixed by ``seed``.
"""

from dataclasses import dataclass

import numpy as np

from neural_arch.data.batching import split_each_class
from neural_arch.data.package_files import VADER, read_member

MEMBER = ("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz/"
          "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt")
CLASS_NAMES = ("negative", "positive")


@dataclass
class SentenceDataset:
    """Sentences and 0/1 labels of each split."""
    train_texts: list
    train_labels: np.ndarray
    val_texts: list
    val_labels: np.ndarray
    test_texts: list
    test_labels: np.ndarray
    class_names: tuple = CLASS_NAMES


def parse_ratings(text):
    """(sentences, mean valences) from the ground-truth file's lines."""
    sentences, valences = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        _, valence, sentence = line.split("\t", 2)
        sentences.append(sentence.strip())
        valences.append(float(valence))
    return sentences, np.array(valences)


def load_movie_reviews(seed=0, max_sentences=None):
    """The labelled sentences, split 80 / 10 / 10 % with each label in proportion.

    ``max_sentences`` keeps a label-balanced random subset first (for quick tests).
    """
    sentences, valences = parse_ratings(read_member(VADER, MEMBER).decode("utf-8"))
    keep = np.flatnonzero(valences != 0.0)
    labels = (valences[keep] > 0).astype(np.int64)
    sentences = [sentences[i] for i in keep]
    if max_sentences is not None:
        pick = np.random.default_rng(seed + 1).permutation(len(labels))[:max_sentences]
        sentences, labels = [sentences[i] for i in pick], labels[pick]
    train, val, test = split_each_class(labels, 0.1, 0.1, seed)  # 10 % of each label
    take = lambda idx: [sentences[i] for i in idx]  # noqa: E731
    return SentenceDataset(take(train), labels[train], take(val), labels[val], take(test),
                           labels[test])
