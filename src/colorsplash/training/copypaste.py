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

from colorsplash.evaluation.datasets import IGNORE, Sample, is_subject_free, scene_masks
from colorsplash.runtime.model.config import DEFAULT_PAD_ASPECT
from colorsplash.runtime.model.preprocess import fit_to_input
from colorsplash.runtime.pictures.photo_io import read_rgb
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
        count: most pets per composite (1 to ``count``, uniformly): later ones are placed on or beside the
            scene's objects *or the pets already pasted* (two cats nose to nose, one in front of the other).
        cut: chance that a pet is placed partly outside the frame (a pet cut by the photo's edge).
        blur: chance that a pet is pasted out of focus (a Gaussian blur of 1-3 px at the input size, its edge
            softened alike and not scored), like the cats behind the sharp one in real photos.
        donors: dataset indices of photos with a pet to cut out.
        things: for each pet-free photo's dataset index, bool ``S x S``: its labelled objects (people, things).
    """

    probability: float
    area: tuple[float, float]
    occlude: float
    donors: list[int]
    things: dict[int, np.ndarray]
    count: int = 1
    cut: float = 0.0
    blur: float = 0.0
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def applies(self, index: int, force: bool = False) -> bool:
        """Whether draw ``index`` becomes a composite this time (always when ``force`` and it can)."""
        if index not in self.things or not self.donors:
            return False
        return force or bool(self.rng.random() < self.probability)

    def __call__(self, index: int, images: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The scene ``images[index]`` with 1 to ``count`` donor pets pasted in, and its label (pet 1, rest 0,
        pet rims 255)."""
        image, label = images[index], np.zeros(images[index].shape[:2], np.uint8)
        pets = int(self.rng.integers(1, self.count + 1))
        # Several pets share the frame: each one's box at most 1/n of the largest single pet's.
        area = (min(self.area[0], self.area[1] / pets), self.area[1] / pets)
        for _ in range(pets):
            donor = self.donors[int(self.rng.integers(len(self.donors)))]
            image, label = paste_pet(
                image, self.things[index], images[donor], masks[donor], self.rng, area, self.occlude,
                label=label, cut=self.cut, blur=self.blur,
            )  # fmt: skip
        return image, label


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


def _place(
    things: np.ndarray, size: tuple[int, int], side: int, rng: np.random.Generator, cut: bool = False
) -> tuple[int, int]:
    """Top-left corner: centred near a random pixel of a labelled object (on it or beside it), else anywhere.
    Inside the frame, unless ``cut``: then up to half the box may lie outside it (negative corners allowed)."""
    h, w = size
    if cut:
        return int(rng.integers(-h // 2, side - h // 2 + 1)), int(rng.integers(-w // 2, side - w // 2 + 1))
    if things.any() and rng.random() < NEAR_OBJECT:
        ys, xs = np.nonzero(things)
        k = int(rng.integers(len(ys)))
        cy = ys[k] + rng.uniform(-0.6, 0.6) * h
        cx = xs[k] + rng.uniform(-0.6, 0.6) * w
        top, left = round(cy - h / 2), round(cx - w / 2)
    else:
        top, left = _anywhere(side, h, rng), _anywhere(side, w, rng)
    # Inside the frame; a box larger than the frame (a frame-filling pet with its soft margin) overhangs it.
    return int(np.clip(top, min(0, side - h), max(0, side - h))), int(np.clip(left, min(0, side - w), max(0, side - w)))


def _anywhere(side: int, n: int, rng: np.random.Generator) -> int:
    """A random start of an ``n``-pixel span inside ``side`` pixels (centred when it does not fit)."""
    return int(rng.integers(0, side - n + 1)) if n <= side else (side - n) // 2


def paste_pet(
    scene: np.ndarray,
    things: np.ndarray,
    pet_image: np.ndarray,
    pet_mask: np.ndarray,
    rng: np.random.Generator,
    area: tuple[float, float] = (0.1, 0.8),
    occlude: float = 0.2,
    label: np.ndarray | None = None,
    cut: float = 0.0,
    blur: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Paste the pet of ``pet_image``/``pet_mask`` onto ``scene``.

    Args:
        scene: RGB uint8 ``S x S x 3``; things: bool ``S x S``, the scene's labelled objects.
        pet_image: RGB uint8 ``S x S x 3``; pet_mask: uint8 ``S x S`` (1 pet, 255 rim not scored, 0 background).
        area: the pasted box's share of the frame, drawn log-uniformly in this range.
        occlude: chance that the scene's objects are put back in front of the pet.
        label: the scene's label so far (uint8 ``S x S``, pets pasted before), ``None``: all 0 (pet-free). The
            new pet is placed on or beside those pets too, and in front of them.
        cut: chance that the pet is placed partly outside the frame.
        blur: chance that the pet is pasted out of focus (Gaussian blur, sigma 1-3 px, edge alike).

    Returns:
        The composite (RGB uint8 ``S x S x 3``) and its label (uint8 ``S x S``: 1 pet, 0 the rest, 255 on the
        pet's edge, feathered over about a pixel so no hard seam tells a pasted pet from a real one).
    """
    side = scene.shape[0]
    before = np.zeros(scene.shape[:2], np.uint8) if label is None else label
    crop, cut_label = _cut_out(pet_image, pet_mask)
    if rng.random() < 0.5:
        crop, cut_label = crop[:, ::-1], cut_label[:, ::-1]
    fraction = math.exp(rng.uniform(math.log(area[0]), math.log(area[1])))
    crop, cut_label = _scaled(crop, cut_label, side, fraction)
    sigma = float(rng.uniform(1.0, 3.0)) if blur > 0 and rng.random() < blur else 0.0
    crop, cut_label, alpha_box = _soft_pet(crop, cut_label, sigma)
    anchors = things | (before == 1)
    top, left = _place(anchors, cut_label.shape, side, rng, cut=bool(cut > 0 and rng.random() < cut))
    out, out_mask, pet = _blend_in(scene, before, crop, alpha_box, (top, left))
    if rng.random() < occlude:
        _occlude(out, out_mask, scene, things, pet, before)
    return out, out_mask


def _blend_in(
    scene: np.ndarray, before: np.ndarray, crop: np.ndarray, alpha_box: np.ndarray, at: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pet's box (``crop`` RGB uint8, ``alpha_box`` float32 in [0, 1]) blended onto a copy of ``scene`` with
    its top-left corner at ``at`` (may lie outside the frame): (composite, label, bool ``S x S`` of the pet's
    opaque pixels). Only the part of the box inside the frame is blended and labelled; the rest stays as it was."""
    box, part = _overlap(at[0], at[1], alpha_box.shape, scene.shape[0])
    alpha = alpha_box[part]
    a3 = alpha[..., None]
    out = scene.copy()
    out[box] = np.round(a3 * crop[part] + (1 - a3) * scene[box]).astype(np.uint8)
    out_mask = before.copy()
    out_mask[box] = np.where(alpha >= 0.999, 1, np.where(alpha > 0.001, IGNORE, before[box]))
    pet = np.zeros(scene.shape[:2], bool)
    pet[box] = alpha >= 0.999
    return out, out_mask, pet


def _soft_pet(crop: np.ndarray, label: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cut-out with a margin of background (so its edge can soften at the box's sides too) and its alpha:
    sure pet pixels (1) feathered over about a pixel, or blurred by ``sigma`` px when out of focus (the colours
    blurred over pet pixels only, so no halo of the donor's old background). Returns (RGB uint8 crop, uint8 label,
    float32 alpha in [0, 1]), all with the margin."""
    margin = math.ceil(3 * sigma) + 1 if sigma else 2
    crop = cv2.copyMakeBorder(crop, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
    label = cv2.copyMakeBorder(label, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
    # Only sure pet pixels (1) are pasted: a donor's unsure rim (255) would bring a halo of its old background.
    sure = (label == 1).astype(np.float32)
    if not sigma:
        return crop, label, cv2.GaussianBlur(sure, (3, 3), 0.8)
    alpha = cv2.GaussianBlur(sure, (0, 0), sigma)
    colour = cv2.GaussianBlur(crop.astype(np.float32) * sure[..., None], (0, 0), sigma)
    colour /= np.maximum(alpha, 1e-6)[..., None]
    return np.clip(colour, 0, 255).astype(np.uint8), label, alpha


def _overlap(top: int, left: int, size: tuple[int, int], side: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """The part of a ``size`` box at ``(top, left)`` inside a ``side x side`` frame: frame slices, box slices."""
    h, w = size
    y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + h, side), min(left + w, side)
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))


def _occlude(
    out: np.ndarray, out_mask: np.ndarray, scene: np.ndarray, things: np.ndarray, pet: np.ndarray, before: np.ndarray
) -> None:
    """Put the scene's objects back in front of the new ``pet`` (in place), unless that hides over 70 % of it.
    Where they return, so does the label from ``before`` (a pet pasted earlier over a person stays a pet)."""
    hidden = pet & things
    if not pet.any() or hidden.sum() > 0.7 * pet.sum() or not hidden.any():
        return
    out[things] = scene[things]
    out_mask[things] = before[things]


def make_paster(
    samples: Sequence[Sample],
    masks: np.ndarray,
    config: AugmentConfig,
    size: int,
    seed: int,
    pad_aspect: float = DEFAULT_PAD_ASPECT,
) -> Paster | None:
    """The :class:`Paster` of a training set (``None`` when ``config.copy_paste`` is 0 or nothing to paste).

    Args:
        samples: the training samples, in the order of ``masks`` (pet-free scenes are the backgrounds).
        masks: uint8 ``N x S x S`` training labels (photos with enough pet pixels are the donors).
        pad_aspect: the model config's (:attr:`~colorsplash.runtime.model.config.ModelConfig.pad_aspect`): the scenes'
            object masks are fitted to the input as their photos were by the loader.
    """
    if config.copy_paste <= 0:
        return None
    donors = [i for i, s in enumerate(samples) if s.kind != "scene" and int((masks[i] == 1).sum()) >= MIN_PET_PIXELS]
    things = {i: _things_at(s, size, pad_aspect) for i, s in enumerate(samples) if is_subject_free(s)}
    if not donors or not things:
        return None
    return Paster(
        config.copy_paste,
        config.paste_area,
        config.paste_occlude,
        donors,
        things,
        config.paste_count,
        config.paste_cut,
        config.paste_blur,
        np.random.default_rng(seed),
    )


def _things_at(sample: Sample, size: int, pad_aspect: float) -> np.ndarray:
    """The scene's labelled objects as bool ``size x size``, fitted like its photo
    (:func:`~colorsplash.runtime.model.preprocess.fit_to_input`: a wide or tall scene's padding holds no object)."""
    h, w = read_rgb(sample.image).shape[:2]
    _, things = scene_masks(sample, (h, w))
    return fit_to_input(things.astype(np.uint8), size, pad_aspect, 0, nearest=True).astype(bool)
