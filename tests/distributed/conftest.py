"""Running the CLI under ``mpiexec`` from a test: skipped cleanly without the ``[mpi]`` extra."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

HERE = Path(__file__).parent

# The tiny GPT-2 of tests/training/conftest.py, with 6 steps per epoch.
GPT2 = {"n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 32, "max_chars": 20000,
        "num_sequences": 48, "eval_sequences": 16, "batch_size": 8, "learning_rate": 3e-3}


def find_mpiexec():
    """The mpiexec beside this Python (the ``[mpi]`` extra puts it there), else on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
    reason="needs the [mpi] extra (mpi4py and an mpiexec): pip install -e '.[mpi]'")


def sets(config):
    return [arg for k, v in config.items() for arg in ("--set", f"{k}={v}")]


def run_ranks(n, args, env=None, timeout=180):
    """``mpiexec -n n python mpi_run.py *args`` with one thread per rank; CompletedProcess."""
    full_env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    command = [MPIEXEC, "-n", str(n), sys.executable, str(HERE / "mpi_run.py"), *args]
    return subprocess.run(command, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def train_args(out, epochs=1, config=GPT2, model="gpt2"):
    return ["train", model, "--epochs", str(epochs), "--out", str(out), "--quiet",
            *sets(config)]


def checkpoint(path):
    """(JSON metadata, model weights) of a checkpoint written by the trainer."""
    path = Path(path)
    meta = json.loads(path.read_text())
    tensors = load_file(path.with_suffix(".safetensors"))
    return meta, {k: v for k, v in tensors.items() if k.startswith("model.")}


def relative_difference(a, b):
    """‖a − b‖ / ‖a‖ over every weight of two checkpoints (float64)."""
    assert sorted(a) == sorted(b)
    num = sum(float(np.sum((a[k].astype(np.float64) - b[k]) ** 2)) for k in a)
    den = sum(float(np.sum(a[k].astype(np.float64) ** 2)) for k in a)
    return (num / den) ** 0.5
