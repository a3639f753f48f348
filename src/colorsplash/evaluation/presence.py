"""Choosing and judging the photo-level "is there a subject?" threshold on validation photos: the scores of the
validation photos (:func:`gate_scores`), the threshold (:func:`choose_threshold`, :func:`judge`) and its record in
a model's config (:func:`calibration_record`). Importable without PyTorch."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from colorsplash.evaluation import datasets as data
from colorsplash.evaluation.folders import DataError
from colorsplash.evaluation.pet_validation import FREE_SETS
from colorsplash.runtime.no_subject import under_gate

PET_RECALL = 0.98  # the bar: at least this share of validation pet photos must still count as pets
CALIBRATION_KEY = "presence_calibration"  # ModelConfig.training[...]: how presence_threshold was chosen
RULES = ("head", "max", "area")

# RGB (not BGR) uint8 ``HxWx3`` photo -> (probability, float32 ``S x S`` in [0, 1] at the network's resolution;
# the model's presence score in [0, 1], ``None`` for a model without a presence output).
ScoredPredict = Callable[[np.ndarray], tuple[np.ndarray, float | None]]


@dataclass(frozen=True)
class GateScores:
    """Per rule (:data:`RULES`), the scores of the pet photos and of the pet-free photos, in photo order:
    ``head`` the model's presence output (empty without one), ``max`` the highest pixel probability, ``area``
    the share of pixels at probability >= 0.5."""

    pets: dict[str, list[float]] = field(default_factory=lambda: {rule: [] for rule in RULES})
    free: dict[str, list[float]] = field(default_factory=lambda: {rule: [] for rule in RULES})


def gate_scores(predict: ScoredPredict, sets: dict[str, list[data.Sample]], skip_bad: bool = False) -> GateScores:
    """Score every photo of ``sets`` (labels as :func:`~colorsplash.evaluation.pet_validation.validation_sets`:
    ``pet-free`` and ``negatives`` are the subject-free side, every other set subject photos) with ``predict``;
    ``skip_bad``: an unreadable pair is left out (as ``train --skip-bad`` left it) rather than raise."""
    out = GateScores()
    for label, samples in sets.items():
        target = out.free if label in FREE_SETS else out.pets
        for sample in samples:
            try:
                image, _ = data.load_pair(sample)
            except DataError:
                if not skip_bad:
                    raise
                continue
            prob, score = predict(image)
            if score is not None:
                target["head"].append(float(score))
            target["max"].append(float(prob.max()) if prob.size else 0.0)
            target["area"].append(float((prob >= 0.5).mean()))
    return out


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
    return float(ordered[misses_allowed(len(ordered), recall)])


def misses_allowed(photos: int, recall: float) -> int:
    """How many of ``photos`` pet photos :func:`choose_threshold` may leave under the threshold at ``recall``: 0 for
    fewer than ``1 / (1 - recall)`` photos (the threshold is then the lowest score)."""
    return math.floor((1 - recall) * photos + 1e-9)


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
    """Threshold ``rule``'s scores with :func:`choose_threshold` and measure both sides, by the gate's own
    comparison (:func:`~colorsplash.runtime.no_subject.under_gate`)."""
    t = choose_threshold(pet_scores, recall)
    passed = float(np.mean([not under_gate(s, t) for s in pet_scores]))
    rejected = float(np.mean([under_gate(s, t) for s in free_scores])) if len(free_scores) else float("nan")
    return GateReport(rule, t, passed, rejected)


def calibration_record(
    report: GateReport, recall: float, sets: dict[str, list[data.Sample]], scored_by: str
) -> dict[str, Any]:
    """What :data:`CALIBRATION_KEY` records in a model's config: the rule, the recall asked for and reached, the
    share of pet-free photos rejected, and the photos per validation set; ``scored_by`` names the model scored.
    (For any subject: ``pet_`` keys count the subject photos, ``pet_free_`` ones the photos without it.)"""
    counts = {label: len(samples) for label, samples in sets.items()}
    return {
        "rule": report.rule,
        "threshold": report.threshold,
        "recall": recall,
        "pet_recall": report.pet_recall,
        "pet_free_rejected": None if math.isnan(report.pet_free_rejected) else report.pet_free_rejected,
        "pet_photos": sum(n for label, n in counts.items() if label not in FREE_SETS),
        "pet_free_photos": sum(counts.get(label, 0) for label in FREE_SETS),
        "sets": counts,
        "scored_by": scored_by,
    }
