"""Reverse-mode differentiation over the graph that ``Function.apply`` records.

The order is found iteratively (HIPS autograd ``util.py``): first count, for every node reachable
from the root, how many of its consumers lie in the graph; then visit a node only once all of its
consumers have passed their gradient to it. No recursion, so a chain of 10,000 ops is fine, and
each node's ``backward`` runs exactly once however many paths reach it.

Gradients are summed where paths meet (``x * x + x``), their shapes are asserted against the
input they belong to, intermediate gradients are dropped as soon as they are used, and the graph
is freed as backward passes unless ``retain_graph=True``. Nothing here clips, masks or otherwise
changes a gradient.
"""

import numpy as np

from neural_arch.core import hooks
from neural_arch.core.grad_array import GradArray
from neural_arch.core.tensor import Tensor


def _reachable_consumer_counts(root):
    """For every tensor needing grad below ``root``: how many graph edges lead into it."""
    counts = {}
    stack = [root]
    seen = {id(root)}
    while stack:
        node = stack.pop()
        if node._ctx is None:
            if node._graph_freed:
                raise RuntimeError(
                    "Trying to backward through the graph a second time: its saved values were "
                    "freed by the first backward. Pass retain_graph=True to the first backward "
                    "if you need to call backward twice."
                )
            continue
        for parent in node._ctx.parents:
            if not parent.requires_grad:
                continue
            counts[id(parent)] = counts.get(id(parent), 0) + 1
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return counts


def _seed_gradient(root, grad):
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a one-element output; got shape "
                f"{root.shape}. Pass grad= with the output's shape."
            )
        return np.ones_like(root.data)
    grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
    if grad.shape != root.shape:
        raise ValueError(f"backward: grad has shape {grad.shape}, expected {root.shape}")
    return grad


def backward(root, grad=None, retain_graph=False):
    """Accumulate d(root)/d(leaf), weighted by ``grad``, into ``leaf.grad`` for every leaf."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph")
    counts = _reachable_consumer_counts(root)
    grads = {id(root): _seed_gradient(root, grad)}
    # Keys whose gradient array was made for them alone (see below): a leaf may keep that array
    # as its .grad instead of a copy (one copy of every weight's gradient per step saved).
    fresh = set()
    ready = [root]
    while ready:
        node = ready.pop()
        g = grads.pop(id(node))  # dropped once used
        fn = node._ctx
        if fn is None:  # a leaf: accumulate into .grad
            if node.grad is None:
                owned = id(node) in fresh and g.dtype == node.dtype
                node.grad = g.view(GradArray) if owned else GradArray.of(g, node.dtype)
            else:
                node.grad += g
            continue
        if hooks.active:  # one attribute read when nothing observes (core/hooks.py)
            input_grads = hooks.on_backward(fn, g)
        else:
            input_grads = fn.backward(g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for i, (parent, pg) in enumerate(zip(fn.parents, input_grads)):
            if not parent.requires_grad:
                continue
            if pg is None:
                raise RuntimeError(f"{type(fn).__name__}.backward returned None for input {i}, "
                                   f"which requires grad")
            if pg.shape != parent.shape:
                raise RuntimeError(
                    f"{type(fn).__name__}.backward returned a gradient of shape {pg.shape} for "
                    f"input {i} of shape {parent.shape}"
                )
            key = id(parent)
            if pg.dtype != parent.dtype:
                pg = pg.astype(parent.dtype)
            # A new array, never in place: backward may hand the same array to several inputs.
            if key in grads:
                grads[key] = grads[key] + pg
                fresh.add(key)
            else:
                grads[key] = pg
                # Made by this backward for this input only: not the incoming gradient, not a
                # view of another array, not handed to a second input as well.
                if (pg.base is None and pg is not g
                        and sum(other is pg for other in input_grads) == 1):
                    fresh.add(key)
                else:
                    fresh.discard(key)
            counts[key] -= 1
            if counts[key] == 0:
                ready.append(parent)
        if not retain_graph:
            node._ctx = None
            node._graph_freed = True
