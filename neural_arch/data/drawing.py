"""Rasterising shapes and textures into small images with NumPy.

Every function works on a pixel grid and returns a boolean mask of shape ``(H, W)``; an image is
then painted as ``image[:, mask] = colour``.  Coordinates are in pixels, ``(cy, cx)`` is a centre
and ``r`` a half-size ("radius"), so a shape of radius ``r`` fits in a ``2r x 2r`` box.

The masks are sampled at pixel centres (``y + 0.5, x + 0.5``) without anti-aliasing: at 32 x 32
the edges are a little jagged, which is fine (and real photos are not anti-aliased shapes either).
"""

from __future__ import annotations

import numpy as np


def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(yy, xx)``, each of shape ``(size, size)``."""
    centres = np.arange(size, dtype=np.float64) + 0.5
    return np.meshgrid(centres, centres, indexing="ij")


# ------------------------------------------------------------------------------ shapes
def circle(grid, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = grid
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r ** 2


def ring(grid, cy: float, cx: float, r: float, thickness: float) -> np.ndarray:
    yy, xx = grid
    d2 = (yy - cy) ** 2 + (xx - cx) ** 2
    return (d2 <= r ** 2) & (d2 >= (r - thickness) ** 2)


def square(grid, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = grid
    return (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r)


def diamond(grid, cy: float, cx: float, r: float) -> np.ndarray:
    """A square standing on one corner."""
    yy, xx = grid
    return np.abs(yy - cy) + np.abs(xx - cx) <= r


def triangle(grid, cy: float, cx: float, r: float) -> np.ndarray:
    """An upright isosceles triangle filling the ``2r x 2r`` box, apex on top."""
    yy, xx = grid
    # Height below the apex, from 0 at the top to 1 at the base; the half-width grows with it.
    t = (yy - (cy - r)) / (2 * r)
    return (t >= 0) & (t <= 1) & (np.abs(xx - cx) <= r * t)


def cross(grid, cy: float, cx: float, r: float, arm: float) -> np.ndarray:
    """A plus sign: two bars of half-width ``arm`` and half-length ``r``."""
    yy, xx = grid
    horizontal = (np.abs(yy - cy) <= arm) & (np.abs(xx - cx) <= r)
    vertical = (np.abs(xx - cx) <= arm) & (np.abs(yy - cy) <= r)
    return horizontal | vertical


def segment(grid, y0: float, x0: float, y1: float, x1: float, width: float) -> np.ndarray:
    """A straight line of the given width from ``(y0, x0)`` to ``(y1, x1)``."""
    yy, xx = grid
    dy, dx = y1 - y0, x1 - x0
    length2 = max(dy * dy + dx * dx, 1e-9)
    # Project each pixel onto the segment, clamp to its ends, measure the distance.
    t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / length2, 0.0, 1.0)
    return (yy - (y0 + t * dy)) ** 2 + (xx - (x0 + t * dx)) ** 2 <= (width / 2) ** 2


# ------------------------------------------------------------------------------ textures
# Each texture is a mask over the whole grid; callers intersect it with a region.
def stripes(grid, period: float, phase: float, angle: str) -> np.ndarray:
    """Stripes half a period wide; ``angle`` is "horizontal", "vertical", "diag" or "antidiag"."""
    yy, xx = grid
    coordinate = {"horizontal": yy, "vertical": xx,
                  "diag": (yy + xx) / np.sqrt(2), "antidiag": (yy - xx) / np.sqrt(2)}[angle]
    return ((coordinate + phase) % period) < period / 2


def checkerboard(grid, cell: float, phase_y: float, phase_x: float) -> np.ndarray:
    yy, xx = grid
    return (np.floor((yy + phase_y) / cell) + np.floor((xx + phase_x) / cell)) % 2 == 0


def dots(grid, spacing: float, radius: float, phase_y: float, phase_x: float) -> np.ndarray:
    """A square lattice of round dots."""
    yy, xx = grid
    # Distance from each pixel to the nearest lattice point.
    dy = (yy + phase_y) % spacing - spacing / 2
    dx = (xx + phase_x) % spacing - spacing / 2
    return dy ** 2 + dx ** 2 <= radius ** 2


# ------------------------------------------------------------------------------ images
def normalise_channels(train: np.ndarray, *others: np.ndarray):
    """Standardise images per channel with the train split's mean and std.

    Returns ``(mean, std, train, *others)``, mean and std of shape ``(3,)``, images float32.
    Using train statistics only keeps val / test untouched by the fit, as in real pipelines.
    """
    mean = train.mean(axis=(0, 2, 3))
    std = train.std(axis=(0, 2, 3)) + 1e-8
    scaled = [((x - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32)
              for x in (train, *others)]
    return (mean.astype(np.float32), std.astype(np.float32), *scaled)
