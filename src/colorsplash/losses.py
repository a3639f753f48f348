"""Losses as pure functions of logits ``N x 1 x H x W`` and targets ``N x 1 x H x W`` (0, 1 or 255 = ignore)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = 255


def bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy (the seed's loss) averaged over non-ignored pixels."""
    valid = (target != IGNORE).float()
    per_px = F.binary_cross_entropy_with_logits(logits.float(), (target == 1).float(), reduction="none")
    return (per_px * valid).sum() / valid.sum().clamp_min(1.0)


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """``1 - soft Dice`` per image, averaged over the batch; ignored pixels do not count."""
    valid = (target != IGNORE).float()
    prob = torch.sigmoid(logits.float()) * valid
    t = (target == 1).float() * valid
    inter = (prob * t).flatten(1).sum(1)
    denom = prob.flatten(1).sum(1) + t.flatten(1).sum(1)
    return (1.0 - (2 * inter + eps) / (denom + eps)).mean()


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 0.0) -> torch.Tensor:
    """``BCE + dice_weight * Dice``."""
    loss = bce_loss(logits, target)
    return loss + dice_weight * soft_dice_loss(logits, target) if dice_weight > 0 else loss
