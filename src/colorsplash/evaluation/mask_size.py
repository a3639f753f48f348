"""A mask whose size is not its photo's: stretched when only the scale differs, else an error that says why.

Masks are read upright (EXIF orientation applied, like their photos), so a mask drawn on a sideways-stored photo's
raw pixels has the photo's size turned by 90 degrees; :func:`size_advice` says so instead of only the two sizes.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from colorsplash.runtime.photo_io import ORIENTATION_TAG

TURNING_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height when the photo is shown


def same_shape_scaled(mask_hw: tuple[int, int], image_hw: tuple[int, int]) -> bool:
    """Whether a ``mask_hw`` (height, width) mask is the ``image_hw`` photo at another scale (to a pixel)."""
    (mh, mw), (h, w) = mask_hw, image_hw
    return mh > 0 and mw > 0 and (round(mw * h / w) == mh or round(mh * w / h) == mw)


def fit_mask(mask: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray | None:
    """A decoded mask (uint8 ``HxW``: 0, 1, IGNORE) stretched to ``image_hw`` by nearest neighbour (labels stay
    labels) when it is the photo at another scale, else ``None``."""
    if not same_shape_scaled((mask.shape[0], mask.shape[1]), image_hw):
        return None
    return cv2.resize(mask, (image_hw[1], image_hw[0]), interpolation=cv2.INTER_NEAREST)


def size_advice(image: Path, mask_hw: tuple[int, int], image_hw: tuple[int, int]) -> str:
    """Why a mask of ``mask_hw`` may not fit the upright photo ``image`` of ``image_hw``, and what to do."""
    if not same_shape_scaled((mask_hw[1], mask_hw[0]), image_hw):
        return "masks must show their photo at its size (or the same shape at another scale)"
    orientation = _orientation(image)
    if orientation in TURNING_ORIENTATIONS:
        return (
            f"the photo is shown turned (EXIF orientation {orientation}) and the mask has the shape of its stored, "
            "sideways pixels: save the mask upright, as the photo is shown"
        )
    return "the mask is the photo turned sideways: save it upright, as the photo is shown"


def _orientation(path: Path) -> int:
    try:
        with Image.open(path) as img:
            return int(img.getexif().get(ORIENTATION_TAG, 1))
    except (OSError, UnidentifiedImageError, ValueError, TypeError):
        return 1
