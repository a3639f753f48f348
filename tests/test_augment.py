"""Augmentation keeps image and mask aligned, changes brightness of the image only, and can be switched off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from colorsplash.evaluation.datasets import IGNORE
from colorsplash.training.augment import Augmenter
from colorsplash.training.config import AugmentConfig

# Geometry off, brightness off: the base for tests that switch one thing on.
STILL = AugmentConfig(hflip=False, rotate_deg=0.0, shift=0.0, shear_deg=0.0, zoom=(1.0, 1.0), brightness=(1.0, 1.0))


def _shape_picture(h: int = 64, w: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Dark textured background with a pure red off-centre L shape; mask 1 on the shape, IGNORE on its rim."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 40, (h, w, 3)).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[12:40, 14:24] = 1
    mask[32:40, 14:46] = 1
    image[mask == 1] = (255, 0, 0)
    mask[50:52, 50:70] = IGNORE
    return image, mask


def _red(image: np.ndarray) -> np.ndarray:
    r, g = image[..., 0].astype(int), image[..., 1].astype(int)
    return (r > 100) & (r - g > 80)


def test_geometry_keeps_image_and_mask_aligned() -> None:
    image, mask = _shape_picture()
    augment = Augmenter(AugmentConfig(), seed=1)
    moved = 0
    for _ in range(25):
        out_image, out_mask = augment(image, mask)
        assert out_image.shape == image.shape and out_image.dtype == np.uint8
        assert out_mask.shape == mask.shape and out_mask.dtype == np.uint8
        assert set(np.unique(out_mask)) <= {0, 1, IGNORE}  # nearest-neighbour: no blended labels
        red, subject = _red(out_image), out_mask == 1
        # Bilinear image vs nearest mask may differ on a one-pixel rim; everything else must coincide.
        overlap = np.count_nonzero(red & subject) / np.count_nonzero(red | subject)
        assert overlap > 0.85, f"image and mask drifted apart (overlap {overlap:.2f})"
        moved += not np.array_equal(out_mask, mask)
    assert moved >= 15, "the default augmentation should move the picture most of the time"


def test_horizontal_flip_moves_both() -> None:
    image, mask = _shape_picture()
    augment = Augmenter(dataclasses.replace(STILL, hflip=True), seed=0)
    flips = 0
    for _ in range(20):
        out_image, out_mask = augment(image, mask)
        flipped = np.array_equal(out_mask, mask[:, ::-1])
        assert flipped or np.array_equal(out_mask, mask)
        assert np.array_equal(out_image, image[:, ::-1] if flipped else image)
        flips += flipped
    assert 0 < flips < 20


def test_brightness_changes_the_image_only() -> None:
    image, mask = _shape_picture()
    augment = Augmenter(dataclasses.replace(STILL, brightness=(0.5, 0.5)), seed=0)
    darkened = 0
    for _ in range(20):
        out_image, out_mask = augment(image, mask)
        assert np.array_equal(out_mask, mask)
        if not np.array_equal(out_image, image):
            assert abs(float(out_image.mean()) - 0.5 * float(image.mean())) < 1.0
            darkened += 1
    assert darkened > 0


def test_switch_off_returns_inputs_unchanged() -> None:
    image, mask = _shape_picture()
    augment = Augmenter(AugmentConfig(enabled=False), seed=0)
    for _ in range(3):
        out_image, out_mask = augment(image, mask)
        assert np.array_equal(out_image, image) and np.array_equal(out_mask, mask)


def test_seeded_augmenters_repeat() -> None:
    image, mask = _shape_picture()
    a, b = Augmenter(AugmentConfig(), seed=7), Augmenter(AugmentConfig(), seed=7)
    for _ in range(3):
        (ia, ma), (ib, mb) = a(image, mask), b(image, mask)
        assert np.array_equal(ia, ib) and np.array_equal(ma, mb)


def _detail(image: np.ndarray) -> float:
    """Mean absolute difference between horizontal neighbours: falls when a picture is blurred or resampled."""
    return float(np.abs(np.diff(image.astype(np.int16), axis=1)).mean())


@pytest.mark.parametrize("name", ["blur", "jpeg", "downscale"])
def test_degradations_touch_the_image_only_and_lose_detail(name: str) -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (64, 80, 3)).astype(np.uint8)  # pure noise: every degradation smooths it
    _, mask = _shape_picture()
    augment = Augmenter(dataclasses.replace(STILL, **{name: 1.0}), seed=0)
    for _ in range(5):
        out_image, out_mask = augment(image, mask)
        assert np.array_equal(out_mask, mask)
        assert out_image.shape == image.shape and out_image.dtype == np.uint8
        assert _detail(out_image) < 0.9 * _detail(image), f"{name} left the image's detail as it was"


def test_degradations_are_off_by_default() -> None:
    image, mask = _shape_picture()
    out_image, _ = Augmenter(STILL, seed=0)(image, mask)
    assert np.array_equal(out_image, image)
