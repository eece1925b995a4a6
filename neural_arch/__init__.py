"""neural_arch: a deep-learning engine written from scratch on NumPy."""
__version__ = "0.1.0"
