"""The world without MPI: detection from the launcher's variables, sharding arithmetic."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from neural_arch.distributed import SingleProcess, shard_batch, shard_bounds
from neural_arch.distributed.world import launcher_world_size


@pytest.mark.parametrize("environ, size", [
    ({}, 1),
    ({"PMI_SIZE": "4", "PMI_RANK": "2"}, 4),
    ({"OMPI_COMM_WORLD_SIZE": "8", "OMPI_COMM_WORLD_RANK": "0"}, 8),
    ({"PMI_SIZE": "1", "PMI_RANK": "0"}, 1),
    ({"PMIX_RANK": "0"}, None),  # PMIx announces no size: ask MPI
])
def test_launcher_world_size(environ, size):
    assert launcher_world_size(environ) == size


@given(rows=st.integers(1, 200), size=st.integers(1, 64))
def test_shards_tile_the_batch_and_weights_sum_to_one(rows, size):
    bounds = [shard_bounds(rows, r, size) for r in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == rows
    assert all(hi == lo for (_, hi), (lo, _) in zip(bounds, bounds[1:]))
    counts = [hi - lo for lo, hi in bounds]
    assert max(counts) - min(counts) <= 1
    batch = (np.arange(rows), np.arange(rows) * 2)
    shards = [shard_batch(batch, r, size) for r in range(size)]
    assert sum(w for _, w in shards) == pytest.approx(1.0)
    np.testing.assert_array_equal(np.concatenate([s[1] for s, _ in shards]), batch[1])


def test_single_process_world_changes_nothing():
    world = SingleProcess()
    assert (world.rank, world.size, world.is_root) == (0, 1, True)
    config = {"seed": 3}
    assert world.broadcast_config(config) is config
    assert world.allgather_list([1, None, 2]) == [1, 2]
    assert world.describe() == {"world_size": 1}


def test_a_plain_run_never_imports_mpi4py(tmp_path):
    code = ("import sys; from neural_arch.cli import main; "
            f"main(['train', 'gpt2', '--epochs', '1', '--out', {str(tmp_path)!r}, '--quiet', "
            "'--set', 'n_embd=16', '--set', 'n_layer=1', '--set', 'n_head=2', "
            "'--set', 'n_positions=32', '--set', 'max_chars=20000', "
            "'--set', 'num_sequences=16', '--set', 'eval_sequences=8']); "
            "print('mpi4py' in sys.modules)")
    env_clean = {k: v for k, v in __import__("os").environ.items()
                 if not k.startswith(("PMI", "OMPI_", "MV2_"))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env_clean, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
