"""PyTorch-shaped layers. ``from neural_arch import nn``."""

from neural_arch.nn import init
from neural_arch.nn.module import Module, Parameter
from neural_arch.nn.containers import ModuleDict, ModuleList, Sequential
from neural_arch.nn.basic import (GELU, Dropout, Embedding, Flatten, Identity, LayerNorm,
                                  Linear, ReLU, RMSNorm, SiLU, Tanh)
from neural_arch.nn.conv_layers import (AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d,
                                        PatchEmbedding)
from neural_arch.nn.batchnorm import BatchNorm2d
from neural_arch.nn.rotary import RotaryEmbedding
from neural_arch.nn.attention import KVCache, MultiHeadAttention, repeat_kv
