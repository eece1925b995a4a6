"""nn.MultiheadAttention gives torch.nn.MultiheadAttention's outputs, attention weights and
gradients from the same state_dict: self- and cross-attention, batch_first both ways, a key
padding mask and a causal bool mask. Skipped when PyTorch is not installed."""

import numpy as np
import pytest

import neural_arch
from neural_arch import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("cross", [False, True])
def test_outputs_weights_and_gradients_match_torch(batch_first, cross):
    rng = np.random.default_rng(0)
    E, H, B, L, S = 16, 4, 2, 5, 7 if cross else 5
    reference = torch.nn.MultiheadAttention(E, H, batch_first=batch_first).double()
    ours = nn.MultiheadAttention(E, H, batch_first=batch_first, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})

    def shaped(T):  # (B, T, E) or (T, B, E)
        return rng.normal(size=(B, T, E) if batch_first else (T, B, E))
    q, kv = shaped(L), shaped(S)
    pad = np.zeros((B, S), dtype=bool)
    pad[1, -2:] = True                                   # the last two keys of row 1 are padding
    causal = None if cross else np.triu(np.ones((L, S), dtype=bool), k=1)

    tq = torch.tensor(q, requires_grad=True)
    tkv = tq if not cross else torch.tensor(kv, requires_grad=True)
    want, want_w = reference(tq, tkv, tkv, key_padding_mask=torch.tensor(pad),
                             attn_mask=None if causal is None else torch.tensor(causal))
    want.sum().backward()

    nq = neural_arch.tensor(q, requires_grad=True)
    nkv = nq if not cross else neural_arch.tensor(kv, requires_grad=True)
    got, got_w = ours(nq, nkv, nkv, key_padding_mask=pad, attn_mask=causal)
    got.sum().backward()

    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(np.asarray(got_w.numpy() if hasattr(got_w, "numpy") else got_w),
                               want_w.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(np.asarray(nq.grad), tq.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(np.asarray(ours.in_proj_weight.grad),
                               reference.in_proj_weight.grad.numpy(), atol=1e-10)
