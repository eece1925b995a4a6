"""Data-parallel training on this machine: 1 rank against 2 ranks, measured in the same run.

    python -m benchmarks.distributed                 # ~1 minute; needs the [mpi] extra
    python -m benchmarks.distributed --rounds 5 --steps 40

What is timed: the default run's GPT-2 (4 layers, 128 wide, 64 characters of context) training
on Shakespeare with the same global batch of 12 windows, once in one rank and once split 6 + 6
over two ranks (``mpiexec -n 1`` / ``-n 2``, one thread per rank). The two sides alternate,
round after round, so that a change in the machine's load hits both; every figure is a median
over all timed steps of all rounds. Per side:

* tokens/s = global tokens per step (12 x 64) / median step time (wall clock, ``perf_counter``);
* all-reduce ms/step: the time rank 0 spends inside ``Allreduce`` per step, which includes
  waiting for the slower rank (in a step, the ranks rarely arrive together);
* bytes/step: what each rank hands to ``Allreduce`` (the flat float32 gradient buffer + the
  loss), and, measured apart after the training steps, the time of an ``Allreduce`` of that
  buffer alone when both ranks arrive together (``barrier`` first): the transfer, not the wait.

The load average before and after is printed and stored: on a 2-core machine, two ranks use
both cores, so anything else running costs the two-rank side more than the one-rank side.
Results go to ``benchmarks/results/distributed.json``; ``benchmarks/scaling_model.py`` extends
them on paper to 8-512 ranks.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


RESULTS = Path(__file__).parent / "results" / "distributed.json"
CONFIG = {"model": "gpt2", "quiet": True, "num_epochs": 1}  # the default run's GPT-2


def worker(steps, warmup):
    """One rank: time ``warmup + steps`` training steps; rank 0 prints one RESULT line."""
    from neural_arch.training.trainer import ModelTrainer
    with tempfile.TemporaryDirectory() as out:
        trainer = ModelTrainer({**CONFIG, "out_dir": out})
    world, task = trainer.world, trainer.task
    batches = task.train_batches(trainer.config["batch_size"], trainer.rng)
    step_s, reduce_s, tokens = [], [], 0
    for i in range(warmup + steps):
        batch = next(batches)
        reduced = getattr(trainer, "allreduce", None)
        before = reduced.seconds if reduced else 0.0
        world.barrier()  # each step starts together: its time is the slower rank's
        start = time.perf_counter()
        trainer._train_step(batch)
        world.barrier()
        if i >= warmup:
            step_s.append(time.perf_counter() - start)
            reduce_s.append((reduced.seconds - before) if reduced else 0.0)
            tokens = task.items(batch)
    result = {"ranks": world.size, "tokens_per_step": tokens, "step_s": step_s,
              "allreduce_s": reduce_s, "bytes_per_step": 0, "transfer_s": []}
    if world.size > 1:
        result["bytes_per_step"] = trainer.allreduce.bytes_per_step
        result["transfer_s"] = transfer_times(world, trainer.allreduce.flat.copy())
        result["mpi"] = world.describe()
    if world.is_root:
        print("RESULT " + json.dumps(result), flush=True)


def transfer_times(world, buffer, repeats=30):
    """Seconds of one Allreduce of ``buffer`` when every rank arrives together."""
    times = []
    for _ in range(repeats):
        world.barrier()
        start = time.perf_counter()
        world.comm.Allreduce(world.mpi.IN_PLACE, buffer, op=world.mpi.SUM)
        times.append(time.perf_counter() - start)
    return times


def run_side(ranks, steps, warmup, mpiexec):
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "benchmarks.distributed",
               "--worker", "--steps", str(steps), "--warmup", str(warmup)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                         cwd=Path(__file__).parent.parent)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{ranks} rank(s) failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def summarize(runs):
    """Medians over every timed step of every round of one side."""
    step = statistics.median(s for r in runs for s in r["step_s"])
    first = runs[0]
    out = {"ranks": first["ranks"], "tokens_per_step": first["tokens_per_step"],
           "steps_timed": sum(len(r["step_s"]) for r in runs),
           "step_ms": 1e3 * step, "tokens_per_s": first["tokens_per_step"] / step,
           "allreduce_ms_per_step": 1e3 * statistics.median(
               s for r in runs for s in r["allreduce_s"]),
           "bytes_per_step": first["bytes_per_step"]}
    if first["transfer_s"]:
        out["transfer_ms"] = 1e3 * statistics.median(s for r in runs for s in r["transfer_s"])
        out["transfer_gb_per_s"] = first["bytes_per_step"] / out["transfer_ms"] / 1e6
        out["mpi"] = first["mpi"]
    return out


def find_mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    import shutil
    found = shutil.which("mpiexec")
    if not found:
        raise SystemExit("mpiexec not found: pip install -e '.[mpi]'")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.steps, args.warmup)
    mpiexec = find_mpiexec()
    load_before = os.getloadavg()
    runs = {1: [], 2: []}
    for round_ in range(args.rounds):
        order = (1, 2) if round_ % 2 == 0 else (2, 1)  # alternate who goes first
        for ranks in order:
            runs[ranks].append(run_side(ranks, args.steps, args.warmup, mpiexec))
            print(f"round {round_ + 1}/{args.rounds}: {ranks} rank(s), median step "
                  f"{1e3 * statistics.median(runs[ranks][-1]['step_s']):.1f} ms", flush=True)
    sides = [summarize(runs[1]), summarize(runs[2])]
    report = {"date": time.strftime("%Y-%m-%d"), "config": "default-run GPT-2 (C128 L4 H4, "
              "B12 x T64, global batch)", "load_average_before": load_before,
              "load_average_after": os.getloadavg(), "cpu_count": os.cpu_count(),
              "sides": sides, "speedup_2_ranks": sides[1]["tokens_per_s"]
              / sides[0]["tokens_per_s"]}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    return 0


def table(report):
    rows = ["| ranks | step ms | tokens/s | all-reduce ms/step (in step) | bytes/step | "
            "Allreduce alone ms |", "|---:|---:|---:|---:|---:|---:|"]
    for s in report["sides"]:
        alone = f"{s['transfer_ms']:.2f}" if "transfer_ms" in s else "-"
        rows.append(f"| {s['ranks']} | {s['step_ms']:.1f} | {s['tokens_per_s']:.0f} | "
                    f"{s['allreduce_ms_per_step']:.2f} | {s['bytes_per_step']:,} | {alone} |")
    load = ", ".join(f"{x:.2f}" for x in report["load_average_before"])
    rows.append(f"\nspeedup 2 ranks / 1 rank: {report['speedup_2_ranks']:.2f}x; load average "
                f"before {load}, after "
                + ", ".join(f"{x:.2f}" for x in report["load_average_after"]))
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
