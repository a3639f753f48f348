"""Choosing and judging the photo-level "is there a subject?" threshold on validation photos."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PET_RECALL = 0.98  # the bar: at least this share of validation pet photos must still count as pets


def choose_threshold(pet_scores: Sequence[float], recall: float = PET_RECALL) -> float:
    """The highest threshold that keeps at least ``recall`` of ``pet_scores`` at or above it.

    Raises:
        ValueError: no scores, or ``recall`` outside (0, 1].
    """
    if not pet_scores:
        raise ValueError("no validation pet photos to choose a threshold on")
    if not 0 < recall <= 1:
        raise ValueError(f"recall must be in (0, 1], got {recall}")
    ordered = np.sort(np.asarray(pet_scores, np.float64))
    allowed_misses = math.floor((1 - recall) * len(ordered) + 1e-9)
    return float(ordered[allowed_misses])


@dataclass(frozen=True)
class GateReport:
    """How one scoring rule separates pet photos from pet-free ones at its chosen threshold."""

    rule: str
    threshold: float
    pet_recall: float  # share of pet photos at or above the threshold
    pet_free_rejected: float  # share of pet-free photos under it (nothing coloured)


def judge(
    rule: str, pet_scores: Sequence[float], free_scores: Sequence[float], recall: float = PET_RECALL
) -> GateReport:
    """Threshold ``rule``'s scores with :func:`choose_threshold` and measure both sides."""
    t = choose_threshold(pet_scores, recall)
    pets, free = np.asarray(pet_scores), np.asarray(free_scores)
    return GateReport(rule, t, float(np.mean(pets >= t)), float(np.mean(free < t)) if free.size else float("nan"))
