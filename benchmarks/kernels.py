"""Benchmark the compute kernels: Numba vs NumPy reference vs PyTorch, at 1 and 2 threads.

    python -m benchmarks.kernels            # full sizes (a few minutes on 2 cores)
    python -m benchmarks.kernels --quick    # smaller sizes and fewer repeats

For every kernel the script first checks that the Numba version matches the reference on the
benchmark inputs, warms it up, then reports the median of several timed runs (never one run);
every engine runs twice, in alternating order, and keeps its faster median (``run_engines``).
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

from benchmarks.kernel_cases import make_cases

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "kernels.json"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


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
        for engine, fwd, bwd in (("numba", K.attention_forward_dense, K.attention_backward_dense),
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


PASSES = 2   # each engine's worker runs this many times, in alternating engine order


def run_worker(engine, threads, quick, env):
    """One engine's worker process at ``threads`` threads -> its {"cases", "attention_memory"}."""
    cmd = [sys.executable, "-m", "benchmarks.kernels", "--worker", str(threads), "--engine",
           engine]
    out = subprocess.run(cmd + ["--quick"] * quick, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{engine} worker with {threads} thread(s) failed:\n{out.stderr}")
    return json.loads(out.stdout)


def _merge_row(into, row):
    """Fold one worker's row of a case into ``into``: a time already there keeps the faster of
    the two, ``valid`` holds only if both checks held, anything else is copied."""
    for key, value in row.items():
        if key.endswith("_s") and key in into:
            into[key] = min(into[key], value)
        elif key == "valid":
            into[key] = into[key] and value
        else:
            into[key] = value


def run_engines(threads, quick):
    """Run the three engine workers for one thread count, twice, and merge their rows.

    The engines run one after another (each in its own process, see ``worker``), so a burst of
    load from elsewhere on this shared machine lands on one engine only: on 2026-12-07 two
    single-pass runs of the same code each failed one "no slower than NumPy" row that the other
    passed (BERT-mini's attention at 0.79x and then 1.62x). So every engine runs ``PASSES``
    times, the second pass in the reverse order (numba, numpy, torch; torch, numpy, numba), and
    each case keeps each engine's faster median: the same rule for every engine, and a burst
    has to hit an engine in both passes to show.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{v: str(threads) for v in THREAD_VARS})
    engines = ["numba", "numpy", "torch"]
    parts = [run_worker(engine, threads, quick, env) for pass_index in range(PASSES)
             for engine in (engines if pass_index % 2 == 0 else engines[::-1])]
    merged = parts[0]
    for part in parts[1:]:
        for name, row in part["cases"].items():
            _merge_row(merged["cases"][name], row)
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
    o, c = K.attention_forward_dense(q, q, q, causal=True); K.attention_backward_dense(o, c)
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

TARGETS = [  # (case prefix, description, test(row) -> (met, measured text), thread counts)
    ("attention", "numba <= 1.0x torch SDPA",
     lambda r: (r["numba_s"] <= r["torch_s"], f"{r['numba_s'] / r['torch_s']:.2f}x torch"),
     (1,)),
    ("attention", "numba >= 1.5x faster than NumPy",
     lambda r: (r["numpy_s"] / r["numba_s"] >= 1.5, f"{r['numpy_s'] / r['numba_s']:.2f}x"), None),
    ("layer_norm", "numba >= 2x faster than NumPy",
     lambda r: (r["numpy_s"] / r["numba_s"] >= 2, f"{r['numpy_s'] / r['numba_s']:.2f}x"), None),
    ("cross_entropy", "numba >= 2x faster than NumPy",
     lambda r: (r["numpy_s"] / r["numba_s"] >= 2, f"{r['numpy_s'] / r['numba_s']:.2f}x"), None),
    ("adamw", "fused numba >= 3x faster than NumPy",
     lambda r: (r["numpy_s"] / r["numba_s"] >= 3, f"{r['numpy_s'] / r['numba_s']:.2f}x"), None),
    ("model shapes", "numba no slower than its NumPy reference",
     lambda r: (r["numba_s"] <= r["numpy_s"], f"{r['numpy_s'] / r['numba_s']:.2f}x"), None),
]
# Not targets: the Numba matmul (the registry sends every matmul to BLAS, faster at every size)
# and the compile time of every kernel in both dtypes (a run compiles only what it calls, in
# float32; its cost is cold_start.py's measurement). Both stay in the table and the JSON.


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
        for prefix, target, test, counts in TARGETS:
            if counts is not None and threads not in counts:
                continue
            for name, row in report["threads"][threads]["cases"].items():
                if name.startswith(prefix) and ("torch" not in target or "torch_s" in row):
                    met, measured = test(row)
                    report["targets"].append({"target": f"{name}: {target}", "threads": threads,
                                              "met": bool(met), "measured": measured})
    report["targets"].append({"target": "cache-warm import + first calls <= 2 s",
                              "threads": "-", "met": warm <= 2, "measured": f"{warm:.2f} s"})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(table(report))


if __name__ == "__main__":
    main()
