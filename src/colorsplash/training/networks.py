"""Networks: the seed's plain U-Net and a U-Net decoder on EfficientNet-Lite encoders.

Pure PyTorch, no I/O: weights are loaded by :mod:`colorsplash.training.pretrained` and
:mod:`colorsplash.training.checkpoint`.
Every network maps a float32 batch ``N x 3 x S x S`` (normalised RGB, see :mod:`colorsplash.runtime.model.preprocess`)
to one logit per pixel, ``N x 1 x S x S``; ``sigmoid(logit)`` is the subject probability.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from colorsplash.runtime.model.config import ModelConfig
from colorsplash.training.config import TRAINABLE
from colorsplash.training.efficientnet import EfficientNetLite
from colorsplash.training.trunk import ImageNetTrunk, TrunkGuidance, TrunkPresenceHead


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


class LiteUNet(nn.Module):
    """U-Net decoder (bilinear up, skip concat, 2x conv-BN-ReLU) on an EfficientNet-Lite encoder, optionally with
    a :class:`PresenceHead` (``presence``)."""

    def __init__(
        self,
        variant: str,
        decoder_channels: tuple[int, ...],
        presence_head: bool = False,
        trunk: tuple[str, int] | None = None,
        guidance: bool = False,
    ) -> None:
        """``trunk``: ``(variant, size)`` of an :class:`ImageNetTrunk` that feeds the presence head (a
        :class:`TrunkPresenceHead`) instead of the encoder's deepest features; with ``guidance`` its feature map
        also feeds the decoder (:class:`TrunkGuidance`)."""
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
        self.presence_trunk = ImageNetTrunk(*trunk) if trunk and (presence_head or guidance) else None
        self.guidance: TrunkGuidance | None = None
        if guidance:
            if self.presence_trunk is None:
                raise ValueError("guidance reads the ImageNet trunk: pass trunk=(variant, size)")
            self.guidance = TrunkGuidance(self.presence_trunk.map_channels, (taps[4], decoder_channels[0]))
        self.presence: nn.Module | None = None
        if presence_head and self.presence_trunk is not None:
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
        trunk_map = None if self.presence_trunk is None else self.presence_trunk.feature_map(x)
        if presence_only and trunk_map is not None:
            return self._presence(trunk_map, None)
        feats = self.encoder.features(x)
        if presence_only:
            return self._presence(None, feats[-1])
        y = self._decode(feats, trunk_map)
        if not with_presence:
            return y
        return y, self._presence(trunk_map, feats[-1])

    def _decode(self, feats: list[torch.Tensor], trunk_map: torch.Tensor | None) -> torch.Tensor:
        """Pixel logits from the encoder's features (and, with guidance, the trunk's map)."""
        y = feats[-1]
        hints: list[torch.Tensor] = []
        if self.guidance is not None:
            assert trunk_map is not None
            hints = self.guidance(trunk_map, [tuple(y.shape[-2:]), tuple(feats[3].shape[-2:])])
            y = y + hints[0]
        skips: list[torch.Tensor | None] = [feats[3], feats[2], feats[1], feats[0], None]
        for i, (block, skip) in enumerate(zip(self.decoder, skips, strict=True)):
            y = block(y, skip)
            if i == 0 and hints:
                y = y + hints[1]
        return self.head(y)

    def _presence(self, trunk_map: torch.Tensor | None, deepest: torch.Tensor | None) -> torch.Tensor:
        assert self.presence is not None
        if self.presence_trunk is not None:
            assert trunk_map is not None
            return self.presence(ImageNetTrunk.pool(trunk_map))
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


def param_groups(model: nn.Module, lr: float, encoder_lr_scale: float = 1.0) -> list[dict[str, Any]]:
    """Optimiser parameter groups of the weights that require gradients: the encoder's at
    ``lr * encoder_lr_scale``, all others (decoder, head, guidance, presence head) at ``lr``.

    One group when the scale is 1 or nothing of the encoder trains. Raises ``ValueError`` when nothing trains.
    """
    trained = [p for p in model.parameters() if p.requires_grad]
    if not trained:
        raise ValueError("nothing to train: every weight of the network is frozen")
    encoder = getattr(_inner(model), "encoder", None)
    slow_part = encoder if encoder_lr_scale != 1.0 and isinstance(encoder, nn.Module) else None
    enc_ids = set() if slow_part is None else {id(p) for p in slow_part.parameters()}
    slow = [p for p in trained if id(p) in enc_ids]
    fast = [p for p in trained if id(p) not in enc_ids]
    groups: list[dict[str, Any]] = [{"params": fast, "lr": lr}] if fast else []
    if slow:
        groups.append({"params": slow, "lr": lr * encoder_lr_scale})
    return groups


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
    """What ``trainable="decoder"`` trains: the decoder blocks, the pixel head and the trunk guidance if any."""
    inner = _inner(model)
    decoder, head = getattr(inner, "decoder", None), getattr(inner, "head", None)
    if not isinstance(decoder, nn.Module) or not isinstance(head, nn.Module):
        raise ValueError(f"--trainable decoder needs a U-Net with a decoder and a head, not {type(inner).__name__}")
    guidance = getattr(inner, "guidance", None)
    return [decoder, head] if guidance is None else [guidance, decoder, head]


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
    variant = config.arch.removeprefix("unet-")
    return LiteUNet(variant, tuple(config.decoder_channels), config.presence_head, trunk, config.trunk_guidance)
