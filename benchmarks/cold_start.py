"""Cold start: how long the first run of a fresh install spends compiling kernels.

    python -m benchmarks.cold_start [--model gpt2] [--epochs 1]

Runs ``neural-arch train <model> --epochs 1`` three times, each in a fresh process, with
``NUMBA_CACHE_DIR`` pointing at a new empty folder: the first run compiles every kernel it uses,
the next two load them from that cache and do the same training. The compile overhead is the
first run's wall time minus the faster of the other two. The data is fetched (or found in its
cache) before the first run, so no download is counted. The training writes its checkpoints
into a temporary folder. Results: ``results/cold_start.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def timed_run(command, env):
    """Wall seconds of one command in a fresh process, and its stderr (the compile message)."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stderr


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="gpt2")
    p.add_argument("--epochs", type=int, default=1)
    args = p.parse_args(argv)
    from neural_arch.data.shakespeare import load_shakespeare_chars
    load_shakespeare_chars()  # fetched now if missing, so the timed runs read a warm data cache
    runs = []
    with tempfile.TemporaryDirectory(prefix="na-cold-") as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(tmp, "numba"))
        for i in range(3):
            command = [sys.executable, "-m", "neural_arch", "train", args.model, "--epochs",
                       str(args.epochs), "--quiet", "--out", os.path.join(tmp, f"run{i}")]
            seconds, stderr = timed_run(command, env)
            runs.append({"seconds": seconds, "compiled": "compiling kernels" in stderr})
            print(f"run {i + 1}: {seconds:.1f} s"
                  + (" (compiled kernels)" if runs[-1]["compiled"] else ""), flush=True)
    overhead = runs[0]["seconds"] - min(r["seconds"] for r in runs[1:])
    result = {"command": f"neural-arch train {args.model} --epochs {args.epochs}",
              "runs": runs, "compile_overhead_s": overhead}
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "cold_start.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"compile overhead of a cold first run: {overhead:.1f} s")


if __name__ == "__main__":
    main()
