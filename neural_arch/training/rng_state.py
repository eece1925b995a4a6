"""NumPy Generator state as plain integer arrays, so checkpoints can store it in safetensors.

A PCG64 state is two 128-bit integers (state, inc) plus a cached 32-bit half-word. Each 128-bit
number is split into two uint64 words: [state_hi, state_lo, inc_hi, inc_lo, has_uint32, uinteger].
"""

import numpy as np

_MASK64 = (1 << 64) - 1


def generator_state_array(rng):
    """The state of a ``np.random.Generator`` (PCG64) as a (6,) uint64 array."""
    state = rng.bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise TypeError(f"only PCG64 generators can be saved; got {state['bit_generator']}")
    s, inc = state["state"]["state"], state["state"]["inc"]
    words = [s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, state["has_uint32"],
             state["uinteger"]]
    return np.array(words, dtype=np.uint64)


def restore_generator_state(rng, array):
    """Put the state saved by ``generator_state_array`` back into ``rng`` (in place)."""
    w = [int(x) for x in np.asarray(array, dtype=np.uint64)]
    if len(w) != 6:
        raise ValueError(f"a saved generator state has 6 words; got {len(w)}")
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
        "has_uint32": w[4],
        "uinteger": w[5],
    }


def module_generators(model):
    """(dotted name, Generator) for every Dropout-like module that owns an ``rng``."""
    found = []
    for name, module in model.named_modules():
        rng = module.__dict__.get("rng")
        if isinstance(rng, np.random.Generator):
            found.append((name or "root", rng))
    return found
