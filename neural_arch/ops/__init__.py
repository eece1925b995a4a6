"""Every differentiable primitive, one small Function each, and the functions that apply them."""

from neural_arch.ops.elementwise import (abs, add, div, exp, gelu, log, mul, neg, pow, relu,
                                         sigmoid, silu, sqrt, sub, tanh)
from neural_arch.ops.selection import clip, masked_fill, maximum, minimum, where
from neural_arch.ops.reduce import log_softmax, max, mean, min, softmax, sum, var
from neural_arch.ops.movement import (broadcast_to, chunk, concatenate, getitem, pad, permute,
                                      reshape, split, split_sizes, squeeze, stack, swapaxes,
                                      take_along_axis, transpose, unsqueeze)
from neural_arch.ops.tensor_ops import cast, repeat
from neural_arch.ops.linear import linear
from neural_arch.ops.matmul import matmul
from neural_arch.ops.nn_ops import (binary_cross_entropy_with_logits_elementwise,
                                    cross_entropy_rows, dropout, embedding, layer_norm,
                                    qkv_attention, rms_norm, scaled_dot_product_attention)
