"""Mask files to labels: :func:`read_grey` reads a mask or trimap file's values, :func:`decode_mask` turns them
into 0 background, 1 subject, :data:`~colorsplash.evaluation.metrics.IGNORE` unscored (the rules of each layout:
:mod:`colorsplash.evaluation.datasets`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from colorsplash.evaluation.metrics import IGNORE
from colorsplash.runtime.photo_io import open_image, own_transparency, to_rgb_array

__all__ = ["SMALL_MASK_TOP", "decode_mask", "read_grey"]

SMALL_MASK_TOP = 3  # a mask with no value above this is 0/1 (JPEG noise makes a 0/1 mask's 1s 0..3): 1+ is subject


def read_grey(path: str | Path) -> np.ndarray:
    """Read a mask or trimap as uint8 ``HxW`` (EXIF orientation applied).

    A picture with transparency is a cut-out: its alpha channel is the mask (255 opaque), whatever colour its
    transparent pixels hold (white, black or the photo itself). A palette picture whose colours are greys gives
    their grey levels (a black-and-white palette may list white first); one with other colours gives its indices
    (a label map: 0 background, 1 the first class...). 16- and 32-bit integer pictures whose values are all in
    0..255 keep them (0/1 masks, trimaps' 1/2/3); wider values are scaled to 8 bits."""
    img = open_image(path)
    alpha = own_transparency(img)
    if alpha is not None:
        return np.ascontiguousarray(alpha)
    if img.mode == "P":
        return _palette_grey(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(img)
        if values.size and values.min() >= 0 and values.max() <= 255:
            return values.astype(np.uint8)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return to_rgb_array(img)[..., 0]
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _palette_grey(img: Image.Image) -> np.ndarray:
    """A palette (``P``) picture as uint8 ``HxW``: the grey levels of its colours when every colour used is a grey,
    else its indices."""
    indices = np.asarray(img, dtype=np.uint8)
    palette = np.asarray(img.getpalette("RGB") or [], dtype=np.uint8).reshape(-1, 3)
    used = np.unique(indices)
    if used.size and int(used[-1]) < len(palette):
        colours = palette[used]
        if np.all(colours == colours[:, :1]):
            return palette[:, 0][indices]
    return indices


def decode_mask(raw: np.ndarray, kind: str) -> np.ndarray:
    """Raw mask pixels -> uint8 ``HxW``: 0 background, 1 subject, :data:`IGNORE` unscored.

    Seed and paired masks: white (>= 128) on black is the subject; a mask whose values are at most
    :data:`SMALL_MASK_TOP` (saved as 0/1, or a label map's indices; JPEG compression turns a 0/1 mask's 1s into
    0..3) has 1 and above as the subject, which 128 would have read as all background. All 0 is no subject."""
    if kind == "oxford":
        out = np.zeros(raw.shape, np.uint8)
        out[raw == 1] = 1
        out[raw == 3] = IGNORE
        return out
    if int(raw.max(initial=0)) <= SMALL_MASK_TOP:
        return (raw >= 1).astype(np.uint8)
    return (raw >= 128).astype(np.uint8)
