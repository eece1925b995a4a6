"""PyTorch-shaped layers. ``from neural_arch import nn``."""

from neural_arch.nn import init
from neural_arch.nn.module import Module, Parameter
from neural_arch.nn.containers import ModuleDict, ModuleList, Sequential
from neural_arch.nn.basic import (GELU, Dropout, Embedding, Flatten, Identity, LayerNorm,
                                  Linear, ReLU, RMSNorm, SiLU, Tanh)
