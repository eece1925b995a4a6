"""Turn the measured records into figures, a markdown table and the JSON results file."""

import json
import os

from benchmarks.cases import flops_per_step
from benchmarks.worker import WITH_TORCH

FLOP_FORMULA = ("train: 6·N·tokens + 12·L·T·C·tokens; infer: 2·N·tokens + "
                "4·L·T·C·tokens (N = matmul weights incl. the tied lm_head, full T×T "
                "attention)")


def figures(case, record, sgemm):
    """Per thread count: the derived figures (throughput, ratio, GFLOP/s, % of sgemm)."""
    flops = flops_per_step(case)
    out = {}
    for threads, sides in record.get("timings", {}).items():
        row = {}
        for side, t in sides.items():
            seconds = t["median_ms"] / 1e3
            gflops = flops / seconds / 1e9
            row[side] = dict(t, items_per_s=case.items / seconds, gflops=gflops,
                             pct_sgemm=100.0 * gflops / sgemm[threads])
        if "torch" in row:
            row["ratio"] = row["neural_arch"]["median_ms"] / row["torch"]["median_ms"]
            row["cpu_ratio"] = (row["neural_arch"]["cpu_median_ms"]
                                / row["torch"]["cpu_median_ms"])
        if WITH_TORCH in row:  # the same neural_arch step in a process that imported torch
            row["with_torch_slowdown"] = (row[WITH_TORCH]["median_ms"]
                                          / row["neural_arch"]["median_ms"])
        out[threads] = row
    return out


def _ms(t):
    return f"{t['median_ms']:.1f} ({t['min_ms']:.1f}–{t['max_ms']:.1f})"


def _side_cells(t, unit):
    """(ms, items/s, GFLOP/s) cells of one side, or dashes when it did not run."""
    if t is None:
        return "–", "–", "–"
    return (_ms(t), f"{t['items_per_s']:,.0f} {unit}",
            f"{t['gflops']:.1f} ({t['pct_sgemm']:.0f}%)")


def markdown_table(cases, records):
    """One row per case and thread count."""
    lines = ["| case | thr | neural_arch ms (min–max) | PyTorch ms (min–max) | ratio | "
             "CPU-time ratio | na throughput | pt throughput | na GFLOP/s (% sgemm) | "
             "pt GFLOP/s (% sgemm) | peak RSS na / pt MB | na beside torch | valid |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for case, rec in zip(cases, records):
        v = rec.get("validation")
        valid = "no torch" if v is None else ("ok" if v["ok"] else "FAILED")
        rss = rec.get("peak_rss_mb", {})
        rss_text = " / ".join(f"{rss[s]:.0f}" if s in rss else "–"
                              for s in ("neural_arch", "torch"))
        for threads, row in (rec.get("figures") or {"–": None}).items():
            if row is None:
                lines.append(f"| {case.name} | – |" + " – |" * 10 + f" {valid} |")
                continue
            na_ms, na_rate, na_gf = _side_cells(row["neural_arch"], case.unit)
            pt_ms, pt_rate, pt_gf = _side_cells(row.get("torch"), case.unit)
            ratio = f"{row['ratio']:.2f}" if "ratio" in row else "–"
            cpu_ratio = f"{row['cpu_ratio']:.2f}" if "cpu_ratio" in row else "–"
            beside = (f"{row['with_torch_slowdown']:.2f}×" if "with_torch_slowdown" in row
                      else "–")
            lines.append(f"| {case.name} | {threads} | {na_ms} | {pt_ms} | {ratio} | "
                         f"{cpu_ratio} | {na_rate} | {pt_rate} | {na_gf} | {pt_gf} | "
                         f"{rss_text} | {beside} | {valid} |")
    return "\n".join(lines)


def write_json(path, payload):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=1, default=float)
    os.replace(tmp, path)
