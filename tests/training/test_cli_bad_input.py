"""Bad command-line values: one line on stderr, exit code 2, no traceback (issue 14)."""

import pytest

from neural_arch.cli import main

from .conftest import TINY


def _sets(name):
    return [arg for key, value in TINY[name].items() for arg in ("--set", f"{key}={value}")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("ck")
    for name in ("gpt2", "vit"):
        assert main(["train", name, "--epochs", "1", "--out", str(root), "--quiet",
                     *_sets(name)]) == 0
    return root


def assert_one_line_exit_2(capsys, argv, *words):
    with pytest.raises(SystemExit) as info:  # argparse's own errors exit through SystemExit
        code = main(argv)
        raise SystemExit(code)
    assert info.value.code == 2, argv
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" in err, err
    # One error line (argparse puts its usage lines above it).
    assert [line for line in err.splitlines() if "error:" in line] == [err.strip().splitlines()[-1]]
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize("argv, words", [
    (["train", "gpt2", "--epochs", "0"], ["--epochs", "'0'"]),
    (["train", "gpt2", "--epochs", "-1"], ["--epochs"]),
    (["--threads", "0", "report"], ["--threads"]),
    (["--threads", "-2", "report"], ["--threads"]),
    (["train", "gpt2", "--set", "learning_rate=banana"], ["'learning_rate' = 'banana'"]),
    (["train", "gpt2", "--set", "batch_size=abc"], ["'batch_size' = 'abc'"]),
    (["train", "gpt2", "--set", "batch_size=0"], ["'batch_size' = 0"]),
    (["train", "gpt2", "--set", "nonexistent_key=1"], ["unknown setting 'nonexistent_key'"]),
    (["train", "gpt2", "--set", "learnin_rate=1"], ["did you mean 'learning_rate'"]),
    (["train", "vit", "--set", "num_sequences=10"], ["unknown setting 'num_sequences'"]),
    (["train", "gpt2", "--set", "n_layer=1000000"], ["GiB ceiling"]),
])
def test_bad_values_before_training(capsys, tmp_path, argv, words):
    assert_one_line_exit_2(capsys, argv + ["--out", str(tmp_path)] if argv[0] == "train"
                           else argv, *words)


def test_bad_values_on_checkpoints(trained, capsys, tmp_path):
    gpt2, vit = trained / "gpt2" / "gpt2_epoch_1.json", trained / "vit" / "vit_epoch_1.json"
    assert_one_line_exit_2(capsys, ["resume", str(gpt2), "--epochs", "-3"], "--epochs")
    assert_one_line_exit_2(capsys, ["resume", str(gpt2), "--epochs", "0"], "--epochs")
    assert_one_line_exit_2(capsys, ["predict", str(vit), "--image-index", "99999"],
                           "out of range")
    assert_one_line_exit_2(capsys, ["predict", str(vit), "--image-index", "0", "--split",
                                    "bogus"], "--split")
    assert_one_line_exit_2(capsys, ["generate", str(vit), "--prompt", "x"], "does not generate")
    not_a_checkpoint = tmp_path / "notes.json"
    not_a_checkpoint.write_text('{"hello": 1}')
    assert_one_line_exit_2(capsys, ["resume", str(not_a_checkpoint), "--epochs", "1"],
                           "missing required field 'epoch'")
