"""Layer sizes are checked where the layer is built, naming the argument."""

import pytest

from neural_arch import nn


@pytest.mark.parametrize("args, name", [((0, 3), "in_features"), ((3, -1), "out_features"),
                                        ((2.5, 3), "in_features"), ((True, 3), "in_features")])
def test_linear_rejects_sizes_that_are_not_positive_ints(args, name):
    with pytest.raises(ValueError, match=name):
        nn.Linear(*args)


def test_embedding_rejects_an_empty_table():
    with pytest.raises(ValueError, match="num_embeddings"):
        nn.Embedding(0, 4)
