"""Augmentation keeps image and mask aligned, changes brightness of the image only, and can be switched off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("albumentations")  # training's extra: skipped in the light runtime

from colorsplash.evaluation.datasets import IGNORE  # noqa: E402
from colorsplash.training.augment import Augmenter  # noqa: E402
from colorsplash.training.config import AugmentConfig  # noqa: E402

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


def _loader_draws(workers: int, epoch: int, rank: int = 0, world: int = 1) -> list[bytes]:
    """Every augmented image one epoch of ``make_loader`` yields for 8 copies of the same photo (process ``rank`` of
    ``world``: its share of them), sorted (the draws, not the order the loader shuffled them into)."""
    pytest.importorskip("torch")
    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.training.config import TrainConfig
    from colorsplash.training.distributed import Dist
    from colorsplash.training.steps import make_loader
    from colorsplash.training.torch_dataset import SegmentationDataset

    photo = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    images, masks = np.repeat(photo[None], 8, axis=0), np.zeros((8, 32, 32), np.uint8)
    ds = SegmentationDataset(images, masks, ModelConfig(input_size=32), Augmenter(AugmentConfig(), seed=0))
    cfg = TrainConfig(batch_size=1, num_workers=workers, seed=0)
    return sorted(bytes(x.numpy().round(3).tobytes()) for x, _ in make_loader(ds, cfg, Dist(rank, world), epoch))


def test_every_epoch_worker_and_process_draws_its_own_augmentations() -> None:
    """Loader workers used to copy one random state: the same few augmentations every epoch (audit). Each photo of
    an epoch now has its own draws, whichever worker or process loads it."""
    for workers in (0, 2):
        one, two = _loader_draws(workers, 0), _loader_draws(workers, 1)
        assert len(set(one + two)) >= 14, workers  # 8 copies of one photo, 2 epochs: 16 draws (a rare no-op twice)
    assert _loader_draws(0, 1) == _loader_draws(0, 1)  # an epoch's draws depend on the epoch, not on history:
    assert _loader_draws(0, 1) == _loader_draws(2, 1)  # a resumed run repeats them; -j changes nothing
    assert set(_loader_draws(0, 0, rank=1, world=2)).isdisjoint(_loader_draws(0, 0, rank=0, world=2))
