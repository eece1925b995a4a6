"""BERT: the model contract (gradients, overfitting, init loss, state dict, gradcheck), padding
invariance, Hugging Face parameter names and the from_pretrained loader."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from neural_arch.core import no_grad
from neural_arch.models.language.bert import BERT, BERTConfig
from neural_arch.models.language.bert_classifier import BertForSequenceClassification
from neural_arch.testing import gradcheck
from _contract import assert_overfits_one_batch

TINY = dict(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, max_position_embeddings=16, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0, num_labels=3)


def batch(seed=0, n=8, t=10):
    """Token ids, an attention mask with a different real length per row, and labels."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, TINY["vocab_size"], (n, t))
    lengths = rng.integers(3, t + 1, n)
    mask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.int64)
    ids = np.where(mask == 1, ids, 0)
    types = (np.arange(t)[None, :] >= lengths[:, None] // 2).astype(np.int64) * mask
    labels = rng.integers(0, TINY["num_labels"], n)
    return ids, mask, types, labels


def test_every_parameter_gets_a_gradient():
    model = BertForSequenceClassification(TINY)
    ids, mask, types, labels = batch()
    _, loss = model(ids, mask, types, labels=labels)
    loss.backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not dead, f"parameters without gradient: {dead}"


def test_loss_at_init_is_log_num_labels():
    _, loss = BertForSequenceClassification(TINY)(*batch()[:3], labels=batch()[3])
    assert abs(loss.item() - np.log(TINY["num_labels"])) < 0.3


def test_overfits_one_batch():
    model = BertForSequenceClassification(TINY)
    ids, mask, types, labels = batch()
    assert_overfits_one_batch(model, lambda: model(ids, mask, types, labels=labels), labels,
                              lr=1e-3, steps=150)


def test_state_dict_round_trip_through_safetensors(tmp_path):
    model = BertForSequenceClassification(TINY)
    save_file(model.state_dict(), str(tmp_path / "bert.safetensors"))
    fresh = BertForSequenceClassification({**TINY, "seed": 1})
    ids, mask, types, _ = batch()
    assert not np.array_equal(fresh(ids, mask, types)[0].data, model(ids, mask, types)[0].data)
    fresh.load_state_dict(load_file(str(tmp_path / "bert.safetensors")))
    assert np.array_equal(fresh(ids, mask, types)[0].data, model(ids, mask, types)[0].data)


def test_gradcheck_float64():
    config = {**TINY, "hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 12,
              "num_hidden_layers": 1}
    model = BertForSequenceClassification(config).double()
    ids, mask, types, labels = batch(n=3, t=5)
    named = dict(model.named_parameters())
    names = ["bert.embeddings.word_embeddings.weight", "bert.embeddings.LayerNorm.weight",
             "bert.encoder.layer.0.attention.self.query.weight",
             "bert.encoder.layer.0.attention.self.key.bias",
             "bert.encoder.layer.0.intermediate.dense.weight",
             "bert.encoder.layer.0.output.LayerNorm.bias", "bert.pooler.dense.weight",
             "classifier.weight"]
    params = [named[n] for n in names]

    def loss(*_):
        return model(ids, mask, types, labels=labels)[1]

    assert gradcheck(loss, params, mode="projection", names=names)


def test_padding_does_not_change_real_positions():
    model = BERT(TINY).eval()
    ids, mask, types, _ = batch()
    extra = np.zeros((ids.shape[0], 4), dtype=np.int64)
    with no_grad():
        hidden, pooled = model(ids, mask, types)
        hidden_padded, pooled_padded = model(np.concatenate([ids, extra], 1),
                                             np.concatenate([mask, extra], 1),
                                             np.concatenate([types, extra], 1))
    real = mask.astype(bool)
    np.testing.assert_allclose(hidden_padded.data[:, :ids.shape[1]][real], hidden.data[real],
                               atol=1e-5, rtol=0)
    np.testing.assert_allclose(pooled_padded.data, pooled.data, atol=1e-5, rtol=0)


def test_hugging_face_parameter_names():
    names = set(BERT(TINY).state_dict())
    for name in ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                 "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                 "encoder.layer.0.attention.self.query.weight",
                 "encoder.layer.1.attention.self.value.bias",
                 "encoder.layer.0.attention.output.dense.weight",
                 "encoder.layer.0.attention.output.LayerNorm.bias",
                 "encoder.layer.0.intermediate.dense.weight",
                 "encoder.layer.0.output.dense.weight", "encoder.layer.0.output.LayerNorm.weight",
                 "pooler.dense.weight"]:
        assert name in names, name


def test_bert_base_parameter_count():
    config = BERTConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                        num_attention_heads=12, intermediate_size=3072,
                        max_position_embeddings=512, type_vocab_size=2)
    assert BERT(config).num_parameters() == 109_482_240


def test_from_pretrained_reads_a_hugging_face_directory(tmp_path):
    model = BERT(TINY)
    state = {"bert." + k: v for k, v in model.state_dict().items()}
    state["bert.embeddings.position_ids"] = np.arange(16, dtype=np.int64)[None]
    save_file(state, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({**TINY, "hidden_act": "gelu",
                                                      "model_type": "bert"}))
    loaded = BERT.from_pretrained(tmp_path)
    ids, mask, types, _ = batch()
    with no_grad():
        assert np.array_equal(loaded(ids, mask, types)[0].data,
                              model.eval()(ids, mask, types)[0].data)
    del state["bert.pooler.dense.bias"]
    state["bert.extra.weight"] = np.zeros(2, dtype=np.float32)
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match=r"pooler\.dense\.bias.*extra\.weight"):
        BERT.from_pretrained(tmp_path)


def test_bad_inputs_raise_clear_errors():
    model = BERT(TINY)
    with pytest.raises(ValueError, match="input_ids must lie in"):
        model(np.array([[1, 50]]))
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model(np.ones((1, 17), dtype=np.int64))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        model(np.ones((2, 4), dtype=np.int64), attention_mask=np.ones((2, 3)))
