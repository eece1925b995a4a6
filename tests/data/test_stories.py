"""Tests for the synthetic TinyStories corpus and its exact optimal loss."""

import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from neural_arch.data.stories import (build_story_tokenizer, make_stories, sample_story,
                                      score_story, unigram_cross_entropy)
from neural_arch.data.story_grammar import MIN_STORY_TOKENS
from neural_arch.data.story_writer import StoryWriter


@pytest.fixture(scope="module")
def stories():
    return make_stories()


def test_shapes_splits_and_layout(stories):
    d = stories
    assert d.train.shape == (160, 65) and d.val.shape == (20, 65) and d.test.shape == (20, 65)
    assert d.train.dtype == np.int64
    assert len(d.tokenizer) == d.vocab_size == 200
    assert d.ignore_index == d.pad_id == d.tokenizer.pad_id
    for rows in (d.train, d.val, d.test):
        assert np.all(rows[:, 0] == d.bos_id)
        assert np.all((rows == d.eos_id).sum(axis=1) == 1)
        eos_at = np.argmax(rows == d.eos_id, axis=1)
        positions = np.arange(rows.shape[1])[None, :]
        # Real tokens up to <eos>, padding after it, nothing unknown anywhere.
        assert np.all((rows != d.pad_id) == (positions <= eos_at[:, None]))
        assert not np.any(rows == d.tokenizer.unk_id)


def test_rows_decode_to_stories(stories):
    text = stories.tokenizer.decode(stories.val[0], skip_special=True)
    assert " was " in text and text.endswith(".")
    assert stories.tokenizer.encode(text) == stories.val[0][1:np.argmax(
        stories.val[0] == stories.eos_id)].tolist()


def test_same_seed_same_data_other_seed_other_data(stories):
    again = make_stories(seed=0)
    other = make_stories(seed=1)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(stories, name), getattr(again, name))
    assert stories.optimal_loss == again.optimal_loss
    assert not np.array_equal(stories.train, other.train)


def test_no_story_is_shared_between_splits(stories):
    train = {r.tobytes() for r in stories.train}
    assert not any(r.tobytes() in train for r in np.concatenate([stories.val, stories.test]))


def test_vocab_and_length_limits():
    assert len(make_stories(num_sequences=10, vocab_size=300).tokenizer) == 300
    with pytest.raises(ValueError, match="vocab_size"):
        make_stories(vocab_size=100)
    with pytest.raises(ValueError, match="seq_len"):
        make_stories(seq_len=MIN_STORY_TOKENS - 3)


def test_optimal_loss_is_far_below_unigram(stories):
    d = stories
    print(f"\nstories: optimal loss {d.optimal_loss:.4f} nats (ppl {d.optimal_perplexity:.3f}); "
          f"unigram loss {d.unigram_loss:.4f} (ppl {d.unigram_perplexity:.2f})")
    assert d.optimal_loss < d.unigram_loss
    assert d.optimal_perplexity < 0.3 * d.unigram_perplexity


def test_reported_losses_match_a_recount(stories):
    d = stories
    targets = d.val[:, 1:]
    real = targets != d.pad_id
    assert math.isclose(d.optimal_loss, -d.val_log_probs[real].sum() / real.sum())
    assert np.all(d.val_log_probs[~real] == 0.0) and np.all(d.val_log_probs <= 0.0)
    # Unigram model recounted by hand with a Counter.
    counts = Counter(int(t) for t in d.train[:, 1:].ravel() if t != d.pad_id)
    total = sum(counts.values())
    nll = [-math.log((counts[int(t)] + 1) / (total + d.vocab_size)) for t in targets[real]]
    assert math.isclose(d.unigram_loss, sum(nll) / len(nll), rel_tol=1e-9)
    assert math.isclose(d.unigram_loss,
                        unigram_cross_entropy(d.train[:, 1:], targets, d.vocab_size, d.pad_id))


# ------------------------------------------------------------ the log-probabilities are exact
def test_writer_marginalises_over_shared_prefixes():
    # "red" is shared by two options of weight 1 each (2 of 4), then splits 1 : 1.
    for seed in range(20):
        w = StoryWriter(np.random.default_rng(seed))
        choice = w.choose({"red ball": 1, "red kite": 1, "blue ball": 2})
        expected = {"red ball": [0.5, 0.5], "red kite": [0.5, 0.5], "blue ball": [0.5, 1.0]}
        np.testing.assert_allclose(np.exp(w.log_probs), expected[choice])


def test_writer_rejects_options_that_are_not_prefix_free():
    with pytest.raises(ValueError, match="prefix-free"):
        StoryWriter(np.random.default_rng(0)).choose({"ball": 1, "ball game": 1})


def test_replaying_a_story_recovers_its_log_probs():
    rng = np.random.default_rng(123)
    for _ in range(300):
        tokens, log_probs = sample_story(rng, 65)
        assert score_story(tokens, 65) == log_probs
        assert len(tokens) <= 65 and tokens[-1] == "<eos>"
    with pytest.raises(ValueError):   # a text the grammar cannot write is refused
        score_story(tokens[:-1] + ["Tom", "<eos>"], 65)


def test_conditionals_are_a_function_of_the_prefix_and_match_frequencies():
    """Same prefix -> same recorded p(next); and p(next) matches how often it happens."""
    rng = np.random.default_rng(7)
    recorded = {}
    counts = defaultdict(Counter)
    for _ in range(2000):
        tokens, log_probs = sample_story(rng, 65)
        for t in range(1, len(tokens)):
            prefix = tuple(tokens[:t])
            key = (prefix, tokens[t])
            if key in recorded:
                assert recorded[key] == log_probs[t]
            recorded[key] = log_probs[t]
            if t <= 12:
                counts[prefix][tokens[t]] += 1
    checked = 0
    for prefix, nexts in counts.items():
        n = sum(nexts.values())
        total_p = sum(math.exp(recorded[(prefix, tok)]) for tok in nexts)
        assert total_p <= 1.0 + 1e-9
        if n < 300:
            continue
        for tok, c in nexts.items():
            p = math.exp(recorded[(prefix, tok)])
            assert abs(c / n - p) <= 5 * math.sqrt(p * (1 - p) / n) + 1e-9, (prefix, tok)
            checked += 1
    assert checked >= 20


def test_tokenizer_has_grammar_words_then_fillers():
    tok = build_story_tokenizer(200)
    assert tok.vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert tok.vocab[-1].startswith("<unused_")
    with pytest.raises(ValueError, match="too small"):
        build_story_tokenizer(50)
