"""Tests for the BERT WordPiece tokenizer, on a hand-written vocab and on a real one."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_arch.tokenizers.wordpiece import WordPieceTokenizer, basic_tokenize

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "jump",
         "##s", "over", "lazy", "dog", ".", ",", "!", "un", "##aff", "##able", "play", "##ing",
         "hello", "world", "cafe", "naive", "'", "t", "isn", "a", "ab", "##c", "##bcd", "東"]


@pytest.fixture
def tokenizer(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return WordPieceTokenizer.from_file(tmp_path)     # a directory holding vocab.txt works


@pytest.mark.parametrize("text, tokens", [
    ("The quick brown fox jumps over the lazy dog.",
     ["the", "quick", "brown", "fox", "jump", "##s", "over", "the", "lazy", "dog", "."]),
    ("unaffable", ["un", "##aff", "##able"]),
    ("Playing", ["play", "##ing"]),
    ("Héllo, WORLD!", ["hello", ",", "world", "!"]),            # accents, case, punctuation
    ("naïve CAFÉ", ["naive", "cafe"]),
    ("isn't", ["isn", "'", "t"]),
    ("abc", ["ab", "##c"]),                                      # longest match first
    ("abcd", ["[UNK]"]),          # greedy "ab ##c" then stuck: whole word is [UNK] (as in HF)
    ("東京", ["東", "[UNK]"]),                                   # each CJK character apart
    ("hel\x00lo\u200b", ["hello"]),                              # control characters dropped
    ("hello\tworld\u00a0dog\n", ["hello", "world", "dog"]),     # every kind of whitespace
    ("hello" * 21, ["[UNK]"]),                                   # longer than 100 characters
    ("hello [MASK] world", ["hello", "[MASK]", "world"]),        # specials kept whole
    ("", []),
])
def test_tokenize_hand_computed(tokenizer, text, tokens):
    assert tokenizer.tokenize(text) == tokens


def test_encode_adds_cls_sep_and_truncates_keeping_sep(tokenizer):
    text = "The quick brown fox jumps over the lazy dog."
    assert tokenizer.encode(text) == [2, 5, 6, 7, 8, 9, 10, 11, 5, 12, 13, 14, 3]
    assert tokenizer.encode(text, max_length=5) == [2, 5, 6, 7, 3]
    assert tokenizer.encode(text, max_length=2) == [2, 3]
    with pytest.raises(ValueError, match="max_length"):
        tokenizer.encode(text, max_length=1)


def test_encode_batch_pads_and_masks(tokenizer):
    ids, mask = tokenizer.encode_batch(["hello", "the quick brown fox"])
    np.testing.assert_array_equal(ids, [[2, 22, 3, 0, 0, 0], [2, 5, 6, 7, 8, 3]])
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]])
    assert ids.dtype == mask.dtype == np.int64
    ids, mask = tokenizer.encode_batch(["hello", "the quick brown fox"], max_length=4)
    np.testing.assert_array_equal(ids, [[2, 22, 3, 0], [2, 5, 6, 3]])
    assert tokenizer.decode(ids[1]) == "the quick"
    ids, mask = tokenizer.encode_batch(["hello", "the"], max_length=5, pad_to_max_length=True)
    np.testing.assert_array_equal(ids, [[2, 22, 3, 0, 0], [2, 5, 3, 0, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0]])
    with pytest.raises(ValueError, match="max_length"):
        tokenizer.encode_batch(["hello"], pad_to_max_length=True)
    assert tokenizer.decode([2, 20, 21, 3]) == "playing"


def test_missing_specials_are_rejected():
    with pytest.raises(ValueError, match="special"):
        WordPieceTokenizer(["the", "dog"])


@settings(max_examples=60, deadline=None)
@given(words=st.lists(st.sampled_from(VOCAB[5:] + ["Dog", "QUICK", "zebra", "?", "é"]),
                      max_size=15),
       max_length=st.one_of(st.none(), st.integers(2, 12)))
def test_encode_invariants(words, max_length):
    tokenizer = WordPieceTokenizer(VOCAB)
    text = " ".join(words).replace(" ##", "")
    ids = tokenizer.encode(text, max_length)
    assert ids[0] == 2 and ids[-1] == 3
    assert max_length is None or len(ids) <= max_length
    batch, mask = tokenizer.encode_batch([text, "dog"], max_length)
    assert batch[0, :len(ids)].tolist() == ids and mask[0].sum() == len(ids)
    # The batch is as wide as its longest row ("dog" is [CLS] dog [SEP] unless truncated).
    assert batch.shape[1] == max(len(ids), len(tokenizer.encode("dog", max_length)))
    # Basic tokenization is idempotent: its output, re-joined, tokenizes to itself.
    basic = basic_tokenize(text)
    assert basic_tokenize(" ".join(basic)) == basic


def test_real_bert_uncased_vocab():
    from neural_arch.data.pretrained import minilm_directory
    tokenizer = WordPieceTokenizer.from_file(minilm_directory() / "vocab.txt")
    assert tokenizer.vocab_size == 30522
    ids = tokenizer.encode("The quick brown fox jumps over the lazy dog.")
    assert ids == [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102]
    assert tokenizer.tokenize("unaffable") == ["una", "##ffa", "##ble"]
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.mask_id) == (0, 100, 103)
