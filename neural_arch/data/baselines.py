"""Baselines computed in the same run as every model: a model has learned when it beats them.

* ``ngram_loss``: the val loss of a unigram or bigram character model (language models);
* ``fit_logistic_regression``: softmax regression on raw pixels (image classifiers);
* ``fit_bag_of_words``: softmax regression on token counts (sentence classifiers).

They are written out in NumPy so that they need nothing else, and they are honest, not
strawmen: full-batch momentum descent to convergence with an L2 penalty.
"""

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


def _momentum_descent(grad_fn, params, epochs, step):
    """Full-batch gradient descent with heavy-ball momentum 0.9 on the arrays ``params``."""
    velocity = [np.zeros_like(p) for p in params]
    for _ in range(epochs):
        for p, v, g in zip(params, velocity, grad_fn()):
            v *= 0.9
            v -= step * g
            p += v


def fit_logistic_regression(train_x, train_y, epochs=150, lr=0.5, l2=1e-2, seed=0):
    """Multinomial softmax regression on flattened inputs; returns ``predict(x) -> labels``.

    Minimises mean cross-entropy + ``l2 / 2 * ||W||^2`` (the bias is not penalised) with
    full-batch momentum descent, in float32. Features are standardised with the training
    statistics so that one step size suits all of them; the step is ``lr / sqrt(features)``
    because standardised inputs make the logits grow with the feature count.
    """
    x = np.asarray(train_x, dtype=np.float32).reshape(len(train_x), -1)
    y = np.asarray(train_y, dtype=np.int64)
    if len(x) != len(y):
        raise ValueError(f"train_x has {len(x)} rows but train_y has {len(y)} labels")
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    x = (x - mean) / std
    x_t = np.ascontiguousarray(x.T)  # (features, n), reused by every step
    n, num_features = x.shape
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.0, 0.01, size=(num_features, int(y.max()) + 1)).astype(np.float32)
    bias = np.zeros(weights.shape[1], dtype=np.float32)

    def gradients():
        probs = np.exp(_log_softmax(x @ weights + bias))
        probs[np.arange(n), y] -= 1.0  # d(mean cross-entropy)/d(logits) = (p - onehot) / n
        probs /= n
        return x_t @ probs + l2 * weights, probs.sum(axis=0)

    _momentum_descent(gradients, [weights, bias], epochs, lr / np.sqrt(num_features))

    def predict(inputs):
        inputs = np.asarray(inputs, dtype=np.float32).reshape(len(inputs), -1)
        if inputs.shape[1] != num_features:
            raise ValueError(f"inputs have {inputs.shape[1]} features per row; the model was "
                             f"fitted on {num_features}")
        return (((inputs - mean) / std) @ weights + bias).argmax(axis=1)
    return predict


def fit_bag_of_words(train_ids, train_y, vocab_size, ignore_ids=(0,), epochs=300, lr=0.5,
                     l2=1e-4, seed=0):
    """Softmax regression on token counts (word order thrown away); ``predict(ids) -> labels``.

    ``train_ids`` is a padded (n, L) id matrix; ``ignore_ids`` (padding, special tokens) are
    not counted. logits_i = b + Σ_t W[ids[i, t]] over the counted positions, which is the count
    vector times W without building the (n, vocab) count matrix; the gradient of W is the
    transpose: each position adds its row's (p - onehot) / n to W[id] (``np.bincount``).
    """
    ids = np.asarray(train_ids, dtype=np.int64)
    y = np.asarray(train_y, dtype=np.int64)
    ignore = np.asarray(list(ignore_ids), dtype=np.int64)
    n, num_classes = len(ids), int(y.max()) + 1
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.0, 0.01, size=(vocab_size, num_classes))
    bias = np.zeros(num_classes)

    def positions(batch_ids):
        """(row, token) of every counted position: the nonzeros of the count matrix."""
        counted = ~np.isin(batch_ids, ignore)                           # (n, L)
        return np.nonzero(counted)[0], batch_ids[counted]

    def logits(rows, tokens, n_rows):
        return bias + np.stack([np.bincount(rows, weights=weights[tokens, c], minlength=n_rows)
                                for c in range(num_classes)], axis=1)  # (n, C)

    rows, tokens = positions(ids)

    def gradients():
        probs = np.exp(_log_softmax(logits(rows, tokens, n)))
        probs[np.arange(n), y] -= 1.0
        probs /= n
        grad_w = np.stack([np.bincount(tokens, weights=probs[rows, c], minlength=vocab_size)
                           for c in range(num_classes)], axis=1)        # (V, C)
        return grad_w + l2 * weights, probs.sum(axis=0)

    _momentum_descent(gradients, [weights, bias], epochs, lr)

    def predict(batch_ids):
        batch_ids = np.asarray(batch_ids, dtype=np.int64)
        return logits(*positions(batch_ids), len(batch_ids)).argmax(axis=1)
    return predict
