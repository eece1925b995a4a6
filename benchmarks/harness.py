"""Validate, then time: the core of the suite, independent of printing and files.

For one case, ``run_case`` starts a neural_arch worker and (when torch is present) a PyTorch
worker, copies the neural_arch weights into PyTorch, checks step 0 on both (``validate``), and
only then times them interleaved at every thread count (``time_interleaved``).

Validation tolerances (float32):

    training:   |loss_na - loss_pt| <= 1e-4, and for every parameter
                max|g_na - g_pt| <= 1e-3 · max|g_pt| + 1e-6
    inference:  max|logits_na - logits_pt| <= 1e-4 · (1 + max|logits_pt|)
"""

import os
import statistics
import tempfile
import time

import numpy as np

from benchmarks.sides import load_arrays
from benchmarks.worker import NEURAL_ARCH_ENV, WITH_TORCH, Worker

LOSS_ATOL = 1e-4
GRAD_RTOL, GRAD_ATOL = 1e-3, 1e-6
LOGITS_RTOL = 1e-4

# Pause before each timed step. The side that just ran leaves its BLAS / OpenMP threads
# spinning for a while (OpenBLAS: up to ~0.1 s); on 2 cores they would steal the other side's
# cores. Measured on the seed config at 2 threads without the pause: 2641 ms vs 37 ms at 1.
# 0.3 s also makes every timed step one that follows an idle gap of at least 0.25 s, when thread
# pools have gone to sleep: the figures include waking them.
SETTLE_S = 0.3


def compare(ours, theirs, mode):
    """Check two step-0 results ({name: array}); returns a dict with ``ok`` and the errors."""
    result = {"ok": True, "problems": []}
    if mode == "infer":
        a, b = ours["logits"], theirs["logits"]
        err = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")
        result["logits_max_abs_err"] = err
        if not err <= LOGITS_RTOL * (1.0 + float(np.max(np.abs(b)))):
            result["ok"] = False
            result["problems"].append(f"logits differ by {err:.3g}")
        return result
    loss_err = abs(float(ours["loss"]) - float(theirs["loss"]))
    result.update(loss_na=float(ours["loss"]), loss_pt=float(theirs["loss"]),
                  loss_abs_err=loss_err)
    if not loss_err <= LOSS_ATOL:
        result["ok"] = False
        result["problems"].append(f"step-0 loss differs by {loss_err:.3g} (> {LOSS_ATOL})")
    names = sorted(k for k in ours if k.startswith("grad."))
    missing = set(names) ^ {k for k in theirs if k.startswith("grad.")}
    if missing:
        result["ok"] = False
        result["problems"].append(f"gradients missing on one side: {sorted(missing)}")
    worst = 0.0
    for name in names:
        if name not in theirs:
            continue
        a, b = ours[name], theirs[name]
        err = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")
        scale = float(np.max(np.abs(b)))
        rel = err / (scale + GRAD_ATOL / GRAD_RTOL)
        worst = max(worst, rel)
        if not err <= GRAD_RTOL * scale + GRAD_ATOL:
            result["ok"] = False
            result["problems"].append(f"{name[5:]}: max |Δgrad| {err:.3g} vs max |grad| "
                                      f"{scale:.3g}")
    result["grad_max_rel_err"] = worst
    return result


def validate(case, ours, theirs, workdir, perturb=None):
    """Copy weights neural_arch -> PyTorch, run step 0 on both, compare.

    ``perturb``: optional ``(parameter name, delta)`` added to one element of that weight on the
    PyTorch side only, to show that validation catches a difference (used by the tests).
    """
    weights = os.path.join(workdir, "weights")
    ours.call("save_weights", weights)
    if perturb is not None:
        name, delta = perturb
        path = os.path.join(weights, name + ".npy")
        array = np.load(path)
        array.reshape(-1)[0] += delta
        np.save(path, array)
    theirs.call("load_weights", weights)
    dirs = {side: os.path.join(workdir, side) for side in ("na", "pt")}
    ours.call("check", dirs["na"])
    theirs.call("check", dirs["pt"])
    return compare(load_arrays(dirs["na"]), load_arrays(dirs["pt"]), case.mode)


def _summary(samples):
    wall = [w * 1e3 for w, _ in samples]
    cpu = [c * 1e3 for _, c in samples]
    return {"median_ms": statistics.median(wall), "min_ms": min(wall), "max_ms": max(wall),
            "cpu_median_ms": statistics.median(cpu), "n": len(wall)}


def time_interleaved(workers, threads, budget_s, min_rounds=15, max_rounds=30, warmup=1):
    """Warm up, then rounds of one step per side, alternating which side goes first.

    Validation has already run a forward and backward on each side (Numba's compiled code is
    loaded by then), so one warm-up step per thread count suffices.

    Returns {side: summary}. The number of rounds fits ``budget_s`` seconds of stepping, and is
    at least ``min_rounds``: with 5, the slowest case's (GPT-2 *small*, about 1 s a step)
    2-thread ratio ranged 0.84–1.04 over six runs of the same code; with 9, ViT-tiny's 1-thread
    ratio was 0.87 in one full run and 1.00 in the next (same code, our side's median 225 then
    261 ms, PyTorch's 260 both times). 15 rounds cost the full suite about two minutes more.
    """
    for w in workers:
        w.call("threads", threads)
    for w in workers:
        w.call("steps", warmup)
    one_round = sum(w.call("steps", 1)[0][0] for w in workers)
    rounds = int(min(max_rounds, max(min_rounds, budget_s / max(one_round, 1e-6))))
    samples = {w.side_name: [] for w in workers}
    for r in range(rounds):
        for w in (workers if r % 2 == 0 else workers[::-1]):
            time.sleep(SETTLE_S)
            samples[w.side_name].extend(w.call("steps", 1))
    return {name: _summary(s) for name, s in samples.items()}


def run_case(case, thread_counts, budget_s, with_torch, log=print, perturb=None):
    """Validate then time one case; returns a dict of everything measured."""
    max_threads = max(thread_counts)
    record = {"case": case.name, "label": case.label, "mode": case.mode, "model": case.model,
              "batch": case.batch, "seq": case.seq, "config": case.config, "timings": {}}
    workers = []
    try:
        ours = Worker("neural_arch", case, max_threads, NEURAL_ARCH_ENV)
        workers.append(ours)
        record["base_rss_mb"] = {"neural_arch": ours.info["base_rss_mb"]}
        if with_torch and case.check_with_torch_imported:
            workers.append(Worker(WITH_TORCH, case, max_threads, NEURAL_ARCH_ENV))
        if with_torch:
            theirs = Worker("torch", case, max_threads)
            workers.append(theirs)
            record["base_rss_mb"]["torch"] = theirs.info["base_rss_mb"]
            with tempfile.TemporaryDirectory(prefix="na-bench-") as tmp:
                record["validation"] = validate(case, ours, theirs, tmp, perturb)
            if not record["validation"]["ok"]:
                log(f"  VALIDATION FAILED for {case.name}: "
                    + "; ".join(record["validation"]["problems"][:5]))
                return record
        for n in thread_counts:
            record["timings"][str(n)] = time_interleaved(workers, n, budget_s)
        record["peak_rss_mb"] = {w.side_name: w.call("rss") for w in workers}
        return record
    finally:
        for w in workers:
            w.close()
