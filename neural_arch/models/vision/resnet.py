"""ResNet for CIFAR-sized images: residual stages of BasicBlocks with batch normalisation.

References:
    He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
    (arXiv:1512.03385), Section 4.2: a 3×3 stem, three stages of 2n layers on 32×32, 16×16 and
    8×8 maps with 16, 32, 64 filters, global average pooling and a fully-connected layer, so the
    depth is 6n + 2 (ResNet-8, 20, 32, 44, 56, 110).
    torchvision ``torchvision/models/resnet.py`` (BasicBlock): the parameter names (``conv1``,
    ``bn1``, ``layer1.0.conv2``, ``layer2.0.downsample.0``, ``fc``) and the init.

One BasicBlock, with the shortcut an identity or, where the shape changes, a 1×1 strided
convolution followed by BatchNorm (the paper's option B):

    y = ReLU(BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x))
"""

from dataclasses import dataclass

import numpy as np

from neural_arch.models.config_base import ConfigDict
from neural_arch import functional as F
from neural_arch import nn, ops
from neural_arch.core import Tensor


@dataclass
class ResNetConfig(ConfigDict):
    depth: int = 8                   # 6n + 2: 8, 20, 32, 44, 56, 110
    num_classes: int = 10
    in_channels: int = 3
    base_width: int = 16             # filters of the first stage; doubled at each later stage
    seed: int = 0


def _conv3x3(in_channels, out_channels, stride, rng):
    # No bias: the BatchNorm right after it has its own shift.
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False,
                     rng=rng)


class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride, rng):
        super().__init__()
        self.conv1 = _conv3x3(in_channels, out_channels, stride, rng)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels, 1, rng)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False, rng=rng),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = ops.relu(self.bn1(self.conv1(x)))                          # (N, C', H/s, W/s)
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return ops.relu(out + shortcut)


class ResNet(nn.Module):
    """``forward(images (N, C, H, W), targets=None) -> (logits (N, classes), loss or None)``.
    Any image size works (the pooling is global); CIFAR's is 32×32."""

    def __init__(self, config=None):
        super().__init__()
        config = ResNetConfig.coerce(config)
        if config.depth < 8 or (config.depth - 2) % 6:
            raise ValueError(f"ResNet: depth must be 6n + 2 with n >= 1 (8, 20, 32, ...); got "
                             f"{config.depth}")
        self.config = config
        rng = np.random.default_rng(config.seed)
        n = (config.depth - 2) // 6
        widths = [config.base_width, 2 * config.base_width, 4 * config.base_width]
        self.conv1 = _conv3x3(config.in_channels, widths[0], 1, rng)
        self.bn1 = nn.BatchNorm2d(widths[0])
        channels = widths[0]
        for stage, (width, stride) in enumerate(zip(widths, (1, 2, 2)), start=1):
            blocks = []
            for i in range(n):
                blocks.append(BasicBlock(channels, width, stride if i == 0 else 1, rng))
                channels = width
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, config.num_classes, rng=rng)
        self._init_weights(rng)

    def _init_weights(self, rng):
        """He init (fan_out, ReLU gain) for convolutions, as torchvision; BN starts at (1, 0).
        (torchvision's optional zero-γ residual init is not used: it would give conv2 of every
        block a zero gradient at the first step.)"""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, rng, mode="fan_out")
        # A small classifier makes the first predictions near uniform: loss ≈ ln(num_classes).
        nn.init.normal_(self.fc.weight, rng, 0.0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def _check_images(self, images):
        x = images if isinstance(images, Tensor) else Tensor(np.asarray(images, np.float32))
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"ResNet: images must be (N, {self.config.in_channels}, H, W); got "
                             f"shape {x.shape}")
        return x

    def forward(self, images, targets=None):
        x = ops.relu(self.bn1(self.conv1(self._check_images(images))))  # (N, 16, H, W)
        x = self.layer3(self.layer2(self.layer1(x)))                      # (N, 64, H/4, W/4)
        x = self.avgpool(x).reshape(x.shape[0], -1)                      # (N, 64)
        logits = self.fc(x)                                              # (N, classes)
        if targets is None:
            return logits, None
        t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
        return logits, F.cross_entropy(logits, t)
