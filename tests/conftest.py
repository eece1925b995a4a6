"""Hypothesis profiles: "ci" (default, bounded so the suite stays quick on 2 cores) and
"thorough" (many more examples): ``HYPOTHESIS_PROFILE=thorough python -m pytest``."""

import os

# Before NumPy loads: one BLAS thread. The suite's models are tiny, and BLAS thread hand-offs
# cost more than they save at these sizes (and much more on a busy machine). Numba keeps its
# default thread count so that the parallel kernels run in parallel under test.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", max_examples=12, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)
