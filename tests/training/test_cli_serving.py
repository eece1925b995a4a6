"""Every CLI subcommand on tiny configs, the ModelServer round trip, and the analysis helpers."""

import json

import numpy as np
import pytest

from neural_arch.analysis import (analyze_training_progress, compare_model_performance,
                                  results_markdown)
from neural_arch.cli import main
from neural_arch.serving import ModelServer
from neural_arch.training import ModelTrainer, restore_model_from_checkpoint

from .conftest import TINY


def _sets(name):
    return [arg for k, v in TINY[name].items() for arg in ("--set", f"{k}={v}")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny checkpoint of each family, trained once for the whole module."""
    root = tmp_path_factory.mktemp("ck")
    for name in ("gpt2", "bert", "vit", "clip"):
        assert main(["train", name, "--epochs", "2", "--out", str(root), "--quiet",
                     *_sets(name)]) == 0
    return root


def test_train_writes_valid_checkpoints_and_validate_passes(trained, capsys):
    paths = sorted(str(p) for p in trained.glob("*/*_epoch_*.json"))
    assert len(paths) == 8
    assert main(["validate", *paths]) == 0


def test_validate_exits_1_on_a_corrupt_checkpoint(trained, tmp_path):
    bad = tmp_path / "gpt2_epoch_1.json"
    bad.write_text('{"epoch": 0, "step": ')
    assert main(["validate", str(bad)]) == 1


def test_resume_continues_from_the_checkpoint(trained, tmp_path):
    import shutil
    shutil.copytree(trained / "gpt2", tmp_path / "gpt2")
    assert main(["resume", str(tmp_path / "gpt2" / "gpt2_epoch_2.json"), "--epochs", "1",
                 "--quiet"]) == 0
    resumed = json.loads((tmp_path / "gpt2" / "gpt2_epoch_3.json").read_text())
    first = json.loads((tmp_path / "gpt2" / "gpt2_epoch_2.json").read_text())
    assert resumed["epoch"] == 2 and resumed["step"] > first["step"]


def test_report_prints_a_table_per_model(trained, capsys):
    assert main(["report", str(trained)]) == 0
    out = capsys.readouterr().out
    for name in ("gpt2", "bert", "vit", "clip"):
        assert f"### {name}" in out
    assert out.count("| 2 |") >= 4  # the second epoch's row of every table


def test_plot_writes_a_png(trained, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "curve.png"
    assert main(["plot", str(trained / "gpt2"), "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_generate_and_predict(trained, capsys):
    assert main(["generate", str(trained / "gpt2" / "gpt2_epoch_2.json"), "--prompt",
                 "once upon a time", "--max-new-tokens", "5"]) == 0
    assert capsys.readouterr().out.startswith("once upon a time")
    assert main(["predict", str(trained / "bert" / "bert_epoch_2.json"), "--text",
                 "the film was not good"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in ("negative", "positive")
    assert main(["predict", str(trained / "vit" / "vit_epoch_2.json"), "--image-index",
                 "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["top5"]) == 5 and "true_class" in result


def test_model_server_round_trip(trained):
    path = trained / "vit" / "vit_epoch_2.json"
    server = ModelServer(path)
    images = server.task.data.val_images[:4]
    batch = server.predict(images)
    model, _ = restore_model_from_checkpoint(path)
    logits, _ = model(images)
    assert [r["class_index"] for r in batch] == list(np.argmax(logits.data, axis=1))
    info = server.get_model_info()
    assert info["training_info"] == {"epochs": 2, "steps": server.checkpoint["step"]}
    clip = ModelServer(trained / "clip" / "clip_epoch_2.json")
    found = clip.predict("a picture of a 3")
    assert 0 <= found["image_index"] < len(clip.task.data.val_labels)
    image = clip.task.data.val_images[0]
    result = clip.predict(image)
    # Zero-shot: the class whose caption is most similar, computed here independently.
    image_emb = clip.model.encode_image(image[None]).data
    tokens, eot = clip.task.encode([f"a picture of a {w}" for w in clip.task.data.class_names])
    text_emb = clip.model.encode_text(tokens, eot).data
    assert result["class_index"] == int(np.argmax(image_emb @ text_emb.T))


def test_restored_model_reproduces_the_trained_model(trained, tmp_path, tiny):
    trainer = ModelTrainer(tiny("gpt2", tmp_path))
    trainer.train()
    model, config = restore_model_from_checkpoint(tmp_path / "gpt2" / "gpt2_epoch_1.json")
    val = trainer.task.data.val
    idx = np.stack([val[:32], val[32:64]])  # (2, 32)
    trainer.model.eval()
    assert np.array_equal(model(idx)[0].data, trainer.model(idx)[0].data)
    assert config["n_embd"] == TINY["gpt2"]["n_embd"]


def test_analysis_helpers(trained, tmp_path):
    pytest.importorskip("matplotlib")
    checkpoints = analyze_training_progress(trained / "gpt2", output=tmp_path / "p.png")
    assert [cp["epoch"] for cp in checkpoints] == [0, 1]
    table = compare_model_performance(trained)
    assert set(table) == {"gpt2", "bert", "vit", "clip"}
    assert table["gpt2"]["val_loss"] == checkpoints[-1]["metrics"]["val"]["loss"]
    assert "| Epoch |" in results_markdown(trained)


def test_help_on_every_subcommand(capsys):
    for command in ("train", "resume", "validate", "report", "plot", "generate", "predict"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0


def test_serving_handles_real_text(trained):
    clip = ModelServer(trained / "clip" / "clip_epoch_2.json")
    caption = "the digit 7"
    assert clip.predict(caption.upper()) == clip.predict(caption)   # case does not matter
    with pytest.raises(ValueError, match=r"\['zebra'\]"):
        clip.predict("a zebra")
    with pytest.raises(ValueError, match="context holds"):
        clip.predict("the digit " * 20)
    gpt2 = ModelServer(trained / "gpt2" / "gpt2_epoch_2.json")
    long_prompt = "tom was happy . " * 40                             # longer than the context
    assert gpt2.predict(long_prompt, max_new_tokens=3).startswith(long_prompt)


def test_cli_reports_bad_input_in_one_line(trained, capsys, tmp_path):
    assert main(["generate", str(tmp_path / "missing.json"), "--prompt", "x"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "missing.json" in err and "Traceback" not in err
    assert main(["predict", str(trained / "gpt2" / "gpt2_epoch_2.json"),
                 "--image-index", "0"]) == 2
