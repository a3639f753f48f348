"""Losses as pure functions of logits ``N x 1 x H x W`` and targets ``N x 1 x H x W`` (0, 1 or 255 = ignore)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from colorsplash.evaluation.metrics import IGNORE


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


def _lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovasz extension of the Jaccard loss for labels sorted by decreasing error."""
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1.0 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1].clone()
    return jaccard


def lovasz_hinge_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Lovasz hinge (Berman et al., 2018) per image, averaged over the batch: a convex surrogate of ``1 - IoU``
    that optimises the per-image IoU the project reports directly. Ignored pixels do not count."""
    losses = []
    for lg, t in zip(logits.float().flatten(1), target.flatten(1), strict=True):
        keep = t != IGNORE
        lg, labels = lg[keep], (t[keep] == 1).float()
        if labels.numel() == 0:
            losses.append(lg.sum() * 0.0)
            continue
        errors = 1.0 - lg * (2.0 * labels - 1.0)
        errors_sorted, order = torch.sort(errors, descending=True)
        losses.append(torch.dot(F.relu(errors_sorted), _lovasz_grad(labels[order])))
    return torch.stack(losses).mean()


def segmentation_loss(
    logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 0.0, lovasz_weight: float = 0.0
) -> torch.Tensor:
    """``BCE + dice_weight * Dice + lovasz_weight * Lovasz hinge``."""
    loss = bce_loss(logits, target)
    if dice_weight > 0:
        loss = loss + dice_weight * soft_dice_loss(logits, target)
    if lovasz_weight > 0:
        loss = loss + lovasz_weight * lovasz_hinge_loss(logits, target)
    return loss


PRESENCE_MIN_SHARE = 0.002  # pet pixels (share of the frame) from which a training photo counts as "has a pet"


def presence_targets(target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Photo labels from pixel targets ``N x 1 x H x W``: ``(has pet 0/1, weight)``, both float ``N``.

    A photo with at least :data:`PRESENCE_MIN_SHARE` of its pixels pet is 1, one with no pet pixel 0; a photo in
    between (a pet pushed almost out of the frame by augmentation) or with no scored pixel has weight 0.
    """
    flat = target.flatten(1)
    pet = (flat == 1).float().mean(1)
    scored = (flat != IGNORE).any(1)
    has = (pet >= PRESENCE_MIN_SHARE).float()
    weight = (((pet >= PRESENCE_MIN_SHARE) | (pet == 0)) & scored).float()
    return has, weight


def presence_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE of photo logits ``N x 1`` against :func:`presence_targets` of the pixel targets."""
    has, weight = presence_targets(target)
    per = F.binary_cross_entropy_with_logits(logits.float().flatten(), has, reduction="none")
    return (per * weight).sum() / weight.sum().clamp_min(1.0)
