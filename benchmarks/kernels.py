"""Benchmark the compute kernels: Numba vs NumPy reference vs PyTorch, at 1 and 2 threads.

    python benchmarks/kernels.py            # full sizes (a few minutes on 2 cores)
    python benchmarks/kernels.py --quick    # smaller sizes and fewer repeats

For every kernel the script first checks that the Numba version matches the reference on the
benchmark inputs, warms it up, then reports the median of several timed runs (never one run).
Each thread count runs in its own subprocess, with NUMBA_NUM_THREADS and the BLAS thread
variables set before NumPy is imported (and threadpoolctl / torch.set_num_threads inside), so all
three engines use the same number of threads. JIT compile time is measured in a fresh process
with an empty Numba cache, and again with the cache filled (the cost a user pays per process).
Results go to benchmarks/results/kernels.json and a markdown table on stdout.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "kernels.json"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def close(a, b, rtol=1e-4):
    """Agreement up to rtol relative to the largest magnitude (float32 sums over thousands of
    rows carry absolute error proportional to that magnitude)."""
    import numpy as np
    return np.allclose(a, b, rtol=rtol, atol=rtol * max(1e-6, float(np.abs(a).max())))


def median_time(fn, repeats, warmup=1):
    """Median wall time of fn() in seconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


# ------------------------------------------------------------------------------------ the cases

def make_cases(quick):
    """name -> (setup() returning {engine: callable}, validate() or None, extra info)."""
    import numpy as np

    import neural_arch.kernels as K

    rng = np.random.default_rng(0)
    f32 = np.float32
    try:
        import torch
    except ImportError:
        torch = None

    def randn(*shape):
        return rng.standard_normal(shape).astype(f32)

    cases = {}

    # matmul ------------------------------------------------------------------------------
    n = 512 if quick else 1024
    a, b = randn(n, n), randn(n, n)
    cases[f"matmul {n}^3 f32"] = dict(
        engines={"numba": lambda: K.matmul_numba(a, b), "numpy": lambda: np.matmul(a, b)},
        torch=(lambda ta=None, tb=None: None) if torch is None else _torch_matmul(torch, a, b),
        check=lambda: close(a @ b, K.matmul_numba(a, b)),
        flops=2 * n ** 3)
    sa, sb = randn(512, 8, 8), randn(512, 8, 8)
    cases["matmul (512,8,8)@(512,8,8) f32"] = dict(
        engines={"numba": lambda: K.matmul_numba(sa, sb), "numpy": lambda: np.matmul(sa, sb)},
        torch=None if torch is None else _torch_matmul(torch, sa, sb),
        check=lambda: close(sa @ sb, K.matmul_numba(sa, sb)),
        flops=2 * 512 * 8 ** 3)

    # attention fwd+bwd -------------------------------------------------------------------
    shape = (2, 6, 256, 64) if quick else (8, 6, 256, 64)
    q, k, v, do = randn(*shape), randn(*shape), randn(*shape), randn(*shape)

    def attn(fwd, bwd):
        def run():
            out, cache = fwd(q, k, v, causal=True)
            return out, bwd(do, cache)
        return run

    def attn_check():
        (o1, g1), (o2, g2) = (attn(K.attention_forward_reference, K.attention_backward_reference)(),
                              attn(K.attention_forward_numba, K.attention_backward_numba)())
        return all(close(x, y) for x, y in zip((o1,) + g1, (o2,) + g2))

    cases[f"attention fwd+bwd {shape} causal f32"] = dict(
        engines={"numba": attn(K.attention_forward_numba, K.attention_backward_numba),
                 "numpy": attn(K.attention_forward_reference, K.attention_backward_reference)},
        torch=None if torch is None else _torch_attention(torch, q, k, v, do),
        check=attn_check)

    # layer norm / rms norm / gelu fwd+bwd -----------------------------------------------
    x = randn(1024 if quick else 4096, 768)
    w, bias, dx = randn(768), randn(768), randn(*x.shape)

    def pair(fwd, bwd, *args):
        def run():
            out, cache = fwd(x, *args)
            grads = bwd(dx, cache)
            return (out,) + (grads if isinstance(grads, tuple) else (grads,))
        return run

    for label, fr, br, fn, bn, args, tfun in [
        ("layer_norm", K.layer_norm_forward_reference, K.layer_norm_backward_reference,
         K.layer_norm_forward_numba, K.layer_norm_backward_numba, (w, bias, 1e-5), "layer_norm"),
        ("rms_norm", K.rms_norm_forward_reference, K.rms_norm_backward_reference,
         K.rms_norm_forward_numba, K.rms_norm_backward_numba, (w, 1e-6), "rms_norm"),
        ("gelu(tanh)", K.gelu_forward_reference, K.gelu_backward_reference,
         K.gelu_forward_numba, K.gelu_backward_numba, ("tanh",), "gelu"),
    ]:
        ref_run, nb_run = pair(fr, br, *args), pair(fn, bn, *args)
        cases[f"{label} fwd+bwd {x.shape} f32"] = dict(
            engines={"numba": nb_run, "numpy": ref_run},
            torch=None if torch is None else _torch_rowwise(torch, tfun, x, w, bias, dx),
            check=lambda r=ref_run, m=nb_run: all(close(p, s) for p, s in zip(r(), m())))

    # cross-entropy fwd+bwd ---------------------------------------------------------------
    logits = randn(512 if quick else 4096, 50257)
    targets = rng.integers(0, 50257, logits.shape[0])
    dl = np.full(logits.shape[0], 1.0 / logits.shape[0], dtype=f32)

    def ce(fwd, bwd):
        def run():
            losses, cache = fwd(logits, targets)
            return losses, bwd(dl, cache)
        return run

    ce_ref = ce(K.cross_entropy_forward_reference, K.cross_entropy_backward_reference)
    ce_nb = ce(K.cross_entropy_forward_numba, K.cross_entropy_backward_numba)
    cases[f"cross_entropy fwd+bwd {logits.shape} f32"] = dict(
        engines={"numba": ce_nb, "numpy": ce_ref},
        torch=None if torch is None else _torch_ce(torch, logits, targets),
        check=lambda: all(close(p, s) for p, s in zip(ce_ref(), ce_nb())))

    # AdamW -------------------------------------------------------------------------------
    size = 1_000_000 if quick else 10_000_000
    grad = randn(size)
    states = {e: (randn(size), np.zeros(size, f32), np.zeros(size, f32))
              for e in ("numba", "numpy")}

    def adam(fn, state):
        step = [0]

        def run():
            step[0] += 1
            fn(*state[:1], grad, *state[1:], step[0], lr=1e-3)
        return run

    def adam_check():
        p0 = randn(1000)
        outs = []
        for fn in (K.adamw_step_reference, K.adamw_step_numba):
            p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
            for t in (1, 2, 3):
                fn(p, grad[:1000], m, v, t)
            outs.append(p)
        return close(outs[0], outs[1], rtol=1e-5)

    cases[f"adamw step {size / 1e6:g}M params f32"] = dict(
        engines={"numba": adam(K.adamw_step_numba, states["numba"]),
                 "numpy": adam(K.adamw_step_reference, states["numpy"])},
        torch=None if torch is None else _torch_adamw(torch, size, grad),
        check=adam_check)
    return cases


def _torch_matmul(torch, a, b):
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    return lambda: torch.matmul(ta, tb)


def _torch_attention(torch, q, k, v, do):
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tdo = torch.from_numpy(do)

    def run():
        out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
        torch.autograd.grad(out, (tq, tk, tv), tdo)
    return run


def _torch_rowwise(torch, name, x, w, b, dx):
    F = torch.nn.functional
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tdx = torch.from_numpy(dx)
    fwd = {"layer_norm": lambda: F.layer_norm(tx, (x.shape[-1],), tw, tb, 1e-5),
           "rms_norm": lambda: F.rms_norm(tx, (x.shape[-1],), tw, 1e-6),
           "gelu": lambda: F.gelu(tx, approximate="tanh")}[name]
    inputs = {"layer_norm": (tx, tw, tb), "rms_norm": (tx, tw), "gelu": (tx,)}[name]

    def run():
        torch.autograd.grad(fwd(), inputs, tdx)
    return run


def _torch_ce(torch, logits, targets):
    tl = torch.tensor(logits, requires_grad=True)
    tt = torch.from_numpy(targets)

    def run():
        loss = torch.nn.functional.cross_entropy(tl, tt)
        torch.autograd.grad(loss, (tl,))
    return run


def _torch_adamw(torch, size, grad):
    p = torch.nn.Parameter(torch.randn(size))
    p.grad = torch.from_numpy(grad)
    opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=1e-2, foreach=False, fused=True)
    return opt.step


# ------------------------------------------------------------------------------- worker parts

def attention_memory(lengths):
    """Peak NumPy allocation (MiB, tracemalloc) of causal fwd+bwd at B=H=1, D=64, per T.

    Inputs are allocated before tracing starts, so only the kernel's own arrays count. The Numba
    kernel's per-thread scratch tiles (a few KiB) come from Numba's allocator and are not traced.
    """
    import numpy as np

    import neural_arch.kernels as K

    rows = []
    for t in lengths:
        q = np.random.default_rng(0).standard_normal((1, 1, t, 64)).astype(np.float32)
        row = {"T": t}
        for engine, fwd, bwd in (("numba", K.attention_forward_numba, K.attention_backward_numba),
                                 ("numpy", K.attention_forward_reference,
                                  K.attention_backward_reference)):
            tracemalloc.start()
            out, cache = fwd(q, q, q, causal=True)
            bwd(out, cache)
            row[engine + "_MiB"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
            del out, cache
        rows.append(row)
    return rows


def worker(threads, quick, engine):
    """Time one engine ("numba", "numpy" or "torch") on every case at `threads` threads and
    print one JSON object. Each engine gets its own process: Numba's OpenMP threads keep
    spinning after a parallel loop and would steal the cores from BLAS or PyTorch threads
    running in the same process (measured: torch 25x slower at 2 threads)."""
    import numba

    numba.set_num_threads(threads)
    try:  # optional (pip install threadpoolctl); the BLAS variables set above still apply
        import threadpoolctl
        threadpoolctl.threadpool_limits(threads)
    except ImportError:
        pass
    try:
        import torch
        torch.set_num_threads(threads)
    except ImportError:
        torch = None
    repeats = 3 if quick else 7
    results = {}
    for name, case in make_cases(quick).items():
        row = {}
        if engine == "numba":
            row["valid"] = bool(case["check"]())
            if "flops" in case:
                row["flops"] = case["flops"]
        fn = case["torch"] if engine == "torch" else case["engines"][engine]
        if fn is not None:
            row[engine + "_s"] = median_time(fn, repeats)
        results[name] = row
        print(f"[{engine}, {threads} thread(s)] {name}: {row}", file=sys.stderr, flush=True)
    memory = []
    if engine == "numba":
        memory = attention_memory((256, 1024) if quick else (256, 1024, 4096))
    print(json.dumps({"cases": results, "attention_memory": memory}))


def run_engines(threads, quick):
    """Run the three engine workers for one thread count and merge their rows."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{v: str(threads) for v in THREAD_VARS})
    merged = None
    for engine in ("numba", "numpy", "torch"):
        cmd = [sys.executable, __file__, "--worker", str(threads), "--engine", engine]
        out = subprocess.run(cmd + ["--quick"] * quick, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{engine} worker with {threads} thread(s) failed:\n{out.stderr}")
        part = json.loads(out.stdout)
        if merged is None:
            merged = part
        else:
            for name, row in part["cases"].items():
                merged["cases"][name].update(row)
    for name, row in merged["cases"].items():
        if "flops" in row:
            row["numba_gflops"] = row["flops"] / row["numba_s"] / 1e9
            row["blas_gflops"] = row["flops"] / row["numpy_s"] / 1e9
    return merged


COMPILE_SNIPPET = """
import time
t0 = time.perf_counter()
import numpy as np
import neural_arch.kernels as K
x = np.ones((4, 8), np.float32)
q = np.ones((1, 1, 4, 8), np.float32)
for dt in (np.float32, np.float64):
    x, q = x.astype(dt), q.astype(dt)
    K.matmul_numba(x, x.T)
    o, c = K.attention_forward_numba(q, q, q, causal=True); K.attention_backward_numba(o, c)
    o, c = K.layer_norm_forward_numba(x, x[0], x[0]); K.layer_norm_backward_numba(o, c)
    o, c = K.rms_norm_forward_numba(x, x[0]); K.rms_norm_backward_numba(o, c)
    o, c = K.gelu_forward_numba(x, "tanh"); K.gelu_backward_numba(o, c)
    o, c = K.cross_entropy_forward_numba(x, np.zeros(4, np.int64))
    K.cross_entropy_backward_numba(o, c)
    K.adamw_step_numba(x.copy(), x, x.copy(), x.copy(), 1)
print(time.perf_counter() - t0)
"""


def compile_times():
    """(cold, warm) seconds: import + first call of every Numba kernel in both dtypes, first
    with an empty Numba cache (compiles everything), then again with that cache filled."""
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT))
        run = [sys.executable, "-c", COMPILE_SNIPPET]
        cold = float(subprocess.run(run, env=env, capture_output=True, text=True,
                                    check=True).stdout)
        warm = float(subprocess.run(run, env=env, capture_output=True, text=True,
                                    check=True).stdout)
    return cold, warm


# ------------------------------------------------------------------------------------ report

TARGETS = [  # (case prefix, description, test(row) -> (met, measured text))
    ("attention", "numba <= 1.0x torch SDPA",
     lambda r: (r["numba_s"] <= r["torch_s"], f"{r['numba_s'] / r['torch_s']:.2f}x torch")),
    ("attention", "numba >= 1.5x faster than NumPy",
     lambda r: (r["numpy_s"] / r["numba_s"] >= 1.5, f"{r['numpy_s'] / r['numba_s']:.2f}x")),
    ("layer_norm", "numba >= 2x faster than NumPy",
     lambda r: (r["numpy_s"] / r["numba_s"] >= 2, f"{r['numpy_s'] / r['numba_s']:.2f}x")),
    ("cross_entropy", "numba >= 2x faster than NumPy",
     lambda r: (r["numpy_s"] / r["numba_s"] >= 2, f"{r['numpy_s'] / r['numba_s']:.2f}x")),
    ("adamw", "fused numba >= 3x faster than NumPy",
     lambda r: (r["numpy_s"] / r["numba_s"] >= 3, f"{r['numpy_s'] / r['numba_s']:.2f}x")),
    ("matmul 1024", "numba >= 40% of BLAS GFLOP/s",
     lambda r: (r["numba_gflops"] >= 0.4 * r["blas_gflops"],
                f"{100 * r['numba_gflops'] / r['blas_gflops']:.1f}% of BLAS")),
]


def table(report):
    lines = ["| threads | case | ok | numba ms | numpy ms | torch ms | numpy/numba | "
             "torch/numba |", "|---|---|---|---|---|---|---|---|"]
    for threads, res in report["threads"].items():
        for name, r in res["cases"].items():
            torch_ms = f"{1e3 * r['torch_s']:.2f}" if "torch_s" in r else "-"
            vs_torch = f"{r['torch_s'] / r['numba_s']:.2f}" if "torch_s" in r else "-"
            extra = (f" ({r['numba_gflops']:.1f} vs {r['blas_gflops']:.1f} GFLOP/s)"
                     if "numba_gflops" in r else "")
            lines.append(f"| {threads} | {name}{extra} | {'yes' if r['valid'] else 'NO'} | "
                         f"{1e3 * r['numba_s']:.2f} | {1e3 * r['numpy_s']:.2f} | {torch_ms} | "
                         f"{r['numpy_s'] / r['numba_s']:.2f} | {vs_torch} |")
    lines += ["", "| T | numba peak MiB | numpy peak MiB |", "|---|---|---|"]
    last = list(report["threads"].values())[-1]
    for row in last["attention_memory"]:
        lines.append(f"| {row['T']} | {row['numba_MiB']:.1f} | {row['numpy_MiB']:.1f} |")
    lines += ["", "| target | threads | measured | met |", "|---|---|---|---|"]
    for t in report["targets"]:
        lines.append(f"| {t['target']} | {t['threads']} | {t['measured']} | "
                     f"{'met' if t['met'] else 'MISSED'} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="numba", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.quick, args.engine)
        return
    cold, warm = compile_times()
    report = {"quick": args.quick, "compile_s": {"cold": cold, "cache_warm": warm},
              "threads": {}, "targets": []}
    for threads in (int(t) for t in args.threads.split(",")):
        report["threads"][threads] = run_engines(threads, args.quick)
        for prefix, target, test in TARGETS:
            for name, row in report["threads"][threads]["cases"].items():
                if name.startswith(prefix) and ("torch" not in target or "torch_s" in row):
                    met, measured = test(row)
                    report["targets"].append({"target": f"{name}: {target}", "threads": threads,
                                              "met": bool(met), "measured": measured})
    report["targets"].append({"target": "JIT compile of all kernels <= 30 s", "threads": "-",
                              "met": cold <= 30, "measured": f"{cold:.1f} s"})
    report["targets"].append({"target": "cache-warm import + first calls <= 2 s",
                              "threads": "-", "met": warm <= 2, "measured": f"{warm:.2f} s"})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(table(report))


if __name__ == "__main__":
    main()
