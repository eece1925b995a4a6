"""Write the measured tables into README.md and benchmarks/README.md, from the results files.

    python -m benchmarks.publish [results/<date>.json]

One command after a run, so that the READMEs never quote numbers a run did not produce. It reads
the end-to-end run (default: the newest ``results/<date>.json`` of a full run) and, when present,
``kernels.json``, ``cold_start.json``, ``shakespeare_char.json`` and ``shakespeare_char_2000.json``
(nanoGPT's own 2000-iteration command, one line under the Shakespeare table), and replaces the
text between these markers (the rest of each README is left as it is):

    README.md:             <!-- bench:summary -->  ...  <!-- /bench:summary -->
    benchmarks/README.md:  <!-- bench:full -->     ...  <!-- /bench:full -->
                           <!-- bench:targets -->  ...  <!-- /bench:targets -->
                           <!-- bench:shakespeare -->  ...  <!-- /bench:shakespeare -->
"""

import argparse
import glob
import json
import os
import re
import sys

from benchmarks.cases import all_cases
from benchmarks.report import markdown_table
from benchmarks.shakespeare_char import TARGET_VAL as SHAKESPEARE_VAL_LIMIT
from benchmarks.worker import WITH_TORCH

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
ROOT_README = os.path.join(os.path.dirname(HERE), "README.md")
BENCH_README = os.path.join(HERE, "README.md")

# The performance targets: (case, threads, largest ratio neural_arch / PyTorch).
RATIO_TARGETS = [("gpt2-seed-train", "1", 0.8), ("gpt2-nanogpt-cpu-train", "1", 0.9),
                 ("gpt2-small-train", "1", 0.95), ("vit-tiny-train", "1", 1.0),
                 ("bert-mini-train", "1", 1.0), ("gpt2-seed-train", "2", 1.1),
                 ("gpt2-nanogpt-cpu-train", "2", 1.0), ("gpt2-small-train", "2", 1.0)]
BESIDE_TORCH_LIMIT = 1.2   # neural_arch's step in a process that imported torch / alone
COLD_START_LIMIT_S = 20.0


def _load(name):
    path = os.path.join(RESULTS, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fail(message):
    """One line on stderr and exit status 2, as a command-line error."""
    print(f"python -m benchmarks.publish: {message}", file=sys.stderr)
    raise SystemExit(2)


def latest_full_run():
    runs = sorted(p for p in glob.glob(os.path.join(RESULTS, "20*.json")) if "quick" not in p)
    if not runs:
        fail("no results/<date>.json yet: run `python -m benchmarks` first")
    return runs[-1]


def environment_text(run):
    m = run["machine"]
    text = (f"{m['cpu']}, {m['logical_cpus']} logical CPUs, Python {m['python']}, numpy "
            f"{m['numpy']}, numba {m['numba']}, torch {m['torch']}; sgemm 1024³ float32 "
            + ", ".join(f"{g:.1f} GFLOP/s at {n} thread(s)" for n, g in
                        run["sgemm_gflops"].items())
            + f"; load average {run['quiet_before']['loadavg_1min']:.2f} before the run.")
    if run.get("environment_note"):
        text += f" Environment: {run['environment_note']}."
    packages = m.get("packages")
    if packages:
        text += " Installed: " + ", ".join(packages) + "."
    return text


def _row(rows, case, threads):
    for r in rows:
        if r["case"] == case:
            return (r.get("figures") or {}).get(threads)
    return None


def target_lines(run):
    """(target, measured, met) for every target this run and the other results files cover."""
    rows = run["cases"]
    out = []
    for case, threads, limit in RATIO_TARGETS:
        row = _row(rows, case, threads)
        if row and "ratio" in row:
            out.append((f"{case}, {threads} thread(s): ratio ≤ {limit}",
                        f"{row['ratio']:.2f}", row["ratio"] <= limit))
    for r in rows:
        for threads, row in (r.get("figures") or {}).items():
            if "with_torch_slowdown" in row:
                s = row["with_torch_slowdown"]
                out.append((f"{r['case']}, {threads} thread(s), in a process that imported "
                            f"torch: ≤ {BESIDE_TORCH_LIMIT}× its own time", f"{s:.2f}×",
                            s <= BESIDE_TORCH_LIMIT))
    small = next((r for r in rows if r["case"] == "gpt2-small-train"), None)
    if small and "torch" in small.get("peak_rss_mb", {}):
        na, pt = small["peak_rss_mb"]["neural_arch"], small["peak_rss_mb"]["torch"]
        out.append(("gpt2-small-train peak RSS ≤ PyTorch's", f"{na:.0f} / {pt:.0f} MB", na <= pt))
    kernels = _load("kernels.json")
    if kernels:
        shapes = {}  # the models' own shapes: one line per thread count, the slowest case shown
        for t in kernels["targets"]:
            if t["target"].startswith("model shapes"):
                shapes.setdefault(t["threads"], []).append(t)
                continue
            out.append((f"kernels: {t['target']} ({t['threads']} thread(s))", t["measured"],
                        t["met"]))
        for threads, rows in shapes.items():
            worst = min(rows, key=lambda t: float(t["measured"].rstrip("x")))
            out.append((f"kernels at the models' own shapes ({threads} thread(s)): every "
                        f"Numba kernel no slower than its NumPy reference",
                        f"{sum(t['met'] for t in rows)} of {len(rows)}; slowest "
                        f"{worst['measured']} faster ({worst['target'].split(':')[1].strip()})",
                        all(t["met"] for t in rows)))
    cold = _load("cold_start.json")
    if cold:
        s = cold["compile_overhead_s"]
        out.append((f"compile overhead of a cold first `{cold['command']}` ≤ "
                    f"{COLD_START_LIMIT_S:.0f} s", f"{s:.1f} s", s <= COLD_START_LIMIT_S))
    shakespeare = _load("shakespeare_char.json")
    if shakespeare and "time_ratio" in shakespeare:
        res = shakespeare["results"]
        val = res["neural_arch"]["final_val"]
        out.append((f"shakespeare_char: final val loss ≤ {SHAKESPEARE_VAL_LIMIT} "
                    f"({shakespeare['config']['max_iters']} iterations)",
                    f"{val:.4f} (PyTorch {res['torch']['final_val']:.4f})",
                    val <= SHAKESPEARE_VAL_LIMIT))
        out.append((f"shakespeare_char: less wall time than PyTorch "
                    f"({shakespeare['config']['max_iters']} iterations)",
                    f"{res['neural_arch']['wall_s']:.0f} s vs {res['torch']['wall_s']:.0f} s "
                    f"({shakespeare['time_ratio']:.2f}×)", shakespeare["time_ratio"] < 1.0))
    return out


def shakespeare_text(result, nanogpt=None):
    """The loss curves of both sides and their wall times, from shakespeare_char.json, and one
    line on nanoGPT's exact 2000-iteration command (shakespeare_char_2000.json) if it ran."""
    res = result["results"]
    lines = ["| iteration | train loss neural_arch | val loss neural_arch | val loss PyTorch |",
             "|---:|---:|---:|---:|"]
    torch_curve = {p["iter"]: p for p in res["torch"]["curve"]} if "torch" in res else {}
    for p in res["neural_arch"]["curve"]:
        pt = torch_curve.get(p["iter"])
        lines.append(f"| {p['iter']} | {p['train']:.4f} | {p['val']:.4f} | "
                     + (f"{pt['val']:.4f} |" if pt else "– |"))
    lines += ["", "| | final val loss | wall time (incl. eval) | training only | "
                  f"val ≤ {SHAKESPEARE_VAL_LIMIT} first reached |", "|---|---:|---:|---:|---:|"]
    for name, label in (("neural_arch", "neural_arch"), ("torch", "PyTorch 2.13 eager")):
        if name in res:
            r = res[name]
            if "time_to_target_s" not in r:           # a file from before it was recorded
                reached = "–"
            elif r["time_to_target_s"] is None:
                reached = "not reached"
            else:
                reached = f"iteration {r['iter_to_target']}, {r['time_to_target_s']:.0f} s"
            lines.append(f"| {label} | {r['final_val']:.4f} | {r['wall_s']:.0f} s | "
                         f"{r['train_s']:.0f} s | {reached} |")
    if "time_ratio" in result:
        lines += ["", f"Time ratio neural_arch / PyTorch: **{result['time_ratio']:.2f}** "
                      f"({result['threads']} thread(s) each, each in its own process, one "
                      f"after the other)."]
    if nanogpt and "time_ratio" in nanogpt:
        na, pt = nanogpt["results"]["neural_arch"], nanogpt["results"]["torch"]
        iters = nanogpt["config"]["max_iters"]
        lines += ["", f"nanoGPT's own command ({iters} iterations, `--iters {iters}`): val loss "
                      f"{na['final_val']:.4f} (PyTorch {pt['final_val']:.4f}), "
                      f"{na['wall_s']:.0f} s against {pt['wall_s']:.0f} s "
                      f"(**{nanogpt['time_ratio']:.2f}**)."]
    return "\n".join(lines)


def summary_table(run):
    lines = ["| case | threads | neural_arch ms | PyTorch ms | ratio | peak RSS na / pt MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in run["cases"]:
        rss = r.get("peak_rss_mb", {})
        rss_text = " / ".join(f"{rss[s]:.0f}" if s in rss else "–" for s in ("neural_arch",
                                                                              "torch"))
        for threads, row in (r.get("figures") or {}).items():
            pt = f"{row['torch']['median_ms']:.1f}" if "torch" in row else "–"
            ratio = f"{row['ratio']:.2f}" if "ratio" in row else "–"
            lines.append(f"| {r['case']} | {threads} | {row['neural_arch']['median_ms']:.1f} | "
                         f"{pt} | {ratio} | {rss_text} |")
    return "\n".join(lines)


def replaced_blocks(path, blocks):
    """The text of ``path`` with the body of each ``<!-- bench:NAME -->`` block replaced by
    ``blocks[NAME]``; a missing block is an error, raised before any file is written."""
    with open(path) as f:
        text = f.read()
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
        if not pattern.search(text):
            fail(f"{path} has no <!-- bench:{name} --> ... <!-- /bench:{name} --> block")
        text = pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), text)
    return text


def read_run(path):
    """The run's JSON, or one line naming the file and what is wrong (exit status 2)."""
    try:
        with open(path) as f:
            run = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read results file {path!r}: {e}")
    if not isinstance(run, dict):
        fail(f"{path!r} is not a full run's results file (a JSON {type(run).__name__})")
    missing = [k for k in ("date", "machine", "cases", "sgemm_gflops") if k not in run]
    if missing:
        fail(f"{path!r} is not a full run's results file (no {', '.join(missing)})")
    return run


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.publish",
                                description=__doc__.split("\n")[0])
    p.add_argument("results", nargs="?", default=None,
                   help="a full run's JSON (default: the newest results/<date>.json)")
    path = p.parse_args(argv).results or latest_full_run()
    run = read_run(path)
    name = os.path.relpath(path, HERE)
    env = environment_text(run)
    targets = target_lines(run)
    met = sum(ok for _, _, ok in targets)
    summary = (f"Measured by `python -m benchmarks` on {run['date']} ({name}); "
               f"{env.split(';')[0]}"
               + (f", in {run['environment_note']}" if run.get("environment_note") else "")
               + ". Ratio = neural_arch / PyTorch, below 1 is faster; medians of interleaved "
               f"steps, each side in its own process.\n\n" + summary_table(run)
               + f"\n\nTargets met: {met} of {len(targets)} (list: `benchmarks/README.md`).")
    cases = {c.name: c for c in all_cases()}
    ordered = [cases[r["case"]] for r in run["cases"] if r["case"] in cases]
    records = [r for r in run["cases"] if r["case"] in cases]
    bench_blocks = {
        "full": (f"Run of {run['date']} (`{name}`). {env}\n\n"
                 + markdown_table(ordered, records)
                 + f"\n\n\"na beside torch\": the neural_arch step timed in a third process that "
                   f"has also imported torch ({WITH_TORCH}), divided by its time alone."),
        "targets": ("| target | measured | met |\n|---|---|---|\n"
                    + "\n".join(f"| {t} | {m} | {'yes' if ok else 'NO'} |"
                                for t, m, ok in targets))}
    shakespeare = _load("shakespeare_char.json")
    if shakespeare:
        bench_blocks["shakespeare"] = shakespeare_text(shakespeare,
                                                       _load("shakespeare_char_2000.json"))
    # Both texts first, then both writes: a README without its markers changes neither file.
    texts = {ROOT_README: replaced_blocks(ROOT_README, {"summary": summary}),
             BENCH_README: replaced_blocks(BENCH_README, bench_blocks)}
    for path_out, text in texts.items():
        with open(path_out, "w") as f:
            f.write(text)
    print(f"{ROOT_README} and {BENCH_README} updated from {path}: {met} of {len(targets)} "
          "targets met")


if __name__ == "__main__":
    main()
