"""all-MiniLM-L6-v2 loaded from its Hugging Face directory reproduces the published embedding.

The reference values are the first five dimensions of the sentence-transformers embedding of
"The quick brown fox jumps over the lazy dog." (mean pooling, L2 normalisation).
"""

import numpy as np
import pytest

from neural_arch.data.pretrained import minilm_directory
from neural_arch.models.language.bert import BERT

SENTENCE = "The quick brown fox jumps over the lazy dog."
REFERENCE_FIRST_FIVE = np.array([0.0439335, 0.0589344, 0.0481784, 0.0775481, 0.0267444])


@pytest.fixture(scope="module")
def model():
    return BERT.from_pretrained(minilm_directory())


def test_embedding_matches_the_published_reference(model):
    embedding = model.encode_sentences([SENTENCE])
    assert embedding.shape == (1, 384)
    deviation = np.abs(embedding[0, :5] - REFERENCE_FIRST_FIVE).max()
    print(f"largest deviation from the reference: {deviation:.3g}")
    np.testing.assert_allclose(embedding[0, :5], REFERENCE_FIRST_FIVE, atol=1e-5, rtol=0)
    assert abs(np.linalg.norm(embedding[0]) - 1.0) < 1e-5


def test_batching_and_padding_do_not_change_embeddings(model):
    other = "A completely unrelated sentence about quarterly tax filings and spreadsheets."
    alone = model.encode_sentences([SENTENCE])
    both = model.encode_sentences([other, SENTENCE], batch_size=2)
    np.testing.assert_allclose(both[1], alone[0], atol=1e-5, rtol=0)
    cosine = float(both[0] @ both[1])
    assert cosine < 0.99, cosine
