"""Tests for the synthetic IMDB reviews and the bag-of-words baseline."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_arch.data.baselines import bag_of_words, bag_of_words_baseline
from neural_arch.data.imdb_synthetic import (ASPECTS, FILLERS, INTENSIFIERS, NEGATIVE, POSITIVE,
                                             make_synthetic_imdb, review_label)


@pytest.fixture(scope="module")
def imdb():
    return make_synthetic_imdb()


def splits(d):
    return [(d.train_ids, d.train_mask, d.train_labels, d.train_texts),
            (d.val_ids, d.val_mask, d.val_labels, d.val_texts),
            (d.test_ids, d.test_mask, d.test_labels, d.test_texts)]


def test_shapes_balance_and_bert_layout(imdb):
    d = imdb
    for (ids, mask, labels, texts), n in zip(splits(d), (700, 150, 150)):
        assert ids.shape == mask.shape == (n, 32) and ids.dtype == mask.dtype == np.int64
        assert labels.dtype == np.int64 and len(texts) == n
        assert labels.sum() == n // 2                      # exactly balanced
        assert np.all(ids[:, 0] == d.cls_id)
        lengths = mask.sum(axis=1)
        assert np.all(ids[np.arange(n), lengths - 1] == d.sep_id)
        assert np.array_equal(mask, (ids != d.pad_id).astype(np.int64))
        assert np.all(mask[:, :-1] >= mask[:, 1:])         # padding only at the end
    assert d.vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_labels_follow_the_rule_and_text_matches_ids(imdb):
    d = imdb
    for ids, _, labels, texts in splits(d):
        assert [review_label(t) for t in texts] == labels.tolist()
        for row, text in zip(ids[:50], texts[:50]):
            assert d.tokenizer.decode(row, skip_special=True) == text
            assert d.tokenizer.encode(text) == row[1:row.tolist().index(d.sep_id)].tolist()


def test_texts_are_distinct_across_splits(imdb):
    texts = imdb.train_texts + imdb.val_texts + imdb.test_texts
    assert len(set(texts)) == len(texts)


def test_determinism(imdb):
    again = make_synthetic_imdb(seed=0)
    other = make_synthetic_imdb(seed=1)
    assert again.train_texts == imdb.train_texts
    np.testing.assert_array_equal(again.test_ids, imdb.test_ids)
    assert other.train_texts != imdb.train_texts


@pytest.mark.parametrize("text, label", [
    ("the acting was good.", 1),
    ("the acting was not good.", 0),
    ("the acting was really bad.", 0),
    ("the acting was not very bad.", 1),
    ("the acting was bad but the story was great.", 1),
    ("the acting was great but the story was bad.", 0),
    ("the acting was not great but the story was not bad.", 1),
    ("although the music was wonderful, the ending was dull.", 0),
    ("i saw it with my family. although the plot was poor, the cast was charming.", 1),
])
def test_label_rule_examples(text, label):
    assert review_label(text) == label


@settings(max_examples=60, deadline=None)
@given(aspect=st.sampled_from(ASPECTS), adjective=st.sampled_from(POSITIVE + NEGATIVE),
       intensifier=st.sampled_from([""] + INTENSIFIERS), filler=st.sampled_from([""] + FILLERS),
       first=st.sampled_from(["", "the plot was good but ", "although the cast was bad, "]))
def test_negation_flips_and_fillers_do_not_matter(aspect, adjective, intensifier, filler, first):
    middle = f"{intensifier} {adjective}".strip()
    plain = f"{filler} {first}the {aspect} was {middle}.".strip()
    negated = f"{filler} {first}the {aspect} was not {middle}.".strip()
    assert review_label(plain) == int(adjective in POSITIVE)
    assert review_label(negated) == 1 - review_label(plain)


def test_max_len_limits():
    d = make_synthetic_imdb(num_reviews=60, max_len=20, seed=2)
    assert d.train_ids.shape[1] == 20 and np.all(d.train_mask.sum(1) <= 20)
    with pytest.raises(ValueError, match="max_len"):
        make_synthetic_imdb(max_len=10)


def test_bag_of_words_counts():
    counts = bag_of_words(np.array([[2, 5, 5, 0], [3, 0, 0, 0]]), 6, ignore_ids=[0])
    np.testing.assert_array_equal(counts, [[0, 0, 1, 0, 0, 2], [0, 0, 0, 1, 0, 0]])


def test_bag_of_words_baseline_stays_at_or_below_80_percent(imdb):
    d = imdb
    accuracy = bag_of_words_baseline(d.train_ids, d.train_labels, d.test_ids, d.test_labels,
                                     len(d.vocab), ignore_ids=[d.pad_id, d.cls_id, d.sep_id])
    print(f"\nsynthetic IMDB: bag-of-words logistic regression, test accuracy {accuracy:.3f}")
    assert accuracy <= 0.8
