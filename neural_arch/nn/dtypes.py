"""A layer computes in its own float dtype, whatever float dtype the input arrives in.

PyTorch refuses a float64 input to a float32 layer ("mat1 and mat2 must have the same dtype");
NumPy would silently promote the whole product to float64, twice as slow and no longer the
model that was trained. Here the input is cast to the layer's dtype at the layer's boundary:
a Tensor through the differentiable cast (its gradient comes back in the input's own dtype), a
plain array directly. Non-float input to a layer that multiplies is an error naming the layer.
"""

import numpy as np

from neural_arch.core.tensor import Tensor
from neural_arch.ops.tensor_ops import cast


def in_layer_dtype(x, weight, layer):
    """``x`` (Tensor or array-like) in ``weight``'s dtype; TypeError if ``x`` is not float."""
    dtype = weight.dtype
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.dtype.kind != "f":
        raise TypeError(f"{layer}: input must hold floats; got dtype {data.dtype}")
    if data.dtype == dtype:
        return x
    return cast(x, dtype) if isinstance(x, Tensor) else Tensor(data.astype(dtype))
