"""Metrics against small cases worked out by hand (the arithmetic is in the comments)."""

import json
import math

import numpy as np
import pytest

from neural_arch.training.metrics import (TokenStats, class_accuracies, correct_token_count,
                                          i2t_t2i_accuracy, perplexity_from_losses,
                                          retrieval_metrics, token_accuracy, topk_accuracy)

# Similarity matrix used by the retrieval tests; rows are images, columns texts, and pair i
# (the diagonal) is the true match.
#            t0   t1   t2
S = np.array([[0.9, 0.1, 0.5],   # image 0: true 0.9 is the row max          -> rank 0
              [0.8, 0.3, 0.2],   # image 1: true 0.3, beaten by 0.8           -> rank 1
              [0.4, 0.2, 0.7]])  # image 2: true 0.7 is the row max          -> rank 0
# Columns: text 0 [0.9, 0.8, 0.4] true 0.9 -> rank 0; text 1 [0.1, 0.3, 0.2] true 0.3 -> rank 0;
#          text 2 [0.5, 0.2, 0.7] true 0.7 -> rank 0.


def embeddings_for(similarity):
    """image_emb @ text_emb.T == similarity when image_emb = I and text_emb = similarity.T."""
    return np.eye(len(similarity)), similarity.T.copy()


def test_perplexity_is_exp_of_mean_token_loss_not_mean_of_batch_exps():
    # Batch A: 1 token with loss 2.0; batch B: 3 tokens with loss 0.0 each.
    # Whole split: mean = (2 + 0) / 4 = 0.5 -> exp(0.5) = 1.6487...
    # (A mean of batch perplexities would give (e^2 + e^0) / 2 = 4.19, which is wrong.)
    assert perplexity_from_losses(2.0, 4) == pytest.approx(math.exp(0.5))
    stats = TokenStats()
    stats.add(2.0, 1, 1)
    stats.add(0.0, 3, 2)
    assert stats.loss == pytest.approx(0.5)
    assert stats.perplexity == pytest.approx(math.exp(0.5))
    assert stats.accuracy == pytest.approx(3 / 4)


def test_perplexity_edge_cases():
    assert perplexity_from_losses(0.0, 10) == 1.0
    assert perplexity_from_losses(1e6, 1) == math.inf  # exp(1e6) does not fit a float
    with pytest.raises(ValueError, match="total_tokens"):
        perplexity_from_losses(1.0, 0)
    with pytest.raises(ValueError, match="finite"):
        perplexity_from_losses(float("nan"), 3)
    with pytest.raises(ValueError, match="no tokens"):
        TokenStats().loss
    with pytest.raises(ValueError, match="n_correct"):
        TokenStats().add(1.0, 2, 3)


def test_token_accuracy_ignores_padding():
    targets = np.array([[1, 2, -100],
                        [3, -100, -100]])
    preds = np.array([[1, 0, 5],      # 1 right, 2 wrong, padding ignored
                      [3, 7, 7]])     # 3 right, two paddings ignored
    # Counted: 3 tokens, 2 right -> 2/3. Counting padding would give 2/6.
    assert token_accuracy(preds, targets) == pytest.approx(2 / 3)
    assert correct_token_count(preds, targets) == (2, 3)
    logits = np.eye(8)[preds]  # one-hot logits: argmax gives back `preds`
    assert token_accuracy(logits, targets, ignore_index=-100) == pytest.approx(2 / 3)
    # Every position counted: right at (0,0) and (1,0) only -> 2/6.
    assert token_accuracy(preds, targets, ignore_index=None) == pytest.approx(2 / 6)
    # Padding id 0, as some tokenizers use: targets [5, 0] -> one counted token, right.
    assert token_accuracy(np.array([5, 9]), np.array([5, 0]), ignore_index=0) == 1.0


def test_token_accuracy_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        token_accuracy(np.zeros((2, 3)), np.zeros(5, int))
    with pytest.raises(ValueError, match="nothing to count"):
        token_accuracy(np.zeros(2, int), np.full(2, -100))
    with pytest.raises(ValueError, match="NaN"):
        token_accuracy(np.full((2, 4), np.nan), np.zeros(2, int))


def test_topk_accuracy_hand_computed():
    logits = np.array([[0.1, 0.5, 0.2, 0.9],   # label 1: only 0.9 is higher   -> rank 1
                       [3.0, 2.0, 1.0, 0.0],   # label 3: three are higher     -> rank 3
                       [1.0, 1.0, 1.0, 1.0]])  # label 2: three ties, counted above -> rank 3
    labels = np.array([1, 3, 2])
    assert topk_accuracy(logits, labels, k=1) == 0.0          # no rank < 1
    assert topk_accuracy(logits, labels, k=2) == pytest.approx(1 / 3)  # rank 1 only
    assert topk_accuracy(logits, labels, k=3) == pytest.approx(1 / 3)
    assert topk_accuracy(logits, labels, k=4) == 1.0          # every rank < 4
    assert topk_accuracy(logits, labels, k=10) == 1.0         # k beyond C
    with pytest.raises(ValueError, match="labels"):
        topk_accuracy(logits, np.array([1, 3, 4]), k=1)
    with pytest.raises(ValueError, match="k must"):
        topk_accuracy(logits, labels, k=0)


def test_class_accuracies_with_absent_class_is_none_not_nan():
    preds = np.array([0, 1, 1, 2, 0])
    labels = np.array([0, 1, 2, 2, 0])
    # class 0: examples 0, 4 both right -> 1.0;  class 1: example 1 right -> 1.0
    # class 2: examples 2 (pred 1, wrong) and 3 (right) -> 0.5;  class 3: no example -> None
    result = class_accuracies(preds, labels, num_classes=4)
    assert result == [1.0, 1.0, 0.5, None]
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    with pytest.raises(ValueError, match="labels must lie"):
        class_accuracies(preds, labels, num_classes=2)


def test_retrieval_metrics_hand_computed():
    image_emb, text_emb = embeddings_for(S)
    result = retrieval_metrics(image_emb, text_emb, ks=(1, 2))
    # I2T ranks (0, 1, 0): R@1 = 2/3, R@2 = 3/3.  T2I ranks (0, 0, 0): R@1 = R@2 = 1.
    assert result == pytest.approx({"I2T_R@1": 2 / 3, "I2T_R@2": 1.0,
                                    "T2I_R@1": 1.0, "T2I_R@2": 1.0})
    default = retrieval_metrics(image_emb, text_emb)
    assert list(default) == ["I2T_R@1", "I2T_R@5", "I2T_R@10",
                             "T2I_R@1", "T2I_R@5", "T2I_R@10"]
    assert default["I2T_R@5"] == 1.0  # with 3 candidates every rank is < 5


def test_retrieval_ties_are_pessimistic():
    # Constant embeddings: every similarity is equal, so each true match is tied with the two
    # other candidates and ranked behind both -> rank 2 for every row and column.
    ones = np.ones((3, 4))
    result = retrieval_metrics(ones, ones, ks=(1, 2, 3))
    assert result == {"I2T_R@1": 0.0, "I2T_R@2": 0.0, "I2T_R@3": 1.0,
                      "T2I_R@1": 0.0, "T2I_R@2": 0.0, "T2I_R@3": 1.0}


def test_retrieval_uses_given_normalised_embeddings():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(20, 8))
    image /= np.linalg.norm(image, axis=1, keepdims=True)
    # Texts equal to their images: the diagonal is the cosine maximum 1 -> perfect recall.
    assert retrieval_metrics(image, image)["I2T_R@1"] == 1.0
    assert retrieval_metrics(image, image)["T2I_R@1"] == 1.0
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        retrieval_metrics(image, image[:5])


def test_i2t_t2i_accuracy_hand_computed():
    # Row argmaxes of S: (0, 0, 2) vs (0, 1, 2) -> 2 of 3 right -> i2t = 2/3.
    # Column argmaxes:   (0, 1, 2) vs (0, 1, 2) -> all right   -> t2i = 1.
    i2t, t2i = i2t_t2i_accuracy(S)
    assert i2t == pytest.approx(2 / 3)
    assert t2i == 1.0
    assert i2t_t2i_accuracy(np.eye(4)) == (1.0, 1.0)
    with pytest.raises(ValueError, match="square"):
        i2t_t2i_accuracy(np.zeros((2, 3)))
