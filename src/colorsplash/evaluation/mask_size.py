"""A decoded mask fitted to its upright photo: turned when it was drawn on the photo's stored pixels, stretched
when only the scale differs, else an error that says why.

The rule for a photo shown turned or mirrored by its EXIF orientation (2-8): a mask is read as the photo is shown
(upright), as CVAT (since 2.0), labelme and Label Studio show the photo to whoever draws it. A mask that carries
an EXIF orientation of its own is turned by it, like a photo. An untagged mask whose shape is only the stored
pixels' (a photo stored sideways, orientation 5-8, not square) was drawn on them, by a tool that ignores the tag:
it is turned as the photo is. Where the shape cannot tell (orientations 2-4, which keep the shape; a square photo)
the mask is read upright and :func:`fit_to_photo` says so, for one warning per run (:data:`UNSURE`;
:class:`~colorsplash.evaluation.read_notes.ReadNotes`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from colorsplash.evaluation.folders import DataError, file_names
from colorsplash.evaluation.mask_read import ReadLabels
from colorsplash.runtime.pictures.photo_io import orient_pixels

log = logging.getLogger(__name__)

TURNING_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height when the photo is shown
TURNED, UNSURE = "turned", "unsure"  # notes of fit_to_photo: drawn on the stored pixels / cannot be told
# A mask stretched to its photo is a drawn mask saved smaller, not a few pixels (a 1x1 or 8x8 picture "fits" any
# square photo): under MIN_DRAWN_SIDE pixels on its shorter side it may be stretched at most MAX_SMALL_STRETCH times.
MIN_DRAWN_SIDE, MAX_SMALL_STRETCH = 32, 4


def same_shape_scaled(mask_hw: tuple[int, int], image_hw: tuple[int, int]) -> bool:
    """Whether a ``mask_hw`` (height, width) mask is the ``image_hw`` photo at another scale, to a pixel: one scale
    ``s`` puts each side within a pixel of the photo's (``|mh - h*s| < 1`` and ``|mw - w*s| < 1``), however a resize
    rounded each side (down, as ``w // 2``; up; to nearest). Exact integer arithmetic, no float ties."""
    (mh, mw), (h, w) = mask_hw, image_hw
    if mh <= 0 or mw <= 0:
        return False
    # the scales each side allows, (mh - 1) / h < s < (mh + 1) / h and the same for the width, must overlap
    return (mh - 1) * w < (mw + 1) * h and (mw - 1) * h < (mh + 1) * w


def _fits(mask_hw: tuple[int, int], image_hw: tuple[int, int]) -> bool:
    return mask_hw == image_hw or same_shape_scaled(mask_hw, image_hw)


def fit_mask(mask: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray | None:
    """A decoded mask (uint8 ``HxW``: 0, 1, IGNORE) stretched to ``image_hw`` by nearest neighbour (labels stay
    labels) when it is the photo at another scale, else ``None``."""
    if not same_shape_scaled((mask.shape[0], mask.shape[1]), image_hw):
        return None
    return cv2.resize(mask, (image_hw[1], image_hw[0]), interpolation=cv2.INTER_NEAREST)


def fit_to_photo(
    read: ReadLabels, mask_path: Path, image_path: Path, image_hw: tuple[int, int], orientation: int
) -> tuple[np.ndarray, str | None]:
    """The decoded mask ``read`` of ``mask_path`` (its labels: uint8 ``HxW``, upright by its own EXIF orientation,
    which it gives too: :func:`~colorsplash.evaluation.mask_read.read_labels`) fitted to the upright photo
    ``image_path`` of ``image_hw``, which its EXIF ``orientation`` (1-8, as
    :func:`~colorsplash.runtime.pictures.photo_io.read_rgb_oriented` read it with the photo) turned upright; and a note:
    :data:`TURNED` (drawn on the stored pixels, turned as the photo is), :data:`UNSURE` (the photo is turned or
    mirrored and the shape cannot tell: read upright) or ``None``. The rule: this module's docstring.

    Raises:
        DataError: the mask is not the photo at any scale (naming both files, the sizes and what to do).
    """
    mask, note = read.labels, None
    if orientation != 1 and read.orientation == 1:
        mask_hw = (mask.shape[0], mask.shape[1])
        stored_hw = image_hw[::-1] if orientation in TURNING_ORIENTATIONS else image_hw
        upright, stored = _fits(mask_hw, image_hw), _fits(mask_hw, stored_hw)
        if stored and not upright:
            mask, note = np.ascontiguousarray(orient_pixels(mask, orientation)), TURNED
        elif stored and upright:
            note = UNSURE
    if mask.shape == image_hw:
        return mask, note
    _refuse_tiny(mask.shape[:2], mask_path, image_path, image_hw)
    fitted = fit_mask(mask, image_hw)
    if fitted is None:
        raise DataError(
            f"{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]} but its image {image_path} is "
            f"{image_hw[1]}x{image_hw[0]}; {size_advice(mask.shape[:2], image_hw)}",
            "size mismatch",
            skippable=True,
        )
    return fitted, note


def warn_orientations(notes: Mapping[str, Sequence[Path]]) -> None:
    """Say which photos :func:`fit_to_photo` noted (``{note: photos}``; once per run, by
    :meth:`~colorsplash.evaluation.read_notes.ReadNotes.say`): a warning for the :data:`UNSURE` ones (what was
    assumed, how to settle it), a line for the :data:`TURNED` ones."""
    if notes.get(TURNED):
        log.info(
            "%d mask(s) have the shape of their photo's stored, sideways pixels (drawn without its EXIF orientation) "
            "and were turned as the photo is shown: %s",
            len(notes[TURNED]),
            file_names(notes[TURNED]),
        )
    if notes.get(UNSURE):
        log.warning(
            "%d photo(s) are shown turned or mirrored by their EXIF orientation, and their masks' shape cannot tell "
            "whether a mask was drawn on the photo as shown or on its stored pixels: %s. They are read as the photo "
            "is shown (as CVAT, labelme and Label Studio show it). To settle it, save such photos with orientation "
            "1: their pixels written upright (exiftran -ai PHOTO) when the masks were drawn upright, or only the "
            "tag set to 1 (exiftool -n -Orientation=1 PHOTO) when they were drawn on the stored pixels",
            len(notes[UNSURE]),
            file_names(notes[UNSURE]),
        )


def _refuse_tiny(mask_hw: tuple[int, ...], mask_path: Path, image_path: Path, image_hw: tuple[int, int]) -> None:
    """Raise :class:`DataError` when a ``mask_hw`` mask is too small to be a drawn mask of its ``image_hw`` photo
    (:data:`MIN_DRAWN_SIDE`, :data:`MAX_SMALL_STRETCH`)."""
    stretch = max(image_hw[0] / mask_hw[0], image_hw[1] / mask_hw[1])
    if min(mask_hw) < MIN_DRAWN_SIDE and stretch > MAX_SMALL_STRETCH:
        raise DataError(
            f"{mask_path}: mask is {mask_hw[1]}x{mask_hw[0]}, too small to be a drawn mask of its image {image_path} "
            f"({image_hw[1]}x{image_hw[0]}, {stretch:.0f} times larger); save the mask at the photo's size, or at "
            f"least {MIN_DRAWN_SIDE} pixels on its shorter side",
            "mask too small",
            skippable=True,
        )


def size_advice(mask_hw: tuple[int, int], image_hw: tuple[int, int]) -> str:
    """Why a mask of ``mask_hw`` may not fit an upright photo of ``image_hw``, and what to do."""
    if same_shape_scaled((mask_hw[1], mask_hw[0]), image_hw):
        return "the mask is the photo turned sideways: save it upright, as the photo is shown"
    return "masks must show their photo at its size (or the same shape at another scale)"
