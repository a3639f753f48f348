"""Segmentation metrics as pure NumPy functions.

Inputs are a predicted probability map (float in [0, 1]) or binary mask and a target mask of the same
``HxW`` shape with 0 = background, 1 = subject and optionally :data:`IGNORE` (255) for
pixels not scored (Oxford trimap borders). Empty-vs-empty counts as a perfect score (1.0).
"""

from __future__ import annotations

import numpy as np

# Mask value of pixels that are not scored (Oxford trimap borders): the one definition, used by data sets,
# metrics and losses.
IGNORE = 255
SEED_THRESHOLDS = tuple(np.round(np.arange(0.5, 1.0, 0.05), 2))


def scores_nothing(target: np.ndarray) -> bool:
    """Whether the mask ``target`` leaves no pixel scored (all :data:`IGNORE`: a trimap all border). Its photo has
    no score at all, not the perfect 1.0 of nothing against nothing: ``evaluate`` and ``train``'s validation leave
    it out of their means (the one rule of both)."""
    return not bool((target != IGNORE).any())


def _binarize(pred: np.ndarray, target: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and target {target.shape} must have the same shape")
    valid = target != IGNORE
    p = (pred >= threshold) if pred.dtype != np.bool_ else pred
    return p[valid], target[valid] == 1


def confusion(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int, int]:
    """``(tp, fp, fn, tn)`` pixel counts over non-ignored pixels."""
    p, t = _binarize(pred, target, threshold)
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    return tp, fp, fn, int(p.size - tp - fp - fn)


def iou(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """Foreground intersection over union, ``tp / (tp + fp + fn)``."""
    tp, fp, fn, _ = confusion(pred, target, threshold)
    return 1.0 if tp + fp + fn == 0 else tp / (tp + fp + fn)


def dice(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """Dice / F1, ``2 tp / (2 tp + fp + fn)``."""
    tp, fp, fn, _ = confusion(pred, target, threshold)
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def pixel_accuracy(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """Share of non-ignored pixels classified right."""
    tp, fp, fn, tn = confusion(pred, target, threshold)
    total = tp + fp + fn + tn
    return 1.0 if total == 0 else (tp + tn) / total


def mean_iou_thresholds(pred: np.ndarray, target: np.ndarray, thresholds: tuple[float, ...] = SEED_THRESHOLDS) -> float:
    """The seed's metric: mean over thresholds 0.5:0.95:0.05 of the two-class mean IoU
    (foreground and background IoU averaged), as Keras' ``tf.metrics.mean_iou(..., 2)`` computed it."""
    scores = []
    for t in thresholds:
        tp, fp, fn, tn = confusion(pred, target, t)
        fg = 1.0 if tp + fp + fn == 0 else tp / (tp + fp + fn)
        bg = 1.0 if tn + fn + fp == 0 else tn / (tn + fn + fp)
        scores.append((fg + bg) / 2)
    return float(np.mean(scores))


def paired_bootstrap(
    before: np.ndarray | list[float],
    after: np.ndarray | list[float],
    rounds: int = 10000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """How much ``after`` moves a set's mean score from ``before``, and how sure that is: ``(mean of after - before,
    low, high)``, the percentile bootstrap interval at ``level`` of that mean, resampling photos (both models'
    scores of one photo stay paired, so photo difficulty cancels out). Scores are per photo, in the same photo order.

    With 46 photos (Oxford val) one photo moving by 0.3 moves the mean by 0.0065: a difference whose interval holds 0
    is within the photos' sampling noise. Seeded: the same inputs give the same interval.

    Raises:
        ValueError: no photos, unequal lengths, ``rounds`` < 1 or ``level`` outside (0, 1).
    """
    a, b = np.asarray(before, np.float64), np.asarray(after, np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"need two equally long, non-empty lists of per-photo scores, got {a.shape} and {b.shape}")
    if rounds < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"rounds must be >= 1 and level in (0, 1), got {rounds} and {level}")
    diff = b - a
    picks = np.random.default_rng(seed).integers(0, diff.size, (rounds, diff.size))
    means = diff[picks].mean(axis=1)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(diff.mean()), float(low), float(high)
