"""Joint image/mask augmentation through albumentations (geometry on both, photometry on the image only)."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np

from colorsplash.evaluation.datasets import IGNORE
from colorsplash.training.config import AugmentConfig


class Augmenter:
    """Callable applying the same random geometry to an image and its mask.

    The defaults follow the seed: horizontal flip, rotation +-15 deg, shift 10 %, small shear, zoom 0.9-1.25
    with reflect fill, brightness x0.5-1.2 on the image only. Masks use nearest-neighbour interpolation so
    the :data:`~colorsplash.evaluation.datasets.IGNORE` label survives.
    """

    def __init__(self, config: AugmentConfig, seed: int | None = None) -> None:
        self.config = config
        self.pipeline = build_pipeline(config, seed)

    def reseed(self, seed: int) -> None:
        """Restart the random draws from ``seed`` (in training, each photo of each epoch gets its own: see
        :func:`colorsplash.training.torch_dataset.draw_seed`)."""
        self.pipeline.set_random_seed(seed)

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RGB uint8 ``HxWx3`` and uint8 ``HxW`` in, same shapes and dtypes out."""
        if not self.config.enabled:
            return image, mask
        out = self.pipeline(image=image, mask=mask)
        return out["image"], out["mask"]


def build_pipeline(cfg: AugmentConfig, seed: int | None = None) -> A.Compose:
    lo, hi = cfg.brightness
    transforms: list[A.BasicTransform] = []
    if cfg.hflip:
        transforms.append(A.HorizontalFlip(p=0.5))
    transforms.append(
        A.Affine(
            scale=cfg.zoom,
            translate_percent=(-cfg.shift, cfg.shift),
            rotate=(-cfg.rotate_deg, cfg.rotate_deg),
            shear=(-cfg.shear_deg, cfg.shear_deg),
            interpolation=cv2.INTER_LINEAR,
            mask_interpolation=cv2.INTER_NEAREST,
            border_mode=cv2.BORDER_REFLECT_101,
            p=0.9,
        )
    )
    # Brightness as one multiplicative factor on the image only (the seed scaled HSV value by 0.5-1.2);
    # albumentations applies pixel-level transforms to the image, never to the mask.
    transforms.append(A.MultiplicativeNoise(multiplier=(lo, hi), per_channel=False, elementwise=False, p=0.8))
    if cfg.color_jitter:
        transforms.append(A.ColorJitter(brightness=0.0, contrast=0.2, saturation=0.3, hue=0.03, p=0.5))
        transforms.append(A.GaussNoise(std_range=(0.01, 0.04), p=0.2))
    transforms.extend(_degradations(cfg))
    return A.Compose(transforms, seed=seed)


def _degradations(cfg: AugmentConfig) -> list[A.BasicTransform]:
    """Image-only blur, JPEG artefacts and lost resolution, as in phone photos and web copies."""
    out: list[A.BasicTransform] = []
    if cfg.blur > 0:
        out.append(A.GaussianBlur(sigma_limit=(0.5, 2.0), p=cfg.blur))
    if cfg.downscale > 0:
        out.append(
            A.Downscale(
                scale_range=(0.4, 0.9),
                p=cfg.downscale,
                interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR},
            )
        )
    if cfg.jpeg > 0:
        out.append(A.ImageCompression(quality_range=(40, 95), p=cfg.jpeg))
    return out


__all__ = ["Augmenter", "build_pipeline", "IGNORE"]
