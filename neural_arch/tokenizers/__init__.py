"""Tokenizers: text in, integer ids out (plain Python, no NumPy arrays of the engine).

* ``WordTokenizer``      -- one id per word of a fixed vocabulary (captions, BERT from scratch)
* ``WordPieceTokenizer`` -- BERT's uncased WordPiece, reading a Hugging Face ``vocab.txt``

They sit at the bottom of the layers so that a model (BERT reading its vocabulary) and the
datasets can both use them without one knowing the other.
"""

from .word_tokenizer import WordTokenizer, join_words
from .wordpiece import WordPieceTokenizer, basic_tokenize

__all__ = ["WordPieceTokenizer", "WordTokenizer", "basic_tokenize", "join_words"]
