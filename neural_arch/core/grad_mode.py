"""Grad mode: whether operations record the graph that backward walks.

Follows PyTorch's ``grad_mode.py``: every context manager saves the previous state on entry and
restores it on exit, so they nest, and each also works as a decorator.

    with no_grad():            # nothing inside is recorded
        with enable_grad():    # ... except this
            ...
"""

import functools

_grad_enabled = True


def is_grad_enabled():
    """True when new operations record their inputs for backward."""
    return _grad_enabled


def _set(mode):
    global _grad_enabled
    _grad_enabled = bool(mode)


class set_grad_enabled:
    """Set grad mode to ``mode`` for a block (or a decorated function), then restore it."""

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self.previous = None

    def __enter__(self):
        self.previous = is_grad_enabled()
        _set(self.mode)
        return self

    def __exit__(self, *exc_info):
        _set(self.previous)
        return False

    def __call__(self, func):
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            # A fresh manager per call: the decorated function may be re-entered or nested.
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """Disable graph recording: ``with no_grad(): ...`` or ``@no_grad()``."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Re-enable graph recording inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)
