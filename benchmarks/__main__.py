"""``python -m benchmarks [--quick]``: neural_arch against PyTorch eager, validated, then timed.

Every case is validated (step-0 loss and gradients, or logits) before it is timed; the timed
steps alternate between the two sides (A B A B ...) after a warm-up, at each thread count.
Results go to ``benchmarks/results/<YYYY-MM-DD>.json`` and a markdown table on stdout.
Without torch the suite says so and times the neural_arch side alone.
"""

import argparse
import datetime
import importlib
import os
import sys
import time

from benchmarks import harness, machine, report
from benchmarks.cases import all_cases, tiny_gpt2_case

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def torch_version():
    """torch.__version__, or None (with the reason printed) when it cannot be imported."""
    try:
        torch = importlib.import_module("torch")
    except ImportError as error:
        print(f"PyTorch is NOT installed ({error}): timing the neural_arch side only, with no "
              "validation and no ratios. Install it with `pip install torch==2.13.0`.")
        return None
    return torch.__version__


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="about a minute: the seed config only, short timing budget")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (1,2)")
    p.add_argument("--cases", default=None,
                   help="comma-separated case names (default: all, or the quick ones)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of timed steps per case and thread count (6; quick: 1.5)")
    p.add_argument("--out", default=None, help="JSON path (default results/<date>.json)")
    p.add_argument("--env-note", default="",
                   help="how the environment was made, recorded in the JSON and the README "
                        "tables (e.g. 'fresh venv: pip install -e . && pip install torch==2.13.0')")
    p.add_argument("--profile", metavar="CASE", default=None,
                   help="instead of timing: profile CASE's neural_arch step (per-op table)")
    p.add_argument("--steps", type=int, default=3, help="steps to profile (--profile)")
    return p.parse_args(argv)


def profile_case(case, threads, steps):
    """Print where one neural_arch step of ``case`` spends its time (after one warm-up step)."""
    for key, value in harness.NEURAL_ARCH_ENV.items():  # as in the timing workers
        os.environ.setdefault(key, value)
    from benchmarks.sides import NeuralArchSide
    from benchmarks.worker import set_threads
    from neural_arch.profiler import profile
    set_threads(threads)
    side = NeuralArchSide(case)
    side.step()
    with profile() as prof:
        for _ in range(steps):
            side.step()
    print(f"{case.name} ({case.label}), {threads} thread(s), {steps} steps, "
          f"{prof.wall / steps * 1e3:.0f} ms/step:\n")
    print(prof.table(limit=15))
    return prof


def select_cases(args):
    cases = all_cases()
    if args.cases:
        # The tiny cases (seconds long, for tests) can be named but are not in the default run.
        known = cases + [tiny_gpt2_case("train"), tiny_gpt2_case("infer")]
        wanted = args.cases.split(",")
        unknown = set(wanted) - {c.name for c in known}
        if unknown:
            raise SystemExit(f"unknown case(s) {sorted(unknown)}; known: "
                             f"{[c.name for c in known]}")
        return [c for c in known if c.name in wanted]
    return [c for c in cases if c.quick] if args.quick else cases


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    threads = [int(t) for t in args.threads.split(",")]
    budget = args.budget if args.budget is not None else (1.5 if args.quick else 6.0)
    if args.profile:
        args.cases = args.profile
        for case in select_cases(args):
            profile_case(case, threads[0], args.steps)
        return 0
    cases = select_cases(args)
    version = torch_version()
    info = machine.describe(version)
    print(f"machine: {info['cpu']}, {info['logical_cpus']} logical CPUs; numpy "
          f"{info['numpy']}, numba {info['numba']}, torch {version or 'missing'}")
    before = machine.quietness()
    sgemm = {str(n): machine.sgemm_gflops(n) for n in threads}
    print(f"load average {before['loadavg_1min']:.2f}; sgemm 1024³ float32: "
          + ", ".join(f"{g:.1f} GFLOP/s at {n} thread(s)" for n, g in sgemm.items()))
    records, start = [], time.time()
    for case in cases:
        print(f"- {case.name}: {case.label}", flush=True)
        record = harness.run_case(case, threads, budget, version is not None)
        record["figures"] = report.figures(case, record, sgemm)
        records.append(record)
        for n, row in record["figures"].items():
            ratio = f", ratio {row['ratio']:.2f}" if "ratio" in row else ""
            print(f"    {n} thread(s): neural_arch {row['neural_arch']['median_ms']:.1f} ms"
                  + (f", PyTorch {row['torch']['median_ms']:.1f} ms" if "torch" in row else "")
                  + ratio, flush=True)
    after = machine.quietness()
    warnings = machine.noise_warnings(before, after)
    table = report.markdown_table(cases, records)
    date = datetime.date.today().isoformat()
    payload = {"date": date, "quick": args.quick, "machine": info, "threads": threads,
               "sgemm_gflops": sgemm, "quiet_before": before, "quiet_after": after,
               "warnings": warnings, "flop_formula": report.FLOP_FORMULA,
               "validation_tolerances": harness.__doc__.split("Validation tolerances")[1],
               "neural_arch_env": harness.NEURAL_ARCH_ENV, "seconds": time.time() - start,
               "environment_note": args.env_note,
               "cases": records, "table": table}
    out = args.out or os.path.join(RESULTS_DIR, f"{date}{'-quick' if args.quick else ''}.json")
    report.write_json(out, payload)
    print()
    print(table)
    print(f"\nFLOPs: {report.FLOP_FORMULA}. Threads: Numba, BLAS (threadpoolctl) and torch set "
          f"to the same count. Results: {out}")
    for w in warnings:
        print(f"WARNING: {w}")
    failed = [r["case"] for r in records if r.get("validation") and not r["validation"]["ok"]]
    if failed:
        print(f"VALIDATION FAILED (not timed): {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
