"""EXIF orientation: which turn a picture still needs once opened or loaded (Pillow turns TIFFs itself), and
turning pixels by it (a Pillow image, or an array of any dtype) without writing the EXIF again.
"""

from __future__ import annotations

import functools
import io

import cv2
import numpy as np
from PIL import Image

from colorsplash.runtime.pictures.photo_meta import ORIENTATION_TAG
from colorsplash.runtime.pictures.picture_open import warnings_as_notes

__all__ = ["orient_pixels", "pending_orientation", "upright"]

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def pending_orientation(img: Image.Image, header_size: bool = False) -> int:
    """The EXIF orientation (1-8) that the caller must still apply to ``img``'s pixels once loaded or, with
    ``header_size``, to its ``size`` as opened (before loading).

    Pillow turns a TIFF upright by itself, in one of two ways by version: Pillow 11 and later have the upright
    ``size`` from the header on, and loading applies the tag; Pillow 10 opens with the stored size and turns pixels
    and size while loading. Applying the tag again would turn the picture twice, so a TIFF reads 1 for whichever
    part this Pillow turns itself (:func:`_pillow_turns_tiff`). Pillow's warnings on damaged EXIF are dropped here
    (the header reads of the pipeline, masks): :func:`colorsplash.runtime.pictures.photo_io.decode_image_bytes` reads
    the EXIF first and notes them.
    """
    with warnings_as_notes("", []):  # damaged EXIF: noted by the decode, which reads it first; no line on stderr
        orientation = img.getexif().get(ORIENTATION_TAG, 1)  # kept by Pillow: a TIFF's loading reads it again
    if img.format == "TIFF" and _pillow_turns_tiff()[0 if header_size else 1]:
        return 1
    return orientation if orientation in range(1, 9) else 1


@functools.cache
def _pillow_turns_tiff() -> tuple[bool, bool]:
    """Whether this Pillow turns TIFFs upright itself (its ``size`` as opened, its pixels once loaded): a 2x1 TIFF
    tagged "rotate 90" opens, and loads, 1x2 where it does."""
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6
    buffer = io.BytesIO()
    Image.new("L", (2, 1)).save(buffer, "TIFF", exif=exif)
    with Image.open(buffer) as probe:
        at_open = probe.size == (1, 2)
        probe.load()
        return at_open, probe.size == (1, 2)


def upright(img: Image.Image, orientation: int) -> Image.Image:
    """A loaded picture turned by EXIF ``orientation`` (1-8, from :func:`pending_orientation`); ``img`` itself for
    1. Its pixels only: unlike ``ImageOps.exif_transpose``, its EXIF is not written again (which fails on a tag
    whose value does not fit its type, in a photo that reads otherwise)."""
    return img.transpose(_TRANSPOSE[orientation]) if orientation in _TRANSPOSE else img


def orient_pixels(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF ``orientation`` (1-8) to an ``HxW`` or ``HxWxC`` array of any dtype (an RGB photo, a mask), as
    Pillow's ``ImageOps.exif_transpose`` does: the same dtype, values and channel order, ``WxH`` when turned."""
    if orientation in (5, 6, 7, 8):
        rgb = cv2.transpose(rgb)  # swaps x and y; the flips below complete each rotation
    flip = {2: 1, 3: -1, 4: 0, 6: 1, 7: -1, 8: 0}.get(orientation)
    return rgb if flip is None else cv2.flip(rgb, flip)
