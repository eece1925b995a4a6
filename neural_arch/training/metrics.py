"""Evaluation metrics on plain NumPy arrays, as recorded in the checkpoint JSON.

Every metric is computed over a whole split from totals (summed losses, counts), never as a mean
of per-batch values: a mean of batch perplexities or batch accuracies weights small last batches
and padding-heavy batches wrongly. Every function returns Python floats, ready for JSON.

Ties. ``token_accuracy``, ``class_accuracies`` and ``i2t_t2i_accuracy`` use ``argmax``, which
picks the lowest index among equal scores. ``topk_accuracy`` and ``retrieval_metrics`` rank
pessimistically: a competitor that ties the true answer counts as ranked above it, so a model
that outputs constant scores gets no credit, whatever the data order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def perplexity_from_losses(total_nll: float, total_tokens: int) -> float:
    """Perplexity of a whole split: ``exp(total_nll / total_tokens)``.

    ``total_nll`` is the sum of the per-token negative log-likelihoods (nats) over the split, so
    this is the exponential of the mean token loss. Returns ``inf`` if that mean exceeds ~709
    (beyond float64), which a checkpoint will refuse to store.
    """
    if total_tokens <= 0:
        raise ValueError(f"total_tokens must be > 0, got {total_tokens}")
    mean = float(total_nll) / total_tokens
    if not math.isfinite(mean):
        raise ValueError(f"total_nll must be finite, got {total_nll}")
    try:
        return math.exp(mean)
    except OverflowError:
        return math.inf


@dataclass
class TokenStats:
    """Running totals over a split: ``add`` once per batch, read the metrics at the end.

    loss = sum_nll / n_tokens;  perplexity = exp(loss);  accuracy = n_correct / n_tokens.
    """

    sum_nll: float = 0.0
    n_tokens: int = 0
    n_correct: int = 0

    def add(self, sum_nll: float, n_tokens: int, n_correct: int = 0) -> None:
        """Add one batch: its summed token loss, its counted tokens and how many were right."""
        if n_tokens < 0 or not 0 <= n_correct <= n_tokens:
            raise ValueError(f"need 0 <= n_correct <= n_tokens, got n_correct={n_correct}, "
                             f"n_tokens={n_tokens}")
        self.sum_nll += float(sum_nll)
        self.n_tokens += int(n_tokens)
        self.n_correct += int(n_correct)

    def _require_tokens(self) -> None:
        if self.n_tokens == 0:
            raise ValueError("TokenStats has no tokens yet: call add() with n_tokens > 0")

    @property
    def loss(self) -> float:
        self._require_tokens()
        return self.sum_nll / self.n_tokens

    @property
    def perplexity(self) -> float:
        self._require_tokens()
        return perplexity_from_losses(self.sum_nll, self.n_tokens)

    @property
    def accuracy(self) -> float:
        self._require_tokens()
        return self.n_correct / self.n_tokens


def _finite(name: str, array: np.ndarray) -> None:
    # NaN compares false with everything, so it would silently count as a hit in the rankings.
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or Infinity")


def _predictions(name: str, logits_or_preds, targets: np.ndarray) -> np.ndarray:
    """Predicted ids: ``argmax`` over the last axis of logits, or the given predictions."""
    scores = np.asarray(logits_or_preds)
    if scores.ndim == targets.ndim + 1:
        _finite(name, scores)
        return scores.argmax(axis=-1)
    if scores.shape == targets.shape:
        return scores
    raise ValueError(f"{name} has shape {scores.shape}; expected the targets' shape "
                     f"{targets.shape} (predictions) or {targets.shape + ('C',)} (logits)")


def correct_token_count(logits_or_preds, targets, ignore_index: int | None = -100
                        ) -> tuple[int, int]:
    """(n_correct, n_counted) over positions whose target is not ``ignore_index``.

    The integer form of ``token_accuracy``, for adding up across batches with ``TokenStats``.
    """
    targets = np.asarray(targets)
    preds = _predictions("logits_or_preds", logits_or_preds, targets)
    counted = np.ones(targets.shape, bool) if ignore_index is None else targets != ignore_index
    return int((preds == targets)[counted].sum()), int(counted.sum())


def token_accuracy(logits_or_preds, targets, ignore_index: int | None = -100) -> float:
    """Fraction of counted tokens predicted right: sum[pred == target] / sum[target != ignore].

    ``logits_or_preds`` is logits of shape ``targets.shape + (C,)`` or predicted ids of the
    targets' shape. Padding positions (``targets == ignore_index``) are left out of both sums;
    ``ignore_index=None`` counts every position.
    """
    n_correct, n_counted = correct_token_count(logits_or_preds, targets, ignore_index)
    if n_counted == 0:
        raise ValueError("token_accuracy: every target equals ignore_index; nothing to count")
    return n_correct / n_counted


def topk_accuracy(logits, labels, k: int = 5) -> float:
    """Fraction of rows whose label is among the k highest scores: mean[rank(label) < k].

    rank(label) = #{c : s_c > s_label} + #{c != label : s_c == s_label} (ties pessimistic).
    ``logits`` is (N, C), ``labels`` (N,). A k of C or more gives 1.0.
    """
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim != 2 or labels.shape != logits.shape[:1] or labels.shape[0] == 0:
        raise ValueError(f"topk_accuracy expects logits (N, C) and labels (N,) with N > 0, got "
                         f"{logits.shape} and {labels.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}), got range "
                         f"[{labels.min()}, {labels.max()}]")
    _finite("logits", logits)
    true_score = logits[np.arange(len(labels)), labels][:, None]
    # ">=" counts the label itself once; subtracting 1 leaves ties with *other* classes.
    rank = (logits >= true_score).sum(axis=1) - 1
    return float((rank < k).mean())


def class_accuracies(preds, labels, num_classes: int) -> list[float | None]:
    """Per-class accuracy: entry c = #{i : label_i = c, pred_i = c} / #{i : label_i = c}.

    ``preds`` is predicted ids (N,) or logits (N, C). A class with no example in ``labels``
    has no accuracy: its entry is ``None`` (JSON ``null``), since JSON cannot hold NaN.
    """
    labels = np.asarray(labels)
    preds = _predictions("preds", preds, labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got range "
                         f"[{labels.min()}, {labels.max()}]")
    totals = np.bincount(labels, minlength=num_classes)
    hits = np.bincount(labels[preds == labels], minlength=num_classes)
    return [float(h / t) if t else None for h, t in zip(hits, totals)]


def _recall_at_k(similarity: np.ndarray, ks) -> list[float]:
    """R@k for rows of a square similarity matrix whose true match is the diagonal."""
    true_score = np.diag(similarity)[:, None]
    rank = (similarity >= true_score).sum(axis=1) - 1  # Ties pessimistic, as in topk_accuracy.
    return [float((rank < k).mean()) for k in ks]


def retrieval_metrics(image_emb, text_emb, ks=(1, 5, 10)) -> dict[str, float]:
    """Recall@k both ways over a whole split, keys ``I2T_R@k`` and ``T2I_R@k``.

    Pair i (image i, text i) is the only match. Similarity S = image_emb @ text_emb.T: the dot
    product of the embeddings as given (pass them L2-normalised for cosine similarity).
    I2T_R@k = mean_i[rank of S[i, i] within row i < k]; T2I_R@k the same down column i. Ties are
    pessimistic: an equal score of a wrong candidate ranks above the true one.
    """
    image_emb, text_emb = np.asarray(image_emb), np.asarray(text_emb)
    if image_emb.ndim != 2 or image_emb.shape != text_emb.shape or image_emb.shape[0] == 0:
        raise ValueError(f"image_emb and text_emb must both be (N, D) with N > 0, got "
                         f"{image_emb.shape} and {text_emb.shape}")
    if any(k < 1 for k in ks):
        raise ValueError(f"every k must be >= 1, got {tuple(ks)}")
    _finite("image_emb", image_emb)
    _finite("text_emb", text_emb)
    similarity = image_emb @ text_emb.T  # (N_images, N_texts)
    metrics = {}
    for direction, matrix in (("I2T", similarity), ("T2I", similarity.T)):
        for k, recall in zip(ks, _recall_at_k(matrix, ks)):
            metrics[f"{direction}_R@{k}"] = recall
    return metrics


def class_retrieval_metrics(image_emb, text_emb, image_labels, text_labels, ks=(1, 5, 10)):
    """Recall@k both ways where a retrieved item counts when its class matches.

    S = image_emb @ text_emb.T. I2T_R@k = mean over images i of [some text among the k most
    similar to i has label image_labels[i]]; T2I_R@k the same for each text over the images.
    """
    image_emb, text_emb = np.asarray(image_emb), np.asarray(text_emb)
    image_labels, text_labels = np.asarray(image_labels), np.asarray(text_labels)
    if image_emb.ndim != 2 or text_emb.ndim != 2 or image_emb.shape[1] != text_emb.shape[1]:
        raise ValueError(f"image_emb and text_emb must be (N, D) and (M, D), got "
                         f"{image_emb.shape} and {text_emb.shape}")
    _finite("image_emb", image_emb)
    _finite("text_emb", text_emb)
    similarity = image_emb @ text_emb.T  # (N_images, N_texts)
    metrics = {}
    for direction, matrix, queries, items in (("I2T", similarity, image_labels, text_labels),
                                              ("T2I", similarity.T, text_labels, image_labels)):
        order = np.argsort(-matrix, axis=1, kind="stable")                   # (Q, items)
        same = items[order] == queries[:, None]                             # (Q, items)
        for k in ks:
            metrics[f"{direction}_R@{k}"] = float(same[:, :k].any(axis=1).mean())
    return metrics


def i2t_t2i_accuracy(logits) -> tuple[float, float]:
    """(i2t, t2i) accuracy of a square (N, N) image-text similarity matrix.

    i2t = mean_i[argmax_j logits[i, j] == i]  (each image picks its text, along the row);
    t2i = mean_j[argmax_i logits[i, j] == j]  (each text picks its image, down the column).
    """
    logits = np.asarray(logits)
    if logits.ndim != 2 or logits.shape[0] != logits.shape[1] or logits.shape[0] == 0:
        raise ValueError(f"logits must be a non-empty square (N, N) matrix, got {logits.shape}")
    _finite("logits", logits)
    index = np.arange(logits.shape[0])
    return (float((logits.argmax(axis=1) == index).mean()),
            float((logits.argmax(axis=0) == index).mean()))
