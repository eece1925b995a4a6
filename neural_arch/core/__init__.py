"""The autograd core: Tensor, Function, the backward engine and grad mode."""

from neural_arch.core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from neural_arch.core.tensor import Tensor
from neural_arch.core.function import Function
from neural_arch.core.engine import backward

__all__ = ["Tensor", "Function", "backward", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled"]
