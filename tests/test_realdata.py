"""The real data sets in ../shared/data (skipped when absent): discovery counts and a few real pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from colorsplash.evaluation.datasets import IGNORE, discover, load_pair, split_samples

pytestmark = pytest.mark.realdata


def test_oxford_pets_discovery_and_pairs(shared_data: Path) -> None:
    samples = discover(shared_data / "oxford-pets")
    assert len(samples) == 300
    assert {s.kind for s in samples} == {"oxford"} and {s.dataset for s in samples} == {"oxford-pets"}
    # Only trainval.txt is present: without test.txt the official split does not apply, a seeded one does.
    assert {s.split for s in samples} == {None}
    train, val = split_samples(samples, 0.15, seed=0)
    assert len(train) + len(val) == 300 and 25 <= len(val) <= 65
    for sample in samples[:2] + samples[-2:]:
        image, mask = load_pair(sample)
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
        assert mask.shape == image.shape[:2]
        values = set(np.unique(mask).tolist())
        assert values <= {0, 1, IGNORE} and {1, IGNORE} <= values  # pet and border present
        assert 0.02 < np.mean(mask == 1) < 0.98


def test_feral_cats_discovery_split_and_pairs(shared_data: Path) -> None:
    samples = discover(shared_data / "feral-cats")
    assert len(samples) == 895 and {s.kind for s in samples} == {"paired"}
    train, val = split_samples(samples, 0.15, seed=0)  # the set's splits.tsv wins over the fraction
    assert (len(train), len(val)) == (700, 195)
    for sample in samples[:3]:
        image, mask = load_pair(sample)
        assert image.shape == (640, 640, 3) and mask.shape == (640, 640)
        assert set(np.unique(mask).tolist()) <= {0, 1}
