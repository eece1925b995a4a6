"""The glibc allocator settings: applied once on import, and switched off by the variable."""

import subprocess
import sys

import pytest

from neural_arch.kernels import allocator

SNIPPET = "import neural_arch.kernels as K; print(K.allocator._applied)"


def run(env_value):
    env = {"NEURAL_ARCH_KEEP_FREED_MEMORY": env_value, "NEURAL_ARCH_QUIET_COMPILE": "1"}
    import os
    done = subprocess.run([sys.executable, "-c", SNIPPET], env=dict(os.environ, **env),
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_applied_on_import_and_idempotent():
    assert run("1") == "True"
    assert allocator.keep_freed_memory() is True and allocator.keep_freed_memory() is True


def test_the_variable_switches_it_off():
    assert run("0") == "None"
