"""The PyTorch-user list of issue 12: top-level names, dim/keepdim, Tensor methods, nn and
optim additions. Values against NumPy; gradients of the new differentiable paths by gradcheck."""

import math
import sys
import subprocess

import numpy as np
import pytest

import neural_arch as torch
from neural_arch import nn, ops
from neural_arch.core import Tensor
from neural_arch.testing import gradcheck

F = nn.functional


def leaf(array):
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def test_import_stays_lazy():
    code = ("import sys, neural_arch, neural_arch.cli; assert 'numpy' not in sys.modules; "
            "import neural_arch as torch; torch.zeros(1); assert 'numpy' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_top_level_creation_and_dtypes():
    assert torch.tensor([1, 2]).dtype == torch.long == np.int64
    assert torch.tensor([1.0]).dtype == torch.float32
    assert torch.tensor(np.zeros(2)).dtype == torch.float64 == torch.double
    a = np.arange(3.0)
    assert torch.from_numpy(a).data is a
    assert torch.zeros(2, 3).shape == torch.ones((2, 3)).shape == (2, 3)
    assert torch.arange(0, 5, dtype=torch.long).tolist() == [0, 1, 2, 3, 4]
    assert torch.arange(4).dtype == np.int64 and torch.arange(0.0, 1.0, 0.5).dtype == np.float32
    np.testing.assert_array_equal(torch.tril(torch.ones(3, 4)).data, np.tril(np.ones((3, 4))))
    np.testing.assert_array_equal(torch.triu(torch.ones(3, 3), 1).data,
                                  np.triu(np.ones((3, 3)), 1))
    assert torch.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert torch.zeros(1, device="cpu").numel() == 1
    with pytest.raises(ValueError, match="CPU only"):
        torch.zeros(1, device="cuda")


def test_manual_seed_drives_randn_init_and_dropout():
    torch.manual_seed(5)
    a, layer_a = torch.randn(3, 4), nn.Linear(4, 4)
    torch.manual_seed(5)
    b, layer_b = torch.randn(3, 4), nn.Linear(4, 4)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(layer_a.weight.data, layer_b.weight.data)
    w = nn.Parameter(np.zeros((200, 50), dtype=np.float32))
    nn.init.normal_(w, mean=0.0, std=0.02)
    assert abs(float(w.data.std()) - 0.02) < 2e-3
    with pytest.raises(TypeError, match="by keyword"):
        nn.init.normal_(w, 0.0, 0.02)
    # An explicit rng still draws exactly as before.
    x = nn.Parameter(np.zeros(5))
    nn.init.normal_(x, np.random.default_rng(1), 0.0, 2.0)
    np.testing.assert_array_equal(x.data, np.random.default_rng(1).normal(0.0, 2.0, size=5))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var"])
def test_dim_keepdim_aliases(name):
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    t = Tensor(x)
    want = getattr(np, name)(x, axis=1, keepdims=True)
    got = getattr(t, name)(dim=1, keepdim=True)
    got = got[0] if isinstance(got, tuple) else got
    np.testing.assert_allclose(got.data, want)
    np.testing.assert_allclose(getattr(t, name)(axis=1, keepdims=True).data, want)
    with pytest.raises(TypeError, match="both"):
        getattr(t, name)(axis=1, dim=1)


def test_max_with_dim_returns_values_and_indices():
    x = np.random.default_rng(1).standard_normal((3, 5))
    values, indices = torch.max(Tensor(x), dim=1)
    np.testing.assert_array_equal(values.data, x.max(axis=1))
    np.testing.assert_array_equal(indices.data, x.argmax(axis=1))
    assert Tensor(x).min(dim=0).indices.tolist() == list(x.argmin(axis=0))
    assert np.all(torch.max(Tensor(x), Tensor(-x)).data == np.abs(x))


def test_softmax_cat_stack_split_with_dim():
    x = np.random.default_rng(2).standard_normal((2, 6))
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(F.softmax(Tensor(x), dim=-1).data, e / e.sum(-1, keepdims=True))
    np.testing.assert_allclose(torch.softmax(Tensor(x), dim=0).data.sum(0), np.ones(6))
    np.testing.assert_array_equal(torch.cat([Tensor(x), Tensor(x)], dim=1).data,
                                  np.concatenate([x, x], axis=1))
    np.testing.assert_array_equal(torch.stack([Tensor(x)] * 3, dim=1).data,
                                  np.stack([x] * 3, axis=1))
    pieces = Tensor(x).split(4, dim=1)                    # PyTorch: sizes 4 and 2
    assert [p.shape for p in pieces] == [(2, 4), (2, 2)]
    assert [p.shape for p in Tensor(x).split([1, 5], dim=1)] == [(2, 1), (2, 5)]
    assert [p.shape for p in Tensor(x).chunk(4, dim=1)] == [(2, 2)] * 3
    assert [p.shape for p in ops.split(Tensor(x), 3, axis=1)] == [(2, 2)] * 3  # NumPy's count
    n = F.normalize(Tensor(x), dim=0)
    np.testing.assert_allclose(n.data, x / np.linalg.norm(x, axis=0), rtol=1e-6)


def test_tensor_methods():
    x = np.arange(6.0).reshape(2, 3)
    t = Tensor(x)
    assert t.size() == (2, 3) and t.size(-1) == 3 and t.dim() == 2 and t.numel() == 6
    np.testing.assert_array_equal(t.t().data, x.T)
    np.testing.assert_array_equal(t.transpose(0, 1).data, x.T)
    assert t.contiguous() is t and t.tolist() == x.tolist()
    c = t.clone()
    assert c.data is not t.data and np.array_equal(c.data, x)
    assert t.to(torch.float64).dtype == np.float64 and t.to("cpu") is t
    assert t.float().dtype == np.float32 and t.long().dtype == np.int64
    assert t.double().dtype == np.float64
    with pytest.raises(ValueError, match="CPU only"):
        t.to("cuda")
    assert Tensor(np.ones(2)).requires_grad_().requires_grad
    np.testing.assert_array_equal(t.expand(4, -1, -1).data, np.broadcast_to(x, (4, 2, 3)))
    np.testing.assert_array_equal(t.repeat(2, 1).data, np.tile(x, (2, 1)))
    np.testing.assert_array_equal(t.clamp(min=1.0, max=4.0).data, np.clip(x, 1, 4))
    np.testing.assert_array_equal(t.pow(2).data, x ** 2)
    np.testing.assert_allclose(t.std(dim=1, unbiased=True).data, x.std(axis=1, ddof=1))
    np.testing.assert_allclose(t.std().data, x.std())
    np.testing.assert_allclose(t.norm().data, np.linalg.norm(x))
    assert t.argmax().item() == 5 and t.argmax(dim=1).tolist() == [2, 2]
    assert float(Tensor(2.5)) == 2.5 and int(Tensor(3.0)) == 3
    z = Tensor(x.copy())
    assert z.zero_() is z and not z.data.any()
    assert (t == 0).tolist() == (x == 0).tolist() and (t != 0).data.sum() == 5
    assert t.flatten(start_dim=0).shape == (6,) and t.device == "cpu"
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)


def test_setitem_outside_the_graph_only():
    t = torch.tensor([1.0, 5.0, 3.0])
    t[t < 3.0] = -1.0
    assert t.tolist() == [-1.0, 5.0, 3.0]
    with pytest.raises(RuntimeError, match="in-place"):
        leaf([1.0])[0] = 2.0


def test_gradients_of_the_new_differentiable_paths():
    rng = np.random.default_rng(3)
    x = leaf(rng.standard_normal((3, 4)))
    assert gradcheck(lambda a: a.repeat(2, 1, 3), [x])
    assert gradcheck(lambda a: a.expand(2, 3, 4), [x])
    assert gradcheck(lambda a: a.clone() * a, [x])
    assert gradcheck(lambda a: torch.tril(a, -1), [x])
    assert gradcheck(lambda a: torch.topk(a, 2, dim=1).values, [x])
    assert gradcheck(lambda a: torch.stack(a.split([1, 3], dim=1)[1:], dim=0), [x])
    assert gradcheck(lambda a: a.std(dim=0, unbiased=True), [x])
    assert gradcheck(lambda a: a.norm(dim=1), [x])
    x.grad = None
    x32 = x.to(np.float32)                 # a cast's gradient is cast back to float64
    (x32 * 2.0).sum().backward()
    assert x32.dtype == np.float32 and x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, np.full((3, 4), 2.0))


def test_topk_and_multinomial():
    x = np.random.default_rng(4).standard_normal((2, 7))
    values, indices = torch.topk(Tensor(x), 3)
    np.testing.assert_array_equal(indices.data, np.argsort(-x, axis=1)[:, :3])
    np.testing.assert_array_equal(values.data, np.sort(x, axis=1)[:, ::-1][:, :3])
    probs = torch.tensor([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    torch.manual_seed(0)
    drawn = torch.multinomial(probs, num_samples=1)
    assert drawn.shape == (2, 1) and drawn[0, 0].item() == 1 and drawn[1, 0].item() in (0, 2)
    with pytest.raises(ValueError, match="without replacement"):
        torch.multinomial(probs, 3)


def test_sdpa_pytorch_keywords_agree_with_the_fused_kernel():
    rng = np.random.default_rng(5)
    q, k, v = (leaf(rng.standard_normal((1, 2, 4, 3))) for _ in range(3))
    fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    mask = np.tril(np.ones((4, 4), dtype=bool))
    composed = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_allclose(composed.data, fused.data, atol=1e-12)
    additive = np.where(mask, 0.0, -np.inf)
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=additive,
                                                              scale=0.5).data,
                               F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                              scale=0.5).data, atol=1e-12)
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask),
                     [q, k, v])


def test_module_apply_buffers_and_tied_state_dict():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.head = nn.Linear(3, 5, bias=False)
            self.emb.weight = self.head.weight
            self.register_buffer("mask", torch.tril(torch.ones(2, 2)))

    net, seen = Net(), []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Embedding", "Linear", "Net"]
    assert "mask" in net.state_dict() and "mask" not in dict(net.named_parameters())
    assert isinstance(net.mask, np.ndarray) and net.head.weight.numel() == 15
    state = dict(net.state_dict(), **{"head.weight": net.state_dict()["emb.weight"]})
    net.load_state_dict(state, strict=True)  # PyTorch saves both names of a tied weight
    assert net.to("cpu") is net
    net.zero_grad(set_to_none=True)


def test_grad_serves_pytorch_uses():
    w = leaf([3.0, 4.0])
    (w * w).sum().backward()
    assert w.grad is not None and float(w.grad.norm()) == pytest.approx(10.0)
    assert w.grad.data is w.grad and isinstance(w.grad, np.ndarray)
    w.grad.zero_()
    assert not w.grad.any()


def test_losses_utils_and_schedulers():
    rng = np.random.default_rng(6)
    logits, targets = Tensor(rng.standard_normal((4, 3))), np.array([0, 2, 1, -100])
    np.testing.assert_allclose(nn.CrossEntropyLoss()(logits, targets).data,
                               F.cross_entropy(logits, targets).data)
    a, b = Tensor(rng.standard_normal(5)), Tensor(rng.standard_normal(5))
    np.testing.assert_allclose(nn.MSELoss()(a, b).data, np.mean((a.data - b.data) ** 2))
    assert nn.GELU()(Tensor(np.zeros(1))).item() == 0.0
    p = nn.Parameter(np.ones(4))
    p.grad = np.full(4, 10.0)
    assert nn.utils.clip_grad_norm_([p], 1.0) == pytest.approx(20.0)
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.1)
    for _ in range(5):
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 2)) / 2)


def test_save_and_load_use_safetensors(tmp_path):
    layer = nn.Linear(3, 2)
    torch.save(layer.state_dict(), tmp_path / "w.safetensors")
    loaded = torch.load(tmp_path / "w.safetensors")
    assert set(loaded) == {"weight", "bias"} and isinstance(loaded["weight"], Tensor)
    nn.Linear(3, 2).load_state_dict(loaded)
    with pytest.raises(TypeError, match="safetensors"):
        torch.save({"nested": {"a": 1}}, tmp_path / "x.safetensors")
