"""The same-run baselines: n-gram losses against a direct count, the linear models against
problems whose answer is known."""

import math
from collections import Counter

import numpy as np
import pytest

from neural_arch.data.baselines import fit_bag_of_words, fit_logistic_regression, ngram_loss


def test_ngram_losses_match_a_direct_count():
    rng = np.random.default_rng(0)
    train, val, vocab = rng.integers(0, 5, 300), rng.integers(0, 5, 50), 6  # id 5 never seen
    unigram = Counter(train.tolist())
    expected_1 = -np.mean([math.log((unigram[c] + 1) / (len(train) + vocab)) for c in val])
    pairs = Counter(zip(train[:-1].tolist(), train[1:].tolist()))
    first = Counter(train[:-1].tolist())
    expected_2 = -np.mean([math.log((pairs[(b, c)] + 1) / (first[b] + vocab))
                           for b, c in zip(val[:-1].tolist(), val[1:].tolist())])
    assert ngram_loss(train, val, vocab, 1) == pytest.approx(expected_1, rel=1e-12)
    assert ngram_loss(train, val, vocab, 2) == pytest.approx(expected_2, rel=1e-12)
    with pytest.raises(ValueError, match="order"):
        ngram_loss(train, val, vocab, 3)


def test_bigram_beats_unigram_on_a_text_with_structure():
    text = np.tile(np.arange(7), 200)  # each id is followed by the next one
    assert ngram_loss(text, text[:70], 7, 2) < 0.1 < ngram_loss(text, text[:70], 7, 1)


def test_logistic_regression_separates_linearly_separable_classes():
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 3, size=(4, 20))
    labels = rng.integers(0, 4, 400)
    points = centres[labels] + rng.normal(0, 0.5, size=(400, 20))
    predict = fit_logistic_regression(points[:300], labels[:300])
    assert np.mean(predict(points[300:]) == labels[300:]) == 1.0
    with pytest.raises(ValueError, match="features"):
        predict(points[:5, :10])


def test_bag_of_words_finds_the_deciding_word():
    """Label 1 exactly when token 7 occurs; padding (0) and order carry nothing."""
    rng = np.random.default_rng(2)
    ids = rng.integers(8, 50, size=(600, 12))
    labels = rng.integers(0, 2, 600)
    ids[labels == 1, rng.integers(0, 10, (labels == 1).sum())] = 7
    ids[:, 10:] = 0
    predict = fit_bag_of_words(ids[:500], labels[:500], vocab_size=50, ignore_ids=(0,))
    test_ids = ids[500:]
    assert np.mean(predict(test_ids) == labels[500:]) > 0.97
    shuffled = np.take_along_axis(test_ids, rng.permuted(np.tile(np.arange(12), (100, 1)),
                                                         axis=1), axis=1)
    np.testing.assert_array_equal(predict(shuffled), predict(test_ids))  # order is ignored
