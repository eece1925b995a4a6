"""Learning-rate schedules against hand-computed values, and their saved state."""

import json
import math

import numpy as np
import pytest

from neural_arch.nn.module import Parameter
from neural_arch.optim import SGD, ConstantLR, LambdaLR, StepLR, WarmupCosine


def _optimizer(lrs=(1.0, 0.5)):
    return SGD([{"params": [Parameter(np.zeros(1))], "lr": lr} for lr in lrs], lr=lrs[0])


def _lrs_at(scheduler, steps):
    """{step: [lr per group]} for the given scheduler step counts."""
    seen = {}
    for s in range(max(steps) + 1):
        if s in steps:
            seen[s] = scheduler.get_last_lr()
            assert seen[s] == [g["lr"] for g in scheduler.optimizer.param_groups]
        scheduler.step()
    return seen


def test_warmup_cosine_by_hand():
    # warmup 10, total 110, floor 0.1. Warmup: s/10. Decay: q = (s - 10) / 100 and
    # factor = 0.1 + 0.9 * (1 + cos(pi q)) / 2: q = 0.25 -> 0.1 + 0.45 * (1 + 0.70710678).
    sched = WarmupCosine(_optimizer(), warmup_steps=10, total_steps=110, min_lr_ratio=0.1)
    factors = {0: 0.0, 1: 0.1, 5: 0.5, 10: 1.0, 35: 0.1 + 0.45 * (1 + math.sqrt(0.5)),
               60: 0.55, 85: 0.1 + 0.45 * (1 - math.sqrt(0.5)), 110: 0.1, 111: 0.1, 300: 0.1}
    for s, lrs in _lrs_at(sched, set(factors)).items():
        np.testing.assert_allclose(lrs, [factors[s], 0.5 * factors[s]], rtol=1e-12, atol=1e-15)


def test_warmup_cosine_edge_cases():
    no_warmup = WarmupCosine(_optimizer(), warmup_steps=0, total_steps=4)
    assert _lrs_at(no_warmup, {0, 2, 4})[2] == pytest.approx([0.5, 0.25])
    assert no_warmup.get_last_lr() == [0.0, 0.0]
    only_warmup = WarmupCosine(_optimizer(), warmup_steps=4, total_steps=4, min_lr_ratio=0.2)
    assert _lrs_at(only_warmup, {2, 4, 5}) == {2: [0.5, 0.25], 4: [0.2, 0.1], 5: [0.2, 0.1]}
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosine(_optimizer(), warmup_steps=5, total_steps=4)
    with pytest.raises(ValueError, match="min_lr_ratio"):
        WarmupCosine(_optimizer(), warmup_steps=1, total_steps=4, min_lr_ratio=1.5)


def test_step_lr_by_hand():
    sched = StepLR(_optimizer(), step_size=3, gamma=0.5)
    seen = _lrs_at(sched, {0, 2, 3, 5, 6, 9})
    assert seen == {0: [1.0, 0.5], 2: [1.0, 0.5], 3: [0.5, 0.25], 5: [0.5, 0.25],
                    6: [0.25, 0.125], 9: [0.125, 0.0625]}


def test_constant_lr():
    assert _lrs_at(ConstantLR(_optimizer()), {0, 7}) == {0: [1.0, 0.5], 7: [1.0, 0.5]}
    warm = ConstantLR(_optimizer(), factor=0.5, total_iters=2)
    assert _lrs_at(warm, {0, 1, 2, 3}) == {0: [0.5, 0.25], 1: [0.5, 0.25], 2: [1.0, 0.5],
                                           3: [1.0, 0.5]}


def test_lambda_lr():
    sched = LambdaLR(_optimizer(), lambda s: 1.0 / (s + 1))
    assert _lrs_at(sched, {0, 3}) == {0: [1.0, 0.5], 3: [0.25, 0.125]}


def test_second_scheduler_starts_from_the_original_lr():
    opt = _optimizer()
    first = StepLR(opt, step_size=1, gamma=0.5)
    first.step()
    assert opt.param_groups[0]["lr"] == 0.5
    second = ConstantLR(opt)
    assert second.get_last_lr() == [1.0, 0.5]


@pytest.mark.parametrize("make", [
    lambda o: WarmupCosine(o, warmup_steps=3, total_steps=20, min_lr_ratio=0.05),
    lambda o: StepLR(o, step_size=4, gamma=0.3),
    lambda o: ConstantLR(o, factor=0.25, total_iters=9),
])
def test_state_dict_resume_through_json(make):
    sched = make(_optimizer())
    for _ in range(7):
        sched.step()
    saved = json.loads(json.dumps(sched.state_dict()))
    resumed = make(_optimizer())
    resumed.load_state_dict(saved)
    assert resumed.last_step == 7
    assert resumed.get_last_lr() == sched.get_last_lr()
    assert [g["lr"] for g in resumed.optimizer.param_groups] == sched.get_last_lr()
    for _ in range(15):
        sched.step()
        resumed.step()
        assert resumed.get_last_lr() == sched.get_last_lr()


def test_load_state_dict_rejects_mismatches():
    saved = StepLR(_optimizer(), step_size=2).state_dict()
    with pytest.raises(ValueError, match="StepLR"):
        ConstantLR(_optimizer()).load_state_dict(saved)
    with pytest.raises(ValueError, match="parameter groups"):
        StepLR(_optimizer(lrs=(1.0,)), step_size=2).load_state_dict(saved)
    with pytest.raises(ValueError, match="keys"):
        StepLR(_optimizer(), step_size=2).load_state_dict({"last_step": 1})


def test_step_lr_and_constant_lr_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in [
        (lambda o: StepLR(o, step_size=3, gamma=0.7),
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.7)),
        (lambda o: ConstantLR(o, factor=0.4, total_iters=5),
         lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=0.4, total_iters=5)),
    ]:
        sched = ours(_optimizer())
        topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        tsched = theirs(topt)
        for _ in range(12):
            np.testing.assert_allclose(sched.get_last_lr(), [tsched.get_last_lr()[0],
                                                             0.5 * tsched.get_last_lr()[0]],
                                       rtol=1e-12)
            topt.step()
            tsched.step()
            sched.step()
