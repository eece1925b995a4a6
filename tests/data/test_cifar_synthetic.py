"""Tests for the synthetic CIFAR-10 and the logistic-regression baseline."""

import numpy as np
import pytest

from neural_arch.data.baselines import logistic_regression_baseline
from neural_arch.data.cifar_synthetic import CLASS_NAMES, draw_image, make_synthetic_cifar10


@pytest.fixture(scope="module")
def cifar():
    return make_synthetic_cifar10()


def test_shapes_dtypes_and_balanced_splits(cifar):
    d = cifar
    assert d.train_images.shape == (700, 3, 32, 32) and d.train_images.dtype == np.float32
    assert d.val_images.shape == (150, 3, 32, 32) and d.test_images.shape == (150, 3, 32, 32)
    assert d.train_labels.dtype == np.int64 and len(d.class_names) == 10
    assert np.array_equal(np.bincount(d.train_labels), [70] * 10)
    assert np.array_equal(np.bincount(d.val_labels), [15] * 10)
    assert np.array_equal(np.bincount(d.test_labels), [15] * 10)


def test_images_are_standardised_with_train_statistics(cifar):
    mean = cifar.train_images.mean(axis=(0, 2, 3))
    std = cifar.train_images.std(axis=(0, 2, 3))
    np.testing.assert_allclose(mean, 0.0, atol=1e-4)
    np.testing.assert_allclose(std, 1.0, atol=1e-3)
    assert np.all(np.abs(cifar.val_images.mean(axis=(0, 2, 3))) < 0.2)


def test_determinism_and_no_duplicates(cifar):
    again = make_synthetic_cifar10(num_images=100, seed=0)
    small = make_synthetic_cifar10(num_images=100, seed=0)
    other = make_synthetic_cifar10(num_images=100, seed=1)
    np.testing.assert_array_equal(again.train_images, small.train_images)
    np.testing.assert_array_equal(again.test_labels, small.test_labels)
    assert not np.array_equal(again.train_images, other.train_images)
    flat = np.concatenate([cifar.train_images, cifar.val_images, cifar.test_images])
    assert len({x.tobytes() for x in flat}) == 1000


def test_colour_does_not_give_the_class_away(cifar):
    # The mean colour of an image is (nearly) the same whatever its class.
    colour = cifar.train_images.mean(axis=(2, 3))
    class_means = np.stack([colour[cifar.train_labels == c].mean(0) for c in range(10)])
    assert np.abs(class_means).max() < 0.35


def test_other_sizes_and_bad_arguments():
    d = make_synthetic_cifar10(num_images=60, image_size=24, seed=3)
    assert d.train_images.shape[1:] == (3, 24, 24)
    assert draw_image(0, 32, np.random.default_rng(0)).shape == (3, 32, 32)
    with pytest.raises(ValueError, match="image_size"):
        make_synthetic_cifar10(image_size=8)
    with pytest.raises(ValueError, match="num_images"):
        make_synthetic_cifar10(num_images=10)


def test_baseline_solves_an_easy_problem():
    """The yardstick works: well-separated Gaussian classes are learned."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, size=(4, 20))
    y = rng.integers(0, 4, size=600)
    x = centres[y] + rng.normal(size=(600, 20))
    accuracy = logistic_regression_baseline(x[:400], y[:400], x[400:], y[400:], epochs=100)
    assert accuracy > 0.95


def test_logistic_regression_on_raw_pixels_stays_at_or_below_half(cifar):
    d = cifar
    accuracy = logistic_regression_baseline(d.train_images, d.train_labels, d.test_images,
                                            d.test_labels, epochs=150, lr=0.5, l2=1e-2, seed=0)
    print(f"\nsynthetic CIFAR: logistic regression on raw pixels, test accuracy {accuracy:.3f}")
    assert accuracy <= 0.5


def test_classes_are_learnable_from_local_structure(cifar):
    """Not noise: translation-invariant features (the colour-free FFT magnitude) separate them.

    This stands in for the ViT: a model that looks at local structure has the information.
    """
    def features(images):
        centred = images - images.mean(axis=(2, 3), keepdims=True)
        magnitude = np.abs(np.fft.fft2(centred)) ** 2
        return np.log1p(np.sqrt(magnitude.sum(axis=1))).reshape(len(images), -1)

    d = cifar
    accuracy = logistic_regression_baseline(features(d.train_images), d.train_labels,
                                            features(d.test_images), d.test_labels, epochs=150)
    print(f"\nsynthetic CIFAR: logistic regression on |FFT| features, test accuracy "
          f"{accuracy:.3f} ({len(CLASS_NAMES)} classes)")
    assert accuracy >= 0.7
