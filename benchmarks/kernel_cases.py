"""The cases of the kernel benchmark (kernels.py): inputs, the engines to time, a check each.

Two kinds: large inputs that show each kernel's throughput (matmul 1024³, LayerNorm over
4096 × 768, cross-entropy over GPT-2's 50,257 classes, ...), and the exact shapes the benchmark
models use (``MODEL_SHAPES``), where a Numba kernel must be at least as fast as its NumPy
reference, or the registry must send those shapes to the reference.
"""

def close(a, b, rtol=1e-4):
    """Agreement up to rtol relative to the largest magnitude (float32 sums over thousands of
    rows carry absolute error proportional to that magnitude)."""
    import numpy as np
    return np.allclose(a, b, rtol=rtol, atol=rtol * max(1e-6, float(np.abs(a).max())))


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
                              attn(K.attention_forward_dense, K.attention_backward_dense)())
        return all(close(x, y) for x, y in zip((o1,) + g1, (o2,) + g2))

    cases[f"attention fwd+bwd {shape} causal f32"] = dict(
        engines={"numba": attn(K.attention_forward_dense, K.attention_backward_dense),
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
    cases.update(model_shape_cases(K, torch, rng))
    return cases


# (name, B, T, C, heads, vocab, GELU form, causal): the benchmark models' kernel inputs.
MODEL_SHAPES = [("gpt2-seed", 4, 64, 128, 4, 200, "tanh", True),
                ("gpt2-nanogpt-cpu", 12, 64, 128, 4, 65, "tanh", True),
                ("gpt2-small", 8, 256, 384, 6, 512, "tanh", True),
                ("vit-tiny", 8, 65, 192, 3, 10, "none", False),
                ("bert-mini", 8, 128, 256, 4, 4096, "none", False)]


def model_shape_cases(K, torch, rng):
    """The registry's Numba kernels against their NumPy references (and PyTorch, when it is
    installed) at the models' own shapes."""
    import numpy as np

    def randn(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    def fwd_bwd(fwd, bwd, args, dout):
        def run():
            out, cache = fwd(*args)
            grads = bwd(dout, cache)
            return (out,) + (grads if isinstance(grads, tuple) else (grads,))
        return run

    cases = {}
    for name, b, t, c, heads, vocab, gelu, causal in MODEL_SHAPES:
        n = b * t
        x, w, bias = randn(n, c), randn(c), randn(c)
        h = randn(n, 4 * c)
        q, k, v, dq = (randn(b, heads, t, c // heads) for _ in range(4))
        logits, targets = randn(n, vocab), rng.integers(0, vocab, n)
        dx, dh = randn(n, c), randn(n, 4 * c)
        pairs = {
            "attention": ((q, k, v, causal), dq, "attention_forward", "attention_backward",
                          lambda: _torch_attention(torch, q, k, v, dq, causal)),
            "layer_norm": ((x, w, bias), dx, "layer_norm_forward", "layer_norm_backward",
                           lambda: _torch_rowwise(torch, "layer_norm", x, w, bias, dx)),
            f"gelu({gelu})": ((h, gelu), dh, "gelu_forward", "gelu_backward",
                              lambda: _torch_rowwise(torch, "gelu", h, w, bias, dh, gelu)),
            "cross_entropy": ((logits, targets), np.full(n, 1.0 / n, np.float32),
                              "cross_entropy_forward", "cross_entropy_backward",
                              lambda: _torch_ce(torch, logits, targets)),
        }
        for kernel, (args, dout, fname, bname, make_torch) in pairs.items():
            ref = fwd_bwd(K.get_kernel(fname, "numpy"), K.get_kernel(bname, "numpy"), args, dout)
            fast = fwd_bwd(K.get_kernel(fname, "numba"), K.get_kernel(bname, "numba"), args,
                           dout)
            cases[f"model shapes {name}: {kernel} {args[0].shape}"] = dict(
                engines={"numba": fast, "numpy": ref},
                torch=None if torch is None else make_torch(),
                check=lambda r=ref, f=fast: all(close(p, s) for p, s in zip(r(), f())))
        idx, g = rng.integers(0, vocab, n), randn(n, c)
        emb = {e: (lambda e=e: K.get_kernel("embedding_backward", e)(g, idx, vocab))
               for e in ("numba", "numpy")}
        cases[f"model shapes {name}: embedding_backward {g.shape}"] = dict(
            engines=emb, torch=None, check=lambda e=emb: close(e["numpy"](), e["numba"]()))
    return cases


def _torch_matmul(torch, a, b):
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    return lambda: torch.matmul(ta, tb)


def _torch_attention(torch, q, k, v, do, causal=True):
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tdo = torch.from_numpy(do)

    def run():
        out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
        torch.autograd.grad(out, (tq, tk, tv), tdo)
    return run


def _torch_rowwise(torch, name, x, w, b, dx, approximate="tanh"):
    F = torch.nn.functional
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tdx = torch.from_numpy(dx)
    fwd = {"layer_norm": lambda: F.layer_norm(tx, (x.shape[-1],), tw, tb, 1e-5),
           "rms_norm": lambda: F.rms_norm(tx, (x.shape[-1],), tw, 1e-6),
           "gelu": lambda: F.gelu(tx, approximate=approximate)}[name]
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


