"""PyTorch-shaped layers. ``from neural_arch import nn``; ``nn.functional`` is
``neural_arch.functional`` and ``nn.utils`` holds the gradient-clipping helpers, as in PyTorch."""

from neural_arch import functional
from neural_arch.nn import init, utils
from neural_arch.nn.module import Module, Parameter
from neural_arch.nn.containers import ModuleDict, ModuleList, Sequential
from neural_arch.nn.basic import (GELU, Dropout, Embedding, Flatten, Identity, LayerNorm,
                                  Linear, ReLU, RMSNorm, SiLU, Tanh)
from neural_arch.nn.conv_layers import (AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d,
                                        PatchEmbedding)
from neural_arch.nn.batchnorm import BatchNorm2d
from neural_arch.nn.rotary import RotaryEmbedding
from neural_arch.nn.kv_cache import KVCache, repeat_kv
from neural_arch.nn.tied_head import TiedLMHead
from neural_arch.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from neural_arch.nn.multihead_attention import MultiheadAttention
