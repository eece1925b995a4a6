"""The core's one hook for an observer: a flag and two callbacks.

``Function.apply`` and ``engine.backward`` read ``active`` once per op. While it is False (always,
unless something is recording) they call ``forward`` and ``backward`` directly. An observer, such
as ``neural_arch.profiler``, calls ``install`` with two callbacks that must do that call
themselves (and may time it), and ``remove`` when done. The core never imports the observer.
"""

active = False
on_forward = None   # on_forward(fn, arrays, options) -> fn.forward(*arrays, **options)
on_backward = None  # on_backward(fn, grad) -> fn.backward(grad)


def install(forward_hook, backward_hook):
    """Route every op's forward and backward through the two callbacks."""
    global active, on_forward, on_backward
    if active:
        raise RuntimeError("a core hook is already installed")
    on_forward, on_backward, active = forward_hook, backward_hook, True


def remove():
    """Call forward and backward directly again."""
    global active, on_forward, on_backward
    active, on_forward, on_backward = False, None, None
