"""Tests for the image-caption pairs."""

import numpy as np
import pytest

from neural_arch.data.image_text import (COLOURS, NUM_COMBINATIONS, POSITIONS, SHAPES, SIZES,
                                         make_image_text_pairs)


@pytest.fixture(scope="module")
def pairs():
    return make_image_text_pairs()


def test_shapes_and_token_layout(pairs):
    d = pairs
    assert d.train_images.shape == (600, 3, 32, 32) and d.val_images.shape == (200, 3, 32, 32)
    assert d.train_images.dtype == np.float32
    for tokens, eot, captions in ((d.train_tokens, d.train_eot_index, d.train_captions),
                                  (d.val_tokens, d.val_eot_index, d.val_captions)):
        n = len(captions)
        assert tokens.shape == (n, d.context_length) and tokens.dtype == np.int64
        assert np.all(tokens[:, 0] == d.bos_id)
        assert np.all(tokens[np.arange(n), eot] == d.eos_id)
        positions = np.arange(d.context_length)[None, :]
        assert np.all((tokens != d.pad_id) == (positions <= eot[:, None]))
        for row, caption in zip(tokens[:20], captions[:20]):
            assert d.tokenizer.decode(row, skip_special=True) == caption


def test_captions_describe_their_attributes(pairs):
    for caption, (shape, colour, size, position) in zip(pairs.val_captions, pairs.val_attributes):
        assert f"{SIZES[size]} {list(COLOURS)[colour]} {SHAPES[shape]}" in caption
        assert caption.endswith(list(POSITIONS.values())[position])


def test_val_captions_single_out_their_image(pairs):
    assert len(set(pairs.val_captions)) == 200
    assert len({tuple(a) for a in pairs.val_attributes}) == 200


def test_colour_is_visible_where_the_caption_says(pairs):
    d = pairs
    raw = d.val_images * d.channel_std[None, :, None, None] + d.channel_mean[None, :, None, None]
    red = list(COLOURS).index("red")
    large = SIZES.index("large")
    for image, (_, colour, size, _) in zip(raw, d.val_attributes):
        if colour == red and size == large:
            brightest_red = (image[0] - image[1:].mean(0)).max()
            assert brightest_red > 0.5


def test_determinism_and_limits(pairs):
    again = make_image_text_pairs(seed=0)
    other = make_image_text_pairs(seed=1)
    np.testing.assert_array_equal(again.val_images, pairs.val_images)
    assert again.train_captions == pairs.train_captions
    assert other.val_captions != pairs.val_captions
    assert make_image_text_pairs(num_pairs=4 * NUM_COMBINATIONS).val_tokens.shape[0] == 300
    with pytest.raises(ValueError, match="distinct"):
        make_image_text_pairs(num_pairs=4 * NUM_COMBINATIONS + 4)
