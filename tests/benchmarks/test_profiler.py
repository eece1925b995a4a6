"""neural_arch.profiler records forward, backward, kernel and optimizer time, and leaves
nothing patched behind."""

import numpy as np
import pytest

from neural_arch import kernels, optim, profiler
from neural_arch.core import hooks
from neural_arch.models.language.gpt2 import GPT2Config, GPT2LMHead


def _tiny_step():
    model = GPT2LMHead(GPT2Config(vocab_size=30, n_positions=8, n_embd=16, n_layer=1,
                                  n_head=2))
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    idx = np.random.default_rng(0).integers(0, 30, size=(2, 9))

    def step():
        opt.zero_grad()
        _, loss = model(idx[:, :-1], idx[:, 1:])
        loss.backward()
        opt.step()
    return step


def test_profile_records_ops_kernels_and_optimizer():
    step = _tiny_step()
    original_table, original_step = dict(kernels.KERNELS), optim.Adam.step
    with profiler.profile() as prof:
        assert hooks.active and kernels.KERNELS["matmul"] is not original_table["matmul"]
        step()
    assert not hooks.active and hooks.on_forward is None
    assert kernels.KERNELS == original_table and optim.Adam.step is original_step
    mm = prof.ops["LinearFn"]
    assert mm.calls > 0 and mm.forward > 0 and mm.backward > 0 and mm.kernel > 0
    assert prof.optimizer_calls == 1 and prof.optimizer_time > 0
    assert prof.kernels["matmul"][0] > 0 and prof.kernels["adamw_step_many"][0] > 0
    assert prof.forward_time + prof.backward_time + prof.optimizer_time <= prof.wall
    text = str(prof)
    assert "| LinearFn |" in text and "optimizer (1 steps)" in text
    assert set(prof.summary()) >= {"wall_ms", "forward_ms", "backward_ms", "optimizer_ms",
                                   "kernel_ms", "other_ms"}


def test_profile_cannot_nest_and_rejects_unknown_sort_key():
    with profiler.profile() as prof:
        with pytest.raises(RuntimeError):
            with profiler.profile():
                pass
    with pytest.raises(ValueError):
        prof.table(sort_by="nope")
    assert not hooks.active
