"""The frozen ImageNet trunk inside a pet model, and what reads it: the presence head ("is there a pet?") and the
semantic guidance of the decoder ("which blob is the pet").

Pure PyTorch, no I/O (the trunk's ImageNet weights are loaded by :mod:`colorsplash.training.pretrained`).
Inputs are the segmentation network's normalised RGB batch ``N x 3 x S x S`` (float32).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorsplash.training.efficientnet import EfficientNetLite


class ImageNetTrunk(nn.Module):
    """A frozen ImageNet EfficientNet-Lite (stem to its 1280-channel head; no classifier) that reads the network's
    input ``N x 3 x S x S`` resized (bilinear) to ``size``.

    Always frozen and in eval mode (``train()`` leaves it alone): its ImageNet knowledge is what the presence
    head and the guidance rely on, and a few thousand pet photos would only wear it down.
    """

    def __init__(self, variant: str, size: int) -> None:
        super().__init__()
        self.net = EfficientNetLite(variant)
        del self.net._fc
        self.variant, self.size = variant, size
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> ImageNetTrunk:
        return super().train(False)

    @property
    def map_channels(self) -> int:
        return int(self.net._conv_head.out_channels)

    @property
    def channels(self) -> int:
        """Width of :meth:`pool`'s output (average and max side by side)."""
        return 2 * self.map_channels

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The head's features ``N x 1280 x size/32 x size/32`` (after ReLU6, so in [0, 6])."""
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return F.relu6(self.net._bn1(self.net._conv_head(self.net.features(x)[-1])))

    @staticmethod
    def pool(feature_map: torch.Tensor) -> torch.Tensor:
        """Average- and max-pooled :meth:`feature_map`: ``N x 2560``."""
        pooled = [F.adaptive_avg_pool2d(feature_map, 1), F.adaptive_max_pool2d(feature_map, 1)]
        return torch.cat(pooled, dim=1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``N x 2560``."""
        return self.pool(self.feature_map(x))


class TrunkPresenceHead(nn.Module):
    """ "Is there a subject?" from :class:`ImageNetTrunk` features ``N x C``: dropout, a hidden layer, one logit."""

    def __init__(self, channels: int, hidden: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, hidden), nn.ReLU(inplace=True))
        self.fc = nn.Linear(hidden, 1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.fc(self.mlp(feats))


class TrunkGuidance(nn.Module):
    """What the ImageNet trunk knows about each region (pet, person, food, furniture), added to the segmentation
    network's deepest features and to its first decoder block's output.

    ``trunk_map`` (``N x C x s x s``) goes through a 1x1 conv to ``hidden`` channels and ReLU, then one 1x1 conv per
    target width, resized (bilinear) to the target's size. Those last convs start at zero, so a network given
    guidance computes exactly what it computed without until training moves them (as ControlNet's zero convs):
    fine-tuning starts from the bundled masks, not from a disturbed network.
    """

    def __init__(self, channels: int, widths: tuple[int, ...], hidden: int = 128) -> None:
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True))
        convs = [nn.Conv2d(hidden, w, 1) for w in widths]
        for conv in convs:
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)  # type: ignore[arg-type]  # (always set: bias=True)
        self.out = nn.ModuleList(convs)

    def forward(self, trunk_map: torch.Tensor, sizes: list[tuple[int, int]]) -> list[torch.Tensor]:
        """One ``N x widths[i] x sizes[i]`` tensor per target."""
        y = self.reduce(trunk_map)
        out = []
        for conv, size in zip(self.out, sizes, strict=True):
            out.append(F.interpolate(conv(y), size=size, mode="bilinear", align_corners=False))
        return out
