"""Data-parallel scaling on paper: an α-β model of ring all-reduce, 8 to 512 ranks.

    python -m benchmarks.scaling_model        # prints the tables of benchmarks/README.md

One optimizer step of data-parallel training = compute on the rank's rows + one all-reduce of
the gradients (neural_arch does not overlap the two: the buckets are reduced after backward).
A ring all-reduce of n bytes over N ranks, cut into k messages (buckets), takes

    T_comm = k · 2(N-1) · α  +  2 (N-1)/N · n / β

(α: latency per message hop, β: link bandwidth in bytes/s; each byte crosses the link
2(N-1)/N times: reduce-scatter then all-gather). The compute of a rank is its share of FLOPs,

    T_comp = (6·P_mm + 12·L·T·C) · tokens_per_rank / R,

with P_mm the weights used in matrix products (tied lm_head included) and R the sustained rate
of one rank. R = 80.9 GFLOP/s is what neural_arch sustained on ONE core of this machine for the
small GPT-2's training step (benchmarks/README.md, 1 thread); a rank that is a whole many-core
node computes proportionally faster, and every communication share below grows with it.

The crossover. With n = 4 bytes x P (float32) and ignoring α and attention, T_comm = T_comp when

    tokens_per_rank* = (4/3) · R / β        (per all-reduce; the model's size cancels)

86 tokens at 10 Gbit/s and 9 tokens at 100 Gbit/s for R = 80.9 GFLOP/s; x32 for a 32-core
rank. Fewer tokens per rank per all-reduce than that and communication dominates.

Two scalings per row: *weak* keeps each rank's micro-batch (the benchmark's B x T; more ranks,
more data per step), *strong* splits a fixed global batch of 512 sequences (more ranks, fewer
tokens each). The last column is the strong case with a rank 32 times faster (a node).
"""

R_FLOPS = 80.9e9  # neural_arch, one core of this machine, small GPT-2 training (measured)
NODE_CORES = 32   # the last column: a rank that is a 32-core node, R x 32
BUCKET_BYTES = 25 * 2**20

# (name, V, T, C, L, bias, micro-batch rows per rank, R of one core in FLOP/s): the rates are
# benchmarks/README.md's 1-thread training rows (124M: not measured, the small model's rate).
MODELS = [("default-run GPT-2", 82, 64, 128, 4, False, 12, 47.2e9),
          ("small GPT-2", 512, 256, 384, 6, True, 8, R_FLOPS),
          ("GPT-2 124M", 50257, 1024, 768, 12, True, 8, R_FLOPS)]
# (name, α seconds, β bytes/s): line rate; α typical of MPI over TCP / over RDMA.
NETWORKS = [("10 Gbit/s Ethernet (TCP)", 25e-6, 10e9 / 8),
            ("100 Gbit/s InfiniBand/RoCE", 2e-6, 100e9 / 8)]
RANKS = (8, 64, 512)
GLOBAL_ROWS = 512  # strong scaling: a global batch of 512 sequences, split over N ranks


def gpt2_sizes(V, T, C, L, bias):
    """(parameters, weights in matrix products, parameter arrays) of a GPT-2 (tied lm_head)."""
    per_layer = 12 * C * C + (13 * C if bias else 2 * C)  # qkv, proj, fc, fc-proj; norms
    params = L * per_layer + V * C + T * C + (2 * C if bias else C)
    arrays = L * (12 if bias else 6) + (4 if bias else 3)
    return params, L * 12 * C * C + V * C, arrays


def allreduce_seconds(n_bytes, ranks, alpha, beta, messages):
    return messages * 2 * (ranks - 1) * alpha + 2 * (ranks - 1) / ranks * n_bytes / beta


def step_flops_per_token(V, T, C, L, bias):
    _, p_mm, _ = gpt2_sizes(V, T, C, L, bias)
    return 6 * p_mm + 12 * L * T * C


def rows():
    out = []
    for name, V, T, C, L, bias, micro, rate in MODELS:
        params, _, arrays = gpt2_sizes(V, T, C, L, bias)
        n_bytes = 4 * params
        buckets = -(-n_bytes // BUCKET_BYTES)
        per_row = step_flops_per_token(V, T, C, L, bias) * T / rate  # seconds per sequence
        for net, alpha, beta in NETWORKS:
            for n in RANKS:
                bucketed = allreduce_seconds(n_bytes, n, alpha, beta, buckets)
                per_param = allreduce_seconds(n_bytes, n, alpha, beta, arrays)
                weak = micro * per_row
                strong = GLOBAL_ROWS / n * per_row
                out.append({"model": name, "params": params, "bytes": n_bytes,
                            "buckets": buckets, "arrays": arrays, "network": net, "ranks": n,
                            "bucketed_s": bucketed, "per_param_s": per_param,
                            "weak_compute_s": weak, "weak_share": bucketed / (bucketed + weak),
                            "strong_compute_s": strong,
                            "strong_share": bucketed / (bucketed + strong),
                            "node_share": bucketed / (bucketed + strong / NODE_CORES)})
    return out


def fmt_s(seconds):
    return f"{seconds * 1e3:,.1f} ms" if seconds < 10 else f"{seconds:,.0f} s"


def table():
    lines = ["| model (params, MB/step) | network | N | all-reduce, 25 MiB buckets | one "
             "message per array | weak: compute, comm share | strong (512 seq): compute, "
             "comm share | strong, 32-core rank: comm share |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows():
        lines.append(f"| {r['model']} ({r['params'] / 1e6:.2f} M, {r['bytes'] / 1e6:.1f} MB) "
                     f"| {r['network']} | {r['ranks']} | {fmt_s(r['bucketed_s'])} "
                     f"({r['buckets']} msg) | {fmt_s(r['per_param_s'])} ({r['arrays']} msg) | "
                     f"{fmt_s(r['weak_compute_s'])}, {r['weak_share']:.0%} | "
                     f"{fmt_s(r['strong_compute_s'])}, {r['strong_share']:.0%} | "
                     f"{r['node_share']:.0%} |")
    crossover = [f"{net}: {4 / 3 * R_FLOPS / beta:.0f} tokens per rank per all-reduce"
                 for net, _, beta in NETWORKS]
    return "\n".join(lines) + "\n\ncrossover (α and attention ignored): " + "; ".join(crossover)


if __name__ == "__main__":
    print(table())
