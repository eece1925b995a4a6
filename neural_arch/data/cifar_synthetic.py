"""Synthetic CIFAR-10: ten classes told apart by shape and texture, never by colour.

What the data is
    Colour images ``(N, 3, H, W)`` of one object on a background.  Five classes are solid shapes
    (circle, square, triangle, cross, ring); five are textured patches (horizontal stripes,
    vertical stripes, checkerboard, diagonal lines, dots) cut out in a random square or disc.

How it is generated (per image, from ``numpy.random.default_rng(seed)``)
    * background: a random colour with a gentle random gradient across the image;
    * foreground: another random colour, at least a fixed distance from the background colour
      so the object is always visible -- but the colours say nothing about the class;
    * object: a random size (16-29 px across at 32 px), its centre jittered by up to
      a fifth of the image; texture period and phase are random;
    * distractors: up to three small blobs or short lines in random colours anywhere;
    * noise: Gaussian, sigma 0.06 on the [0, 1] scale, then clipped.
    Images are then standardised per channel with the train split's mean and std.

Why it is hard enough
    Nothing the class depends on is a fixed pixel pattern: a random foreground can be darker or
    lighter than the background, position jitter moves every edge, random phase moves every
    stripe.  A linear model on raw pixels therefore scores near chance (about 15-20 % test
    accuracy with ``logistic_regression_baseline``; the test asserts at most 50 %), while a model
    that looks at local structure -- a ViT with 4 or 8 pixel patches -- can separate the classes:
    the shapes are large and the noise is mild.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import drawing
from .batching import split_sizes, stratified_split

CLASS_NAMES = ("circle", "square", "triangle", "cross", "ring", "horizontal_stripes",
               "vertical_stripes", "checkerboard", "diagonal_lines", "dots")


@dataclass
class ImageDataset:
    """Standardised float32 images ``(n, 3, H, W)`` and int64 labels ``(n,)`` per split."""

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple
    channel_mean: np.ndarray   # (3,) train mean on the [0, 1] scale, before standardising
    channel_std: np.ndarray    # (3,)


def _random_colours(rng: np.random.Generator, min_distance: float = 0.5):
    """A background and a foreground colour at least ``min_distance`` apart (RGB, [0, 1])."""
    background = rng.random(3)
    while True:
        foreground = rng.random(3)
        if np.linalg.norm(foreground - background) >= min_distance:
            return background, foreground


def _object_mask(label: int, grid, size: int, rng: np.random.Generator) -> np.ndarray:
    """The pixels of the class-``label`` object, at a random size and position."""
    scale = size / 32.0
    if label < 5:
        r = rng.uniform(8.0, 13.0) * scale
    else:
        r = rng.uniform(9.5, 14.5) * scale
    jitter = max(0.0, size / 2 - r) * 0.8
    cy, cx = size / 2 + rng.uniform(-jitter, jitter, size=2)
    name = CLASS_NAMES[label]
    if name == "circle":
        return drawing.circle(grid, cy, cx, r)
    if name == "square":
        return drawing.square(grid, cy, cx, 0.85 * r)
    if name == "triangle":
        return drawing.triangle(grid, cy, cx, r)
    if name == "cross":
        return drawing.cross(grid, cy, cx, r, arm=0.3 * r)
    if name == "ring":
        return drawing.ring(grid, cy, cx, r, thickness=0.35 * r)
    # Textured patch: the region's outline is random, so only the texture names the class.
    if rng.random() < 0.5:
        region = drawing.square(grid, cy, cx, 0.85 * r)
    else:
        region = drawing.circle(grid, cy, cx, r)
    phase = rng.uniform(0.0, 16.0, size=2)
    if name == "horizontal_stripes":
        texture = drawing.stripes(grid, rng.uniform(4.0, 7.0) * scale, phase[0], "horizontal")
    elif name == "vertical_stripes":
        texture = drawing.stripes(grid, rng.uniform(4.0, 7.0) * scale, phase[0], "vertical")
    elif name == "diagonal_lines":
        angle = "diag" if rng.random() < 0.5 else "antidiag"
        texture = drawing.stripes(grid, rng.uniform(4.0, 7.0) * scale, phase[0], angle)
    elif name == "checkerboard":
        texture = drawing.checkerboard(grid, rng.uniform(3.0, 5.0) * scale, *phase)
    else:  # dots
        spacing = rng.uniform(5.0, 7.0) * scale
        texture = drawing.dots(grid, spacing, 0.28 * spacing, *phase)
    return region & texture


def _distractor_mask(grid, size: int, rng: np.random.Generator) -> np.ndarray:
    """A small blob or a short line somewhere in the image."""
    scale = size / 32.0
    y, x = rng.uniform(0, size, size=2)
    if rng.random() < 0.5:
        return drawing.circle(grid, y, x, rng.uniform(1.0, 2.5) * scale)
    angle = rng.uniform(0, np.pi)
    length = rng.uniform(4.0, 8.0) * scale
    return drawing.segment(grid, y, x, y + length * np.sin(angle), x + length * np.cos(angle),
                           width=1.0 * scale)


def draw_image(label: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One image of class ``label``, float64 ``(3, size, size)`` in [0, 1]."""
    grid = drawing.pixel_grid(size)
    background, foreground = _random_colours(rng)
    # Gentle linear gradient so the background is not one flat colour.
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction) + 1e-12
    ramp = ((grid[0] - size / 2) * direction[0] + (grid[1] - size / 2) * direction[1]) / size
    image = background[:, None, None] + 0.2 * ramp[None] * rng.uniform(-1, 1, size=(3, 1, 1))
    image[:, _object_mask(label, grid, size, rng)] = foreground[:, None]
    for _ in range(rng.integers(0, 4)):
        image[:, _distractor_mask(grid, size, rng)] = rng.random(3)[:, None]
    image += rng.normal(0.0, 0.06, size=image.shape)
    return np.clip(image, 0.0, 1.0)


def make_synthetic_cifar10(num_images: int = 1000, image_size: int = 32,
                           seed: int = 0) -> ImageDataset:
    """Generate the dataset; splits are 70 / 15 / 15 % (700 / 150 / 150), classes balanced."""
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 to draw the textures, got {image_size}")
    if num_images < 30:
        raise ValueError(f"num_images must be at least 30 (3 splits x 10 classes), "
                         f"got {num_images}")
    rng = np.random.default_rng(seed)
    sizes = split_sizes(num_images, 0.15, 0.15)
    labels = rng.permutation(np.arange(num_images) % len(CLASS_NAMES))
    images = np.stack([draw_image(int(label), image_size, rng) for label in labels])
    train_idx, val_idx, test_idx = stratified_split(labels, sizes, rng)
    mean, std, train_x, val_x, test_x = drawing.normalise_channels(
        images[train_idx], images[val_idx], images[test_idx])
    return ImageDataset(
        train_images=train_x, train_labels=labels[train_idx].astype(np.int64),
        val_images=val_x, val_labels=labels[val_idx].astype(np.int64),
        test_images=test_x, test_labels=labels[test_idx].astype(np.int64),
        class_names=CLASS_NAMES, channel_mean=mean, channel_std=std)
