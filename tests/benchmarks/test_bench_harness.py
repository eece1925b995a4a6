"""The benchmark harness validates before it times: a difference between the two sides must
fail validation, identical sides must pass, and the suite must run without torch.

Nothing here is timed; the cases are tiny (seconds)."""

import json
import sys

import numpy as np
import pytest

from benchmarks import __main__ as bench_main
from benchmarks import harness
from benchmarks.cases import tiny_gpt2_case
from benchmarks.worker import NEURAL_ARCH_ENV, Worker


def _train_result(loss, grad):
    return {"loss": np.asarray(loss), "grad.w": np.asarray(grad, dtype=np.float32)}


def test_compare_accepts_equal_and_rejects_different_arrays():
    g = np.linspace(-1, 1, 12, dtype=np.float32)
    assert harness.compare(_train_result(2.0, g), _train_result(2.0, g), "train")["ok"]
    off_loss = harness.compare(_train_result(2.0, g), _train_result(2.001, g), "train")
    assert not off_loss["ok"] and "loss" in off_loss["problems"][0]
    g2 = g.copy()
    g2[3] += 0.01
    off_grad = harness.compare(_train_result(2.0, g), _train_result(2.0, g2), "train")
    assert not off_grad["ok"] and off_grad["problems"][0].startswith("w:")
    logits = {"logits": np.ones((2, 3), np.float32)}
    assert harness.compare(logits, logits, "infer")["ok"]
    assert not harness.compare(logits, {"logits": logits["logits"] + 1e-2}, "infer")["ok"]


@pytest.mark.parametrize("mode", ["train", "infer"])
def test_validation_passes_when_equal_and_fails_when_one_weight_differs(tmp_path, mode):
    pytest.importorskip("torch")
    case = tiny_gpt2_case(mode)
    outcomes = {}
    for perturb in (None, ("transformer.h.0.mlp.c_fc.weight", 0.5)):
        ours = Worker("neural_arch", case, 1, NEURAL_ARCH_ENV)
        theirs = Worker("torch", case, 1)
        try:
            workdir = tmp_path / str(perturb is not None)
            outcomes[perturb is not None] = harness.validate(case, ours, theirs, str(workdir),
                                                             perturb)
        finally:
            ours.close()
            theirs.close()
    assert outcomes[False]["ok"], outcomes[False]["problems"]
    assert not outcomes[True]["ok"]
    assert outcomes[True]["problems"]


def test_suite_runs_without_torch(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    out = tmp_path / "result.json"
    code = bench_main.main(["--cases", "gpt2-tiny-train", "--threads", "1", "--budget", "0.1",
                            "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "PyTorch is NOT installed" in printed
    payload = json.loads(out.read_text())
    record = payload["cases"][0]
    assert payload["machine"]["torch"] is None and "validation" not in record
    assert set(record["timings"]["1"]) == {"neural_arch"}
    assert record["timings"]["1"]["neural_arch"]["median_ms"] > 0
