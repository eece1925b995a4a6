"""Where does a step's time go? A per-op profiler for neural_arch.

    from neural_arch.profiler import profile

    with profile() as prof:
        opt.zero_grad()
        _, loss = model(idx, targets)
        loss.backward()
        opt.step()
    print(prof)                  # or prof.table(sort_by="backward", limit=20)

What it records while the ``with`` block runs:

* per op type (the ``Function`` subclass name): calls, forward time (inside ``Function.forward``,
  called from ``Function.apply``) and backward time (inside ``Function.backward``, called from
  the engine), and how much of both was spent in registry kernels;
* per kernel (``neural_arch.kernels`` dispatch functions: matmul, attention_forward, ...): calls
  and time, whichever op or optimizer called them;
* the optimizer: time inside every ``Optimizer.step`` (its kernels are counted under it);
* the wall time of the whole block, so that "other" = wall - forward - backward - optimizer is
  the Python around the ops: module calls, shape checks, the engine's bookkeeping.

How it hooks in: it installs ``record_forward`` / ``record_backward`` as the core's hook
(``neural_arch.core.hooks``: ``Function.apply`` and ``engine.backward`` read one flag per op and
know nothing of the profiler). Kernels and optimizer steps are wrapped only for the duration of
the block: every entry of the kernel table ``neural_arch.kernels.KERNELS`` (which the ops look
up at call time) and ``step`` on every Optimizer subclass, then everything is put back. Times are inclusive: an op
whose forward calls another op's ``apply`` counts that time twice (no op here does).
"""

import contextlib
import time
from collections import defaultdict

from neural_arch.core import hooks

_current = None       # the Profile being recorded
_op_stack = []        # the op (name) whose forward/backward is running, for kernel attribution


class _OpStats:
    __slots__ = ("calls", "forward", "backward", "backward_calls", "kernel")

    def __init__(self):
        self.calls = self.backward_calls = 0
        self.forward = self.backward = self.kernel = 0.0


class Profile:
    """The numbers one ``profile()`` block collected (all times in seconds)."""

    def __init__(self):
        self.ops = defaultdict(_OpStats)
        self.kernels = defaultdict(lambda: [0, 0.0])  # name -> [calls, seconds]
        self.optimizer_time = 0.0
        self.optimizer_calls = 0
        self.wall = 0.0

    # ----- totals ------------------------------------------------------------------------------
    @property
    def forward_time(self):
        return sum(s.forward for s in self.ops.values())

    @property
    def backward_time(self):
        return sum(s.backward for s in self.ops.values())

    @property
    def kernel_time(self):
        return sum(t for _, t in self.kernels.values())

    @property
    def other_time(self):
        return self.wall - self.forward_time - self.backward_time - self.optimizer_time

    def summary(self):
        """The totals as a dict of milliseconds (what the benchmarks store in JSON)."""
        return {"wall_ms": self.wall * 1e3, "forward_ms": self.forward_time * 1e3,
                "backward_ms": self.backward_time * 1e3,
                "optimizer_ms": self.optimizer_time * 1e3,
                "kernel_ms": self.kernel_time * 1e3, "other_ms": self.other_time * 1e3}

    # ----- printing ----------------------------------------------------------------------------
    def table(self, sort_by="total", limit=None):
        """A markdown table: ops sorted by ``sort_by`` ("total", "forward", "backward",
        "calls"), then kernels by time, then the totals."""
        keys = {"total": lambda s: s.forward + s.backward, "forward": lambda s: s.forward,
                "backward": lambda s: s.backward, "calls": lambda s: s.calls}
        if sort_by not in keys:
            raise ValueError(f"sort_by must be one of {sorted(keys)}; got {sort_by!r}")
        wall = max(self.wall, 1e-12)
        rows = sorted(self.ops.items(), key=lambda kv: keys[sort_by](kv[1]), reverse=True)
        lines = ["| op | calls | forward ms | backward ms | total ms | % of wall | in kernels ms |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
        for name, s in rows[:limit]:
            total = s.forward + s.backward
            lines.append(f"| {name} | {s.calls} | {s.forward * 1e3:.2f} | {s.backward * 1e3:.2f}"
                         f" | {total * 1e3:.2f} | {100 * total / wall:.1f} |"
                         f" {s.kernel * 1e3:.2f} |")
        lines += ["", "| kernel | calls | ms | % of wall |", "|---|---:|---:|---:|"]
        for name, (calls, t) in sorted(self.kernels.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"| {name} | {calls} | {t * 1e3:.2f} | {100 * t / wall:.1f} |")
        lines += ["", "| part | ms | % of wall |", "|---|---:|---:|"]
        parts = [("ops forward", self.forward_time), ("ops backward", self.backward_time),
                 (f"optimizer ({self.optimizer_calls} steps)", self.optimizer_time),
                 ("other (modules, engine, Python glue)", self.other_time),
                 ("wall", self.wall), ("of which in kernels", self.kernel_time)]
        for name, t in parts:
            lines.append(f"| {name} | {t * 1e3:.2f} | {100 * t / wall:.1f} |")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


# ----- the core's hook callbacks (installed only inside a ``profile()`` block) ----------------

def record_forward(fn, arrays, options):
    name = type(fn).__name__
    _op_stack.append(name)
    start = time.perf_counter()
    try:
        return fn.forward(*arrays, **options)
    finally:
        stats = _current.ops[name]
        stats.forward += time.perf_counter() - start
        stats.calls += 1
        _op_stack.pop()


def record_backward(fn, grad):
    name = type(fn).__name__
    _op_stack.append(name)
    start = time.perf_counter()
    try:
        return fn.backward(grad)
    finally:
        stats = _current.ops[name]
        stats.backward += time.perf_counter() - start
        stats.backward_calls += 1
        _op_stack.pop()


# ----- wrappers installed for the duration of a block -----------------------------------------

def _timed_kernel(name, kernel):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return kernel(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            entry = _current.kernels[name]
            entry[0] += 1
            entry[1] += elapsed
            if _op_stack and _op_stack[-1] != "<optimizer>":
                _current.ops[_op_stack[-1]].kernel += elapsed
    wrapper.__wrapped__ = kernel
    return wrapper


def _timed_step(step):
    def wrapper(self, *args, **kwargs):
        if _op_stack and _op_stack[-1] == "<optimizer>":  # a subclass's super().step()
            return step(self, *args, **kwargs)
        _op_stack.append("<optimizer>")
        start = time.perf_counter()
        try:
            return step(self, *args, **kwargs)
        finally:
            _current.optimizer_time += time.perf_counter() - start
            _current.optimizer_calls += 1
            _op_stack.pop()
    wrapper.__wrapped__ = step
    return wrapper


def _all_subclasses(cls):
    found, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


def _install():
    """Wrap kernels and optimizer steps; return the list of (owner, name, original) to undo."""
    from neural_arch.kernels import KERNELS
    from neural_arch.optim.optimizer import Optimizer
    undo = []
    for name, original in list(KERNELS.items()):
        KERNELS[name] = _timed_kernel(name, original)
        undo.append((KERNELS, name, original))
    for cls in [Optimizer] + _all_subclasses(Optimizer):
        if "step" in vars(cls):  # wrap each definition once, not what it inherits
            original = vars(cls)["step"]
            setattr(cls, "step", _timed_step(original))
            undo.append((cls, "step", original))
    return undo


@contextlib.contextmanager
def profile():
    """Record op, kernel and optimizer times inside the block; yields the ``Profile``."""
    global _current
    if hooks.active:
        raise RuntimeError("profile() blocks cannot be nested")
    prof = Profile()
    undo = _install()
    _current = prof
    hooks.install(record_forward, record_backward)
    start = time.perf_counter()
    try:
        yield prof
    finally:
        prof.wall = time.perf_counter() - start
        hooks.remove()
        _current = None
        _op_stack.clear()
        for owner, name, original in reversed(undo):
            if isinstance(owner, dict):
                owner[name] = original
            else:
                setattr(owner, name, original)
