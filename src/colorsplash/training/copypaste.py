"""Copy-paste compositing: pets cut out with their masks and pasted onto pet-free scene photos.

The pet model learned "the foreground of a pet photo". Pasting pets onto everyday photos, beside and in front of
the people and things those photos' object masks mark, teaches "the pet, not the owner", and sizes from a tenth
of the frame up teach small, distant pets. Everything works at the network's input size on uint8 arrays (RGB
``S x S x 3`` images, ``S x S`` masks with 0 background, 1 pet, 255 not scored) before the usual augmentation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from colorsplash.evaluation.datasets import IGNORE, Sample, is_pet_free, scene_masks
from colorsplash.runtime.photo_io import read_rgb
from colorsplash.training.config import AugmentConfig

MIN_PET_PIXELS = 64  # a donor with fewer pet pixels at the input size is too small to cut out
NEAR_OBJECT = 0.7  # share of pastes placed on or beside a labelled object (the rest anywhere)


@dataclass
class Paster:
    """Pastes one random donor pet onto pet-free photo ``index`` with probability ``probability``.

    Attributes:
        probability: chance that a draw of a pet-free photo becomes a composite.
        area: range of the pet's bounding box as a share of the frame (drawn log-uniformly).
        occlude: chance that the scene's labelled objects are put back over the pasted pet (the pet behind a
            person's arm or a chair), when enough of the pet stays visible.
        donors: dataset indices of photos with a pet to cut out.
        things: for each pet-free photo's dataset index, bool ``S x S``: its labelled objects (people, things).
    """

    probability: float
    area: tuple[float, float]
    occlude: float
    donors: list[int]
    things: dict[int, np.ndarray]
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def applies(self, index: int, force: bool = False) -> bool:
        """Whether draw ``index`` becomes a composite this time (always when ``force`` and it can)."""
        if index not in self.things or not self.donors:
            return False
        return force or bool(self.rng.random() < self.probability)

    def __call__(self, index: int, images: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The scene ``images[index]`` with a donor pet pasted in, and its label (pet 1, rest 0, pet rim 255)."""
        donor = self.donors[int(self.rng.integers(len(self.donors)))]
        return paste_pet(
            images[index], self.things[index], images[donor], masks[donor], self.rng, self.area, self.occlude
        )


def _cut_out(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box of the pet (mask 1): image crop and mask crop."""
    ys, xs = np.nonzero(mask == 1)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return image[y0:y1, x0:x1], mask[y0:y1, x0:x1]


def _scaled(crop: np.ndarray, label: np.ndarray, side: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize the cut-out so its box covers ``fraction`` of a ``side x side`` frame (never larger than it)."""
    h, w = label.shape
    scale = math.sqrt(fraction * side * side / (h * w))
    scale = min(scale, side / h, side / w)
    nh, nw = max(4, round(h * scale)), max(4, round(w * scale))
    return (
        cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_LINEAR),
        cv2.resize(label, (nw, nh), interpolation=cv2.INTER_NEAREST),
    )


def _place(things: np.ndarray, size: tuple[int, int], side: int, rng: np.random.Generator) -> tuple[int, int]:
    """Top-left corner: centred near a random pixel of a labelled object (on it or beside it), else anywhere."""
    h, w = size
    if things.any() and rng.random() < NEAR_OBJECT:
        ys, xs = np.nonzero(things)
        k = int(rng.integers(len(ys)))
        cy = ys[k] + rng.uniform(-0.6, 0.6) * h
        cx = xs[k] + rng.uniform(-0.6, 0.6) * w
        top, left = round(cy - h / 2), round(cx - w / 2)
    else:
        top, left = int(rng.integers(0, side - h + 1)), int(rng.integers(0, side - w + 1))
    return int(np.clip(top, 0, side - h)), int(np.clip(left, 0, side - w))


def paste_pet(
    scene: np.ndarray,
    things: np.ndarray,
    pet_image: np.ndarray,
    pet_mask: np.ndarray,
    rng: np.random.Generator,
    area: tuple[float, float] = (0.1, 0.8),
    occlude: float = 0.2,
) -> tuple[np.ndarray, np.ndarray]:
    """Paste the pet of ``pet_image``/``pet_mask`` onto ``scene`` (pet-free: its label is all 0).

    Args:
        scene: RGB uint8 ``S x S x 3``; things: bool ``S x S``, the scene's labelled objects.
        pet_image: RGB uint8 ``S x S x 3``; pet_mask: uint8 ``S x S`` (1 pet, 255 rim not scored, 0 background).
        area: the pasted box's share of the frame, drawn log-uniformly in this range.
        occlude: chance that the scene's objects are put back in front of the pet.

    Returns:
        The composite (RGB uint8 ``S x S x 3``) and its label (uint8 ``S x S``: 1 pet, 0 the rest, 255 on the
        pet's edge, feathered over about a pixel so no hard seam tells a pasted pet from a real one).
    """
    side = scene.shape[0]
    crop, label = _cut_out(pet_image, pet_mask)
    if rng.random() < 0.5:
        crop, label = crop[:, ::-1], label[:, ::-1]
    fraction = math.exp(rng.uniform(math.log(area[0]), math.log(area[1])))
    crop, label = _scaled(crop, label, side, fraction)
    top, left = _place(things, label.shape, side, rng)
    h, w = label.shape
    # Only sure pet pixels (1) are pasted: a donor's unsure rim (255) would bring a halo of its old background.
    alpha = cv2.GaussianBlur((label == 1).astype(np.float32), (3, 3), 0.8)
    out = scene.copy()
    window = out[top : top + h, left : left + w].astype(np.float32)
    a3 = alpha[..., None]
    out[top : top + h, left : left + w] = np.round(a3 * crop + (1 - a3) * window).astype(np.uint8)
    out_mask = np.zeros(scene.shape[:2], np.uint8)
    out_mask[top : top + h, left : left + w] = np.where(alpha >= 0.999, 1, np.where(alpha > 0.001, IGNORE, 0))
    if rng.random() < occlude:
        _occlude(out, out_mask, scene, things)
    return out, out_mask


def _occlude(out: np.ndarray, out_mask: np.ndarray, scene: np.ndarray, things: np.ndarray) -> None:
    """Put the scene's objects back in front of the pet (in place), unless that hides over 70 % of it."""
    pet = out_mask == 1
    hidden = pet & things
    if not pet.any() or hidden.sum() > 0.7 * pet.sum() or not hidden.any():
        return
    out[things] = scene[things]
    out_mask[things] = 0


def make_paster(
    samples: Sequence[Sample], masks: np.ndarray, config: AugmentConfig, size: int, seed: int
) -> Paster | None:
    """The :class:`Paster` of a training set (``None`` when ``config.copy_paste`` is 0 or nothing to paste).

    Args:
        samples: the training samples, in the order of ``masks`` (pet-free scenes are the backgrounds).
        masks: uint8 ``N x S x S`` training labels (photos with enough pet pixels are the donors).
    """
    if config.copy_paste <= 0:
        return None
    donors = [i for i, s in enumerate(samples) if s.kind != "scene" and int((masks[i] == 1).sum()) >= MIN_PET_PIXELS]
    things = {i: _things_at(s, size) for i, s in enumerate(samples) if is_pet_free(s)}
    if not donors or not things:
        return None
    return Paster(
        config.copy_paste, config.paste_area, config.paste_occlude, donors, things, np.random.default_rng(seed)
    )


def _things_at(sample: Sample, size: int) -> np.ndarray:
    """The scene's labelled objects as bool ``size x size`` (resized like its photo)."""
    h, w = read_rgb(sample.image).shape[:2]
    _, things = scene_masks(sample, (h, w))
    small = cv2.resize(things.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    return small.astype(bool)
