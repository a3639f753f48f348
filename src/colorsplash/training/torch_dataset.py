"""In-memory training data: pairs decoded once, resized to the network's input, augmented per draw."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from colorsplash.evaluation.datasets import DataError, Sample, iter_pairs
from colorsplash.runtime.config import ModelConfig
from colorsplash.runtime.preprocess import normalize, resize_to_input
from colorsplash.training.augment import Augmenter
from colorsplash.training.copypaste import Paster

log = logging.getLogger(__name__)


def load_resized(
    samples: Sequence[Sample], size: int, skip_bad: bool = False, show_progress: bool = True
) -> tuple[np.ndarray, np.ndarray, list[Sample]]:
    """Decode every pair and resize it to ``size x size``.

    Returns:
        images: uint8 ``N x S x S x 3`` RGB; masks: uint8 ``N x S x S`` (0/1/255); the samples kept.

    Raises:
        DataError: on the first bad pair, unless ``skip_bad`` (then a warning summary is logged).
    """
    images, masks, kept = [], [], []
    for sample, image, mask in iter_pairs(samples, skip_bad, "loading", show_progress):
        images.append(resize_to_input(image, size))
        masks.append(cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST))
        kept.append(sample)
    if not kept:
        raise DataError("no usable image/mask pairs were found")
    return np.stack(images), np.stack(masks), kept


class SegmentationDataset(torch.utils.data.Dataset):
    """Yields ``(x, y)``: float32 ``3 x S x S`` normalised RGB and uint8 ``1 x S x S`` mask (0/1/255)."""

    def __init__(
        self,
        images: np.ndarray,
        masks: np.ndarray,
        config: ModelConfig,
        augmenter: Augmenter | None = None,
        paster: Paster | None = None,
    ) -> None:
        self.images, self.masks, self.config, self.augmenter = images, masks, config, augmenter
        self.paster = paster

    def __len__(self) -> int:
        return len(self.images)

    def reseed(self, seed: int) -> None:
        """Restart the augmentation's and the compositing's random draws from ``seed``."""
        if self.augmenter is not None:
            self.augmenter.reseed(seed)
        if self.paster is not None:
            self.paster.rng = np.random.default_rng(seed)

    def raw(self, index: int, force_paste: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The (composited, augmented) uint8 image ``SxSx3`` RGB and mask ``SxS`` before normalisation;
        ``force_paste``: paste a pet whenever ``index`` is a pet-free photo (for the overview)."""
        image, mask = self.images[index], self.masks[index]
        if self.paster is not None and self.paster.applies(index, force_paste):
            image, mask = self.paster(index, self.images, self.masks)
        if self.augmenter is not None:
            image, mask = self.augmenter(image, mask)
        return image, mask

    def overview_indices(self, count: int) -> list[int]:
        """Indices for ``overview.png``: the first photos, and half of them pet-free ones when pets get pasted
        (so the composites show)."""
        if self.paster is None or not self.paster.things:
            return list(range(min(count, len(self))))
        scenes = sorted(self.paster.things)[: count // 2]
        return list(range(min(count - len(scenes), len(self)))) + scenes

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.raw(index)
        x = normalize(image, self.config.normalization)
        return torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(mask))[None]
