"""Augmentation's random geometry goes both ways, and its brightness keeps colours' hue (``training/augment.py``):
a model trained on shifts and turns one way only, or on tinted photos, learns a bias that no photo has."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("albumentations")  # training's extra: skipped in the light runtime

from colorsplash.training.augment import Augmenter  # noqa: E402
from colorsplash.training.config import AugmentConfig  # noqa: E402

STILL = AugmentConfig(hflip=False, rotate_deg=0.0, shift=0.0, shear_deg=0.0, zoom=(1.0, 1.0), brightness=(1.0, 1.0))


def _bar() -> tuple[np.ndarray, np.ndarray]:
    """A horizontal bar across the middle of a 96x96 picture, and its mask."""
    mask = np.zeros((96, 96), np.uint8)
    mask[44:52, 16:80] = 1
    return np.dstack([mask * 200] * 3).astype(np.uint8), mask


def _draws(config: AugmentConfig, measure: object, n: int = 24) -> list[float]:
    augment, (image, mask) = Augmenter(config, seed=3), _bar()
    return [measure(augment(image, mask)[1]) for _ in range(n)]  # type: ignore[operator]


def _centre_x(mask: np.ndarray) -> float:
    return float(np.argwhere(mask == 1)[:, 1].mean()) - 47.5


def _angle(mask: np.ndarray) -> float:
    """The bar's angle from its second moments (degrees; the sign says which way it turned)."""
    yx = np.argwhere(mask == 1).astype(float)
    yx -= yx.mean(axis=0)
    cov = yx.T @ yx
    return float(np.degrees(0.5 * np.arctan2(2 * cov[0, 1], cov[1, 1] - cov[0, 0])))


def test_random_shifts_go_both_ways() -> None:
    moves = _draws(dataclasses.replace(STILL, shift=0.1), _centre_x)
    assert min(moves) < -2 and max(moves) > 2


def test_random_rotations_go_both_ways() -> None:
    turns = _draws(dataclasses.replace(STILL, rotate_deg=15.0), _angle)
    assert min(turns) < -3 and max(turns) > 3


def test_random_brightness_goes_both_ways_and_keeps_a_grey_grey() -> None:
    """Brightness (x0.5 to x1.2) makes photos darker and lighter, scaling all three channels alike: a grey stays
    grey, a colour keeps its hue."""
    augment, grey = Augmenter(dataclasses.replace(STILL, brightness=(0.5, 1.2)), seed=0), np.full((8, 8, 3), 128)
    outs = [augment(grey.astype(np.uint8), np.zeros((8, 8), np.uint8))[0] for _ in range(12)]
    assert min(out.mean() for out in outs) < 110 and max(out.mean() for out in outs) > 140  # darker and lighter
    assert all(np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2]) for out in outs)


def _width(mask: np.ndarray) -> float:
    xs = np.argwhere(mask == 1)[:, 1]
    return float(xs.max() - xs.min() + 1) if xs.size else 0.0


def test_random_zoom_goes_both_ways() -> None:
    widths = _draws(dataclasses.replace(STILL, zoom=(0.9, 1.25)), _width)
    assert min(widths) < 62 and max(widths) > 70  # the bar is 64 wide


def test_a_turned_or_shifted_photo_has_no_black_corners() -> None:
    """Where the turned or shifted photo leaves its frame, the frame is filled from the photo (reflected), not
    black: black corners, never in a real photo, teach the model a border."""
    augment = Augmenter(dataclasses.replace(STILL, rotate_deg=15.0, shift=0.1), seed=0)
    bright = np.full((64, 64, 3), 180, np.uint8)
    outs = [augment(bright, np.zeros((64, 64), np.uint8))[0] for _ in range(8)]
    assert all(out.min() == 180 for out in outs)
