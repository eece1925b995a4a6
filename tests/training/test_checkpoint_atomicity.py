"""A save killed with SIGKILL at any instant loses nothing the user already had.

A child process saves a checkpoint and is killed part-way. Deterministic cases stop it at chosen
instants (half-way through the weights, between the two files, half-way through the JSON) by
patching ``atomic_write.write_chunks`` to announce itself and sleep; one undirected case kills
a 200 MB save at whatever point it has reached.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load as load_safetensors

import neural_arch
from neural_arch.training.checkpoint import (checkpoint_problems, find_checkpoints,
                                             load_checkpoint, load_checkpoint_tensors,
                                             save_checkpoint)

REPO_ROOT = Path(neural_arch.__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import neural_arch.training.atomic_write as atomic_write
    from neural_arch.training.checkpoint import save_checkpoint

    directory, epoch, stop_at, megabytes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    real_write_chunks, calls = atomic_write.write_chunks, []

    def pause():
        print("PAUSED", flush=True)
        time.sleep(600)

    def patched(fh, data):
        calls.append(len(data))
        which = "weights" if len(calls) == 1 else "json"  # weights are written first
        if stop_at == "between" and which == "json":
            pause()  # weights committed, JSON not yet begun
        if stop_at == which:
            real_write_chunks(fh, data[:len(data) // 2])
            fh.flush()
            pause()
        real_write_chunks(fh, data)

    if stop_at != "none":
        atomic_write.write_chunks = patched
    tensors = {"model.w": np.full(int(megabytes) * 2**18, 7.0, dtype=np.float32)}
    meta = {"epoch": epoch - 1, "step": 999, "config": {},
            "metrics": {"train": {"loss": 9.0}, "val": {"loss": 9.0}},
            "schema_version": 1, "model": "gpt2", "created_at": "2026-12-02T00:00:00+00:00"}
    print("SAVING", flush=True)
    save_checkpoint(directory, meta, tensors)
    print("DONE", flush=True)
""")


def old_tensors(epoch):
    return {"model.w": np.arange(1000, dtype=np.float32) * epoch}


def old_metadata(epoch):
    return {"epoch": epoch - 1, "step": 10 * epoch, "config": {"n_layer": 2},
            "metrics": {"train": {"loss": 3.0}, "val": {"loss": 3.5}},
            "schema_version": 1, "model": "gpt2", "created_at": "2026-12-02T00:00:00+00:00"}


def start_child(directory, epoch, stop_at, megabytes):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(epoch), stop_at, str(megabytes)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_line(proc, expected, timeout=120.0):
    # A watchdog rather than select(): the pipe's buffer may already hold the line.
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        line = proc.stdout.readline().strip()
    finally:
        watchdog.cancel()
    if line != expected:
        proc.kill()
        pytest.fail(f"child said {line!r}, expected {expected!r}; stderr:\n"
                    f"{proc.stderr.read()}")


def kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def assert_previous_checkpoints_intact(directory):
    """Epochs 1 and 2 exist exactly as first saved; no final file is partial."""
    assert [p.name for p in find_checkpoints(directory)] == ["gpt2_epoch_1.json",
                                                            "gpt2_epoch_2.json"]
    for epoch, path in enumerate(find_checkpoints(directory), start=1):
        assert checkpoint_problems(path, check_model=False) == []
        loaded = load_checkpoint_tensors(path)
        assert loaded["model.w"].tobytes() == old_tensors(epoch)["model.w"].tobytes()
    for path in directory.iterdir():
        if path.name.startswith("."):
            assert path.name.endswith(".tmp"), path  # only orphan temp files may remain
        elif path.suffix == ".safetensors":
            load_safetensors(path.read_bytes())  # a complete file, never a partial one


def size_or_zero(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed into place or removed since the glob saw it
        return 0


@pytest.fixture
def two_epochs(tmp_path):
    for epoch in (1, 2):
        save_checkpoint(tmp_path, old_metadata(epoch), old_tensors(epoch))
    return tmp_path


@pytest.mark.parametrize("epoch", [2, 3], ids=["overwrite-epoch-2", "new-epoch-3"])
@pytest.mark.parametrize("stop_at", ["weights", "between", "json"])
def test_kill_at_each_stage_keeps_previous_checkpoints(two_epochs, epoch, stop_at):
    proc = start_child(two_epochs, epoch, stop_at, megabytes=1)
    wait_for_line(proc, "SAVING")
    wait_for_line(proc, "PAUSED")
    kill(proc)
    assert_previous_checkpoints_intact(two_epochs)
    # The next save succeeds and leaves a clean directory: no stale weights for that epoch.
    path = save_checkpoint(two_epochs, old_metadata(epoch), old_tensors(epoch))
    assert checkpoint_problems(path, check_model=False) == []
    checkpoints = find_checkpoints(two_epochs)
    assert [p.name for p in checkpoints] == [f"gpt2_epoch_{n}.json"
                                             for n in range(1, max(epoch, 2) + 1)]
    referenced = [load_checkpoint(p)["weights"]["file"] for p in checkpoints]
    visible = {p.name for p in two_epochs.iterdir() if not p.name.startswith(".")}
    assert visible == {p.name for p in checkpoints} | set(referenced)


def test_sigkill_during_a_200mb_save_is_all_or_nothing(two_epochs):
    proc = start_child(two_epochs, 2, "none", megabytes=200)
    wait_for_line(proc, "SAVING")
    deadline = time.monotonic() + 120
    # Kill as soon as the child's temp file has data in it: mid-write of the weights.
    while time.monotonic() < deadline and proc.poll() is None:
        if any(size_or_zero(p) > 0 for p in two_epochs.glob(".gpt2_epoch_2*.tmp")):
            break
        time.sleep(0.001)
    kill(proc)
    finished = len(find_checkpoints(two_epochs)) == 2 and \
        load_checkpoint_tensors(two_epochs / "gpt2_epoch_2.json")["model.w"].size > 1000
    if finished:  # The machine outran the poll: then the new checkpoint must be whole.
        assert checkpoint_problems(two_epochs / "gpt2_epoch_2.json", check_model=False) == []
    else:
        assert_previous_checkpoints_intact(two_epochs)
