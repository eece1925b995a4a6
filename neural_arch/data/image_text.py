"""Image-caption pairs for contrastive (CLIP-style) training.

What the data is
    A picture of one coloured shape and a caption that describes it:
    ``a large red circle on the left``.  Four attributes vary: shape (circle, square, triangle,
    diamond, cross), colour (red, green, blue, yellow, purple, white), size (small, large) and
    position (left, right, top, bottom, center) -- 5 x 6 x 2 x 5 = 300 combinations.

How it is generated
    Each image is drawn from its attributes on a dark, noisy background (a random grey level),
    with the colour jittered, the position jittered by a pixel or two and the size by +-10 %.
    Captions use one of three templates ("a ...", "a photo of a ...", "there is a ...") which
    carry no information; only the attribute words matter.

Splits and retrieval
    The val split takes *distinct* attribute combinations (drawn without replacement), so every
    val caption describes exactly one val image and image <-> text retrieval on val has one
    right answer.  Train pairs draw combinations uniformly with replacement, so the same
    combination can appear in train and val -- as a different drawing (new jitter, noise,
    background) -- which is what a model must generalise over.

Why it is hard enough
    Matching needs all four attributes read from pixels: the 300 combinations share every single
    attribute with many others (e.g. 60 "red" captions), so a model that sees only colour or only
    shape ranks the right caption among dozens of near-misses.

Token layout
    ``<bos> words <eos> <pad> ...`` of ``context_length`` tokens; ``eot_index[i]`` is the
    position of ``<eos>`` in row ``i``, where a text encoder pools (as CLIP does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import drawing
from .word_tokenizer import WordTokenizer

SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLOURS = {"red": (0.9, 0.1, 0.1), "green": (0.1, 0.75, 0.15), "blue": (0.15, 0.3, 0.95),
           "yellow": (0.95, 0.9, 0.1), "purple": (0.6, 0.15, 0.8), "white": (0.95, 0.95, 0.95)}
SIZES = ("small", "large")
POSITIONS = {"left": "on the left", "right": "on the right", "top": "at the top",
             "bottom": "at the bottom", "center": "in the center"}
TEMPLATES = ("a {}", "a photo of a {}", "there is a {}")
SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>"]
CONTEXT_LENGTH = 12   # longest caption: <bos> there is a large yellow triangle at the bottom <eos>
NUM_COMBINATIONS = len(SHAPES) * len(COLOURS) * len(SIZES) * len(POSITIONS)


@dataclass
class ImageTextDataset:
    """Paired images and captions for train and val.

    ``*_images``: float32 ``(n, 3, H, W)`` standardised with train statistics.
    ``*_tokens``: int64 ``(n, context_length)``; ``*_eot_index``: int64 ``(n,)``.
    ``*_attributes``: int64 ``(n, 4)`` indices into (SHAPES, COLOURS, SIZES, POSITIONS).
    """

    train_images: np.ndarray
    train_tokens: np.ndarray
    train_eot_index: np.ndarray
    train_captions: list
    train_attributes: np.ndarray
    val_images: np.ndarray
    val_tokens: np.ndarray
    val_eot_index: np.ndarray
    val_captions: list
    val_attributes: np.ndarray
    tokenizer: WordTokenizer
    vocab: list
    context_length: int
    pad_id: int
    bos_id: int
    eos_id: int
    channel_mean: np.ndarray
    channel_std: np.ndarray


def build_caption_tokenizer() -> WordTokenizer:
    """``<pad> <bos> <eos> <unk>`` then every caption word, sorted."""
    words = set(SHAPES) | set(COLOURS) | set(SIZES)
    for phrase in list(POSITIONS.values()) + [t.format("") for t in TEMPLATES]:
        words.update(phrase.split())
    return WordTokenizer(SPECIAL_TOKENS + sorted(words), pad_token="<pad>", unk_token="<unk>",
                         special_tokens=["<bos>", "<eos>"])


def decode_combination(index: int) -> tuple[int, int, int, int]:
    """Combination number (0..299) -> (shape, colour, size, position) indices."""
    index, position = divmod(int(index), len(POSITIONS))
    index, size = divmod(index, len(SIZES))
    shape, colour = divmod(index, len(COLOURS))
    return shape, colour, size, position


def caption_for(attributes, template: int = 0) -> str:
    shape, colour, size, position = attributes
    noun_phrase = (f"{SIZES[size]} {list(COLOURS)[colour]} {SHAPES[shape]} "
                   f"{list(POSITIONS.values())[position]}")
    return TEMPLATES[template].format(noun_phrase)


def draw_pair_image(attributes, image_size: int, rng: np.random.Generator) -> np.ndarray:
    """The image for ``attributes``: float64 ``(3, size, size)`` in [0, 1]."""
    shape, colour, size, position = attributes
    s = image_size
    grid = drawing.pixel_grid(s)
    r = (0.14 if SIZES[size] == "small" else 0.27) * s * rng.uniform(0.9, 1.1)
    centres = {"left": (0.5, 0.3), "right": (0.5, 0.7), "top": (0.3, 0.5),
               "bottom": (0.7, 0.5), "center": (0.5, 0.5)}
    fy, fx = centres[list(POSITIONS)[position]]
    cy, cx = np.array([fy, fx]) * s + rng.uniform(-0.05, 0.05, size=2) * s
    name = SHAPES[shape]
    if name == "circle":
        mask = drawing.circle(grid, cy, cx, r)
    elif name == "square":
        mask = drawing.square(grid, cy, cx, 0.85 * r)
    elif name == "triangle":
        mask = drawing.triangle(grid, cy, cx, r)
    elif name == "diamond":
        mask = drawing.diamond(grid, cy, cx, 1.1 * r)
    else:
        mask = drawing.cross(grid, cy, cx, r, arm=0.3 * r)
    image = np.full((3, s, s), rng.uniform(0.0, 0.35))
    rgb = np.array(list(COLOURS.values())[colour]) + rng.uniform(-0.07, 0.07, size=3)
    image[:, mask] = rgb[:, None]
    image += rng.normal(0.0, 0.05, size=image.shape)
    return np.clip(image, 0.0, 1.0)


def encode_captions(tokenizer: WordTokenizer, captions: list[str]):
    """Captions as (N, context_length) token rows ``<bos> words <eos> <pad>...`` and the index
    of each row's ``<eos>`` (where CLIP's text encoder pools)."""
    tokens = np.full((len(captions), CONTEXT_LENGTH), tokenizer.pad_id, dtype=np.int64)
    eot_index = np.zeros(len(captions), dtype=np.int64)
    for i, caption in enumerate(captions):
        row = ([tokenizer.id_of("<bos>")] + tokenizer.encode_words(caption.split())
               + [tokenizer.id_of("<eos>")])
        tokens[i, :len(row)] = row
        eot_index[i] = len(row) - 1
    return tokens, eot_index


def make_image_text_pairs(num_pairs: int = 800, image_size: int = 32,
                          seed: int = 0) -> ImageTextDataset:
    """Generate the pairs: 75 % train (600) and 25 % val (200, distinct combinations).

    Raises ``ValueError`` if the val split would need more than the 300 distinct combinations.
    """
    num_val = num_pairs // 4
    num_train = num_pairs - num_val
    if num_val < 1 or num_val > NUM_COMBINATIONS:
        raise ValueError(f"num_pairs={num_pairs} gives {num_val} val pairs; val needs between "
                         f"1 and {NUM_COMBINATIONS} distinct combinations (num_pairs 4..1203)")
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16, got {image_size}")
    rng = np.random.default_rng(seed)
    tokenizer = build_caption_tokenizer()
    combos = {"val": rng.choice(NUM_COMBINATIONS, size=num_val, replace=False),
              "train": rng.integers(0, NUM_COMBINATIONS, size=num_train)}
    parts = {}
    for split in ("train", "val"):
        attributes = np.array([decode_combination(c) for c in combos[split]], dtype=np.int64)
        templates = rng.integers(0, len(TEMPLATES), size=len(attributes))
        captions = [caption_for(a, t) for a, t in zip(attributes, templates)]
        images = np.stack([draw_pair_image(a, image_size, rng) for a in attributes])
        tokens, eot_index = encode_captions(tokenizer, captions)
        parts[split] = (images, tokens, eot_index, captions, attributes)
    mean, std, train_x, val_x = drawing.normalise_channels(parts["train"][0], parts["val"][0])
    return ImageTextDataset(
        train_images=train_x, train_tokens=parts["train"][1], train_eot_index=parts["train"][2],
        train_captions=parts["train"][3], train_attributes=parts["train"][4],
        val_images=val_x, val_tokens=parts["val"][1], val_eot_index=parts["val"][2],
        val_captions=parts["val"][3], val_attributes=parts["val"][4],
        tokenizer=tokenizer, vocab=list(tokenizer.vocab), context_length=CONTEXT_LENGTH,
        pad_id=tokenizer.pad_id, bos_id=tokenizer.id_of("<bos>"),
        eos_id=tokenizer.id_of("<eos>"), channel_mean=mean, channel_std=std)
