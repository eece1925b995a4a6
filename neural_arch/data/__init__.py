"""Datasets, tokenizers and batching, in plain NumPy.

Everything here is deterministic given a ``seed`` and knows nothing of models or ``Tensor``:
generators return dataclasses of NumPy arrays, and the trainer turns them into batches.

* ``make_stories``             -- TinyStories-style language modelling with a known optimal loss
* ``make_synthetic_cifar10``   -- ten shape / texture classes that defeat a linear model
* ``make_synthetic_imdb``      -- sentiment whose label depends on word order
* ``make_image_text_pairs``    -- captioned shapes for CLIP-style training
* ``WordTokenizer``, ``WordPieceTokenizer`` -- word-level and BERT WordPiece tokenizers
* ``iterate_minibatches``      -- shuffled, reproducible minibatches
* ``logistic_regression_baseline``, ``bag_of_words_baseline`` -- linear yardsticks
"""

from .baselines import bag_of_words, bag_of_words_baseline, logistic_regression_baseline
from .batching import iterate_minibatches, split_sizes, stratified_split
from .cifar_synthetic import ImageDataset, make_synthetic_cifar10
from .image_text import ImageTextDataset, make_image_text_pairs
from .imdb_synthetic import TextClassificationDataset, make_synthetic_imdb, review_label
from .stories import StoriesDataset, make_stories
from .word_tokenizer import WordTokenizer
from .wordpiece import WordPieceTokenizer, basic_tokenize

__all__ = [
    "ImageDataset", "ImageTextDataset", "StoriesDataset", "TextClassificationDataset",
    "WordPieceTokenizer", "WordTokenizer", "bag_of_words", "bag_of_words_baseline",
    "basic_tokenize", "iterate_minibatches", "logistic_regression_baseline",
    "make_image_text_pairs", "make_stories", "make_synthetic_cifar10", "make_synthetic_imdb",
    "review_label", "split_sizes", "stratified_split",
]
