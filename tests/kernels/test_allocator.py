"""The glibc allocator settings: with them, an array freed and allocated again costs no page
faults (the property the training step relies on); without them (the opt-out variable) it does."""

import os
import subprocess
import sys

import pytest

from neural_arch.kernels import allocator

# Page faults taken by allocating a 20 MB array again after freeing one of that size.
SNIPPET = """
import resource
import numpy as np
import neural_arch.kernels as K
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(5_000_000, np.float32)
del a
before = faults()
a = np.ones(5_000_000, np.float32)
print(K.allocator._applied, faults() - before)
"""


def run(env_value):
    env = dict(os.environ, NEURAL_ARCH_KEEP_FREED_MEMORY=env_value, NEURAL_ARCH_QUIET_COMPILE="1")
    done = subprocess.run([sys.executable, "-c", SNIPPET], env=env, capture_output=True,
                          text=True, check=True)
    applied, faults = done.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_reused_without_page_faults():
    applied, faults_kept = run("1")
    skipped, faults_default = run("0")
    assert applied == "True" and skipped == "None"
    assert faults_kept <= 10 < faults_default       # 20 MB = 4883 pages of 4 KiB


def test_applying_twice_is_harmless():
    first = allocator.keep_freed_memory()
    assert allocator.keep_freed_memory() is first
