"""Tests for neural_arch.tokenizers.word_tokenizer."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_arch.tokenizers.word_tokenizer import WordTokenizer, join_words

VOCAB = ["<pad>", "<unk>", "<bos>", "<eos>", "Tom", "was", "sad", "happy", ".", ",", "he"]


def make_tokenizer():
    return WordTokenizer(VOCAB, special_tokens=["<bos>", "<eos>"])


def test_split_keeps_specials_and_punctuation_apart():
    tok = make_tokenizer()
    assert tok.split("<bos>Tom was sad.<eos>") == ["<bos>", "Tom", "was", "sad", ".", "<eos>"]
    assert tok.encode("Tom was sad, he") == [4, 5, 6, 9, 10]


def test_unknown_words_map_to_unk():
    tok = make_tokenizer()
    assert tok.encode("Tom was angry") == [4, 5, tok.unk_id]
    assert tok.encode_words(["Tom", "angry"]) == [4, tok.unk_id]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(VOCAB[4:]), min_size=1, max_size=20))
def test_decode_inverts_encode_on_rendered_text(words):
    tok = make_tokenizer()
    text = join_words(words)
    assert tok.decode(tok.encode(text)) == text


def test_decode_can_skip_specials():
    tok = make_tokenizer()
    assert tok.decode([2, 4, 5, 7, 3, 3, 0, 0], skip_special=True) == "Tom was happy"
    with pytest.raises(ValueError, match="outside"):
        tok.decode([99])


def test_save_and_load_round_trip(tmp_path):
    tok = make_tokenizer()
    path = tmp_path / "tok.json"
    tok.save(path)
    loaded = WordTokenizer.load(path)
    assert loaded.vocab == tok.vocab and loaded.pad_id == tok.pad_id
    assert loaded.encode("<bos>Tom was sad.") == tok.encode("<bos>Tom was sad.")
    assert json.loads(path.read_text())["vocab"] == VOCAB


def test_bad_vocab_is_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        WordTokenizer(["<pad>", "<unk>", "a", "a"])
    with pytest.raises(ValueError, match="missing"):
        WordTokenizer(["<pad>", "a"])
