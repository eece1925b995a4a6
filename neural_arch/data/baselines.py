"""Baselines computed in the same run as every model: a model has learned when it beats them.

* ``ngram_loss``: the val loss of a unigram or bigram character model (language models);
* ``logistic_regression_baseline``: softmax regression on raw pixels (image classifiers);
* ``bag_of_words_baseline``: softmax regression on word counts (sentence classifiers).

They are written out in NumPy so that they need nothing else.

Both are honest, not strawmen: features are standardised with train statistics, the weights are
trained with momentum gradient descent, and an L2 penalty keeps them from memorising noise.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np



def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def ngram_loss(train_ids, val_ids, vocab_size, order):
    """Mean next-token cross-entropy on ``val_ids`` of an add-one smoothed n-gram model.

    order 1 (unigram): p(c) = (count(c) + 1) / (N + V);
    order 2 (bigram):  p(c | b) = (count(b c) + 1) / (count(b ·) + V), counted on ``train_ids``.
    The first val token has no predecessor, so the bigram scores ``val_ids[1:]``.
    """
    train_ids = np.asarray(train_ids, dtype=np.int64)
    val_ids = np.asarray(val_ids, dtype=np.int64)
    if order == 1:
        counts = np.bincount(train_ids, minlength=vocab_size) + 1.0
        return float(-np.mean(np.log(counts[val_ids] / counts.sum())))
    if order == 2:
        pairs = np.bincount(train_ids[:-1] * vocab_size + train_ids[1:],
                            minlength=vocab_size * vocab_size).reshape(vocab_size, vocab_size)
        probs = (pairs + 1.0) / (pairs.sum(axis=1, keepdims=True) + vocab_size)  # (V, V)
        return float(-np.mean(np.log(probs[val_ids[:-1], val_ids[1:]])))
    raise ValueError(f"order must be 1 or 2, got {order!r}")


def logistic_regression_baseline(train_x: np.ndarray, train_y: np.ndarray,
                                 test_x: np.ndarray, test_y: np.ndarray, epochs: int = 150,
                                 lr: float = 0.5, l2: float = 1e-2, seed: int = 0) -> float:
    """Train multinomial softmax regression on flattened inputs; return test accuracy.

    Args:
        train_x, test_x: arrays of shape ``(n, ...)``; each row is flattened to a vector.
        train_y, test_y: integer class labels ``(n,)``.
        epochs: full-batch gradient steps (heavy-ball momentum 0.9) on the mean cross-entropy
            plus ``l2 / 2 * ||W||^2`` (the bias is not penalised), with learning rate ``lr``.
        seed: seeds the small random initial weights.
    Full-batch steps, in float32, because one large matrix product per step is far cheaper
    than many small ones on a busy CPU.
    """
    train_x = np.asarray(train_x, dtype=np.float32).reshape(len(train_x), -1)
    test_x = np.asarray(test_x, dtype=np.float32).reshape(len(test_x), -1)
    train_y = np.asarray(train_y, dtype=np.int64)
    test_y = np.asarray(test_y, dtype=np.int64)
    if train_x.shape[1] != test_x.shape[1]:
        raise ValueError(f"train_x has {train_x.shape[1]} features per row but test_x has "
                         f"{test_x.shape[1]}")
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("each x must have one label per row")
    # Standardise with train statistics so one learning rate suits every feature.
    mean = train_x.mean(axis=0)
    std = train_x.std(axis=0) + 1e-6
    train_x = (train_x - mean) / std
    test_x = (test_x - mean) / std
    train_x_t = np.ascontiguousarray(train_x.T)    # (features, n), reused by every step

    n, num_features = train_x.shape
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.0, 0.01, size=(num_features, num_classes)).astype(np.float32)
    bias = np.zeros(num_classes, dtype=np.float32)
    velocity_w = np.zeros_like(weights)
    velocity_b = np.zeros_like(bias)
    # Scale the step by 1/sqrt(features): standardised inputs make logits grow with it.
    step = lr / np.sqrt(num_features)
    for _ in range(epochs):
        probs = np.exp(_log_softmax(train_x @ weights + bias))
        # d(mean cross-entropy)/d(logits) = (softmax - one_hot) / n.
        probs[np.arange(n), train_y] -= 1.0
        probs /= n
        grad_w = train_x_t @ probs + l2 * weights
        grad_b = probs.sum(axis=0)
        velocity_w = 0.9 * velocity_w - step * grad_w
        velocity_b = 0.9 * velocity_b - step * grad_b
        weights += velocity_w
        bias += velocity_b
    predictions = (test_x @ weights + bias).argmax(axis=1)
    return float((predictions == test_y).mean())


def bag_of_words(ids: np.ndarray, vocab_size: int, ignore_ids: Iterable[int] = ()) -> np.ndarray:
    """Count vectors ``(n, vocab_size)``: how often each token id occurs in each row."""
    ids = np.asarray(ids, dtype=np.int64)
    counts = np.zeros((len(ids), vocab_size), dtype=np.float64)
    rows = np.repeat(np.arange(len(ids)), ids.shape[1])
    np.add.at(counts, (rows, ids.reshape(-1)), 1.0)
    for i in ignore_ids:
        counts[:, i] = 0.0
    return counts


def bag_of_words_baseline(train_ids: np.ndarray, train_labels: np.ndarray,
                          test_ids: np.ndarray, test_labels: np.ndarray, vocab_size: int,
                          ignore_ids: Iterable[int] = (0,), epochs: int = 150,
                          lr: float = 0.5, l2: float = 1e-2, seed: int = 0) -> float:
    """Softmax regression on word counts (word order thrown away); return test accuracy.

    ``ignore_ids`` are token ids left out of the counts (padding; special tokens carry no
    information either way).
    """
    ignore_ids = list(ignore_ids)
    train_x = bag_of_words(train_ids, vocab_size, ignore_ids)
    test_x = bag_of_words(test_ids, vocab_size, ignore_ids)
    return logistic_regression_baseline(train_x, train_labels, test_x, test_labels,
                                        epochs=epochs, lr=lr, l2=l2, seed=seed)
