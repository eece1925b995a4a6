"""Two ranks under mpiexec train exactly as one process with the same global batch."""

import json
import shutil

import pytest

from neural_arch.cli import main
from neural_arch.training.checkpoint import checkpoint_problems

from .conftest import GPT2, checkpoint, needs_mpi, relative_difference, run_ranks, sets, \
    train_args

pytestmark = needs_mpi


def ok(result):
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def one_and_two(tmp_path_factory):
    """The tiny GPT-2 for 2 epochs in one process and on 2 ranks (a global batch of 8 rows
    that 2 ranks split 4 + 4; 3 ranks would split it 2 + 3 + 3)."""
    root = tmp_path_factory.mktemp("dp")
    writers = root / "writers.txt"
    assert main(train_args(root / "one", epochs=2)) == 0
    ok(run_ranks(2, train_args(root / "two", epochs=2), env={"NA_TEST_WRITERS": str(writers)}))
    return root


def test_two_ranks_equal_one_process(one_and_two):
    for epoch in (1, 2):
        meta1, w1 = checkpoint(one_and_two / f"one/gpt2/gpt2_epoch_{epoch}.json")
        meta2, w2 = checkpoint(one_and_two / f"two/gpt2/gpt2_epoch_{epoch}.json")
        assert relative_difference(w1, w2) < 1e-5  # summation order differs, nothing else
        assert meta2["step"] == meta1["step"] == 6 * epoch
        for split in ("train", "val"):
            assert meta2["metrics"][split]["loss"] == pytest.approx(
                meta1["metrics"][split]["loss"], rel=1e-5)


def test_only_rank_0_writes_one_checkpoint_per_epoch(one_and_two):
    assert (one_and_two / "writers.txt").read_text().split() == ["0", "0"]
    files = sorted(p.name for p in (one_and_two / "two/gpt2").iterdir())
    assert files == ["gpt2_epoch_1.json", "gpt2_epoch_1.safetensors",
                     "gpt2_epoch_2.json", "gpt2_epoch_2.safetensors"]
    for epoch in (1, 2):
        path = one_and_two / f"two/gpt2/gpt2_epoch_{epoch}.json"
        assert checkpoint_problems(str(path), require_weights=True) == []
        env = json.loads(path.read_text())["environment"]
        assert env["world_size"] == 2 and env["mpi_library"] and env["mpi_standard"]
    one = json.loads((one_and_two / "one/gpt2/gpt2_epoch_1.json").read_text())
    assert one["environment"]["world_size"] == 1 and "mpi_library" not in one["environment"]


def test_resume_with_another_world_size_gives_the_same_run(one_and_two, tmp_path):
    """Epoch 2 resumed from the 2-rank epoch-1 checkpoint: in one process, and on 3 ranks
    (global batch 8 split 2 + 3 + 3), the same weights."""
    for name, ranks in (("resume1", 1), ("resume3", 3)):
        shutil.copytree(one_and_two / "two/gpt2", tmp_path / name)
        for stale in (tmp_path / name).glob("gpt2_epoch_2.*"):
            stale.unlink()
        args = ["resume", str(tmp_path / name / "gpt2_epoch_1.json"), "--epochs", "1",
                "--quiet"]
        if ranks == 1:
            assert main(args) == 0
        else:
            ok(run_ranks(ranks, args))
    _, a = checkpoint(tmp_path / "resume1/gpt2_epoch_2.json")
    _, b = checkpoint(tmp_path / "resume3/gpt2_epoch_2.json")
    assert relative_difference(a, b) < 1e-5


def test_a_rank_that_raises_stops_every_rank_and_keeps_the_last_checkpoint(tmp_path):
    """Rank 1 raises before step 8 (epoch 2): rank 0, waiting in the all-reduce, is aborted."""
    result = run_ranks(2, train_args(tmp_path, epochs=2), env={"NA_TEST_FAIL": "1:8"},
                       timeout=120)
    assert result.returncode != 0
    assert "injected failure on rank 1 before step 8" in result.stderr
    assert "rank 1 of 2" in result.stderr
    first = tmp_path / "gpt2/gpt2_epoch_1.json"
    assert checkpoint_problems(str(first), require_weights=True) == []
    assert not (tmp_path / "gpt2/gpt2_epoch_2.json").exists()


def test_a_batch_smaller_than_the_world_leaves_ranks_idle_but_exact(tmp_path):
    """22 windows in batches of 4 end with a batch of 2, over 3 ranks: one rank holds no row
    for that step, and the weighting n_r / B keeps the gradient exact."""
    config = {**GPT2, "num_sequences": 22, "batch_size": 4, "eval_sequences": 13,
              "eval_batch_size": 5}
    assert main(train_args(tmp_path / "one", config=config)) == 0
    ok(run_ranks(3, train_args(tmp_path / "three", config=config)))
    m1, w1 = checkpoint(tmp_path / "one/gpt2/gpt2_epoch_1.json")
    m3, w3 = checkpoint(tmp_path / "three/gpt2/gpt2_epoch_1.json")
    assert relative_difference(w1, w3) < 1e-5
    assert m3["metrics"]["val"]["loss"] == pytest.approx(m1["metrics"]["val"]["loss"],
                                                         rel=1e-5)


def test_clip_refuses_to_split_its_batch(tmp_path):
    from tests.training.conftest import TINY
    result = run_ranks(2, ["train", "clip", "--epochs", "1", "--out", str(tmp_path),
                           "--quiet", *sets(TINY["clip"])])
    assert result.returncode != 0
    assert "couples every example of the batch" in result.stderr
