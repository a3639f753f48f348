"""Trimaps saved as JPEG: a matting trimap's grey values put back on its exact levels; an Oxford-IIIT Pet one refused.

A trimap given as a mask is told by its exact values (:func:`colorsplash.evaluation.mask_read.read_labels`): 0,
128 (or 127) and 255 (matting), or Oxford-IIIT Pet's 1, 2, 3. JPEG's compression spreads those values, so a JPEG
trimap used to read as a mask: a matting trimap's band (now 110..146, say) split at 128, about half of it the
subject; an Oxford trimap (now 0..5) all subject. The file's format says the spread is JPEG's; the values say:

* matting: most of the values between the dark and the light ones lie within :data:`BAND_NEAR` of 128 (a flat middle
  grey: JPEG trimaps measured 0.96 to 1.00 of them, alphamatting.com's trimaps at quality 75 and 95), where a mask's
  edges spread evenly (a clean 0/255 mask saved as JPEG: none; a soft alpha matte: 0.13). Rounded to 0, 128, 255,
  these read as their PNG (alphamatting.com's 54 trimaps: exactly at quality 75 and 95, at 60 up to 7 pixels
  apart) if they pass the PNG's rule too (the band between background and subject); else the file reads by its own
  values, as before;
* Oxford: values of at most :data:`OXFORD_TOP`, almost no 0 (a 0/1 mask's background is 0) and areas of 2s or 3s
  (squares of :data:`OXFORD_AREA` pixels averaging :data:`OXFORD_AREA_MEAN` or more: the background and the border
  band; a 0/1 mask's 2s are JPEG's ringing beside its edges: its squares averaged at most 1.19 over 300 generated
  masks at qualities 30 to 95, and 8-pixel squares, not aligned with JPEG's blocks, reached 1.6. Counted as pixels,
  the 2s of a 0/1 mask whose subject fills 99 % of the frame, 0.5 % beside a jagged edge at quality 75, passed for
  an Oxford trimap's, and the mask was refused as one). Refused:
  JPEG keeps one-level steps only at high quality (at 60 a generated trimap's background became 1, the pet), so no
  rounding can tell what was meant. A JPEG file in the Oxford layout's trimap folder is refused whatever its values.

Values are uint8 ``HxW`` greys, as :func:`colorsplash.evaluation.mask_read.read_grey` gives them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colorsplash.runtime.pictures.photo_io import ImageReadError

BAND_NEAR = 16  # a JPEG matting trimap's band: within this many levels of 128
BAND_SHARE = 0.5  # ... for at least this share of the values 33..222 (measured: 0.96-1.00; masks' edges 0.00-0.13)
OXFORD_TOP = 7  # a JPEG Oxford trimap's values: 0..5 measured at quality 60 to 95
OXFORD_MAX_ZEROS = (
    0.01  # its share of 0s: under 0.5 % measured (ringing beside the pet's 1s); a 0/1 mask's: its background
)
OXFORD_AREA = 16  # pixels a side of the squares whose mean tells areas of 2s and 3s from ringing
OXFORD_AREA_MEAN = 1.5  # an Oxford trimap's background squares: about 2; a 0/1 mask's: at most 1.19 measured
OXFORD_MIN_SHARE = 0.002  # its squares of such a mean: at least this share (Oxford-IIIT's own at quality 50-75: 7 %+)


def jpeg_trimap_levels(raw: np.ndarray, kind: str, path: str | Path) -> np.ndarray | None:
    """The grey values ``raw`` (uint8 ``HxW``) of the JPEG mask file ``path`` rounded to 0, 128, 255 when they are
    a matting trimap saved as JPEG, else ``None`` (read as they are); see the module docstring.

    Raises:
        ImageReadError: an Oxford-IIIT Pet trimap saved as JPEG (``kind`` ``oxford``: any JPEG file).
    """
    counts = np.bincount(raw.ravel(), minlength=256)
    size = max(raw.size, 1)
    oxford = (
        not counts[OXFORD_TOP + 1 :].any()
        and counts[0] <= OXFORD_MAX_ZEROS * size
        and _area_share(raw) >= OXFORD_MIN_SHARE
    )
    if kind == "oxford" or oxford:
        raise ImageReadError(
            f"{path}: an Oxford-IIIT Pet trimap (1 pet, 2 background, 3 border) saved as JPEG, whose compression "
            "blurs one-level steps beyond repair; save trimaps as PNG"
        )
    middle = int(counts[33:223].sum())
    if middle and counts[128 - BAND_NEAR : 128 + BAND_NEAR + 1].sum() >= BAND_SHARE * middle:
        return np.select([raw < 64, raw < 192], [np.uint8(0), np.uint8(128)], np.uint8(255))
    return None


def _area_share(raw: np.ndarray) -> float:
    """The share of the :data:`OXFORD_AREA`-pixel squares tiling ``raw`` (uint8 ``HxW``; a smaller picture: one
    square) whose values average :data:`OXFORD_AREA_MEAN` or more: areas of 2s and 3s, not a mask's ringing."""
    side = max(1, min(OXFORD_AREA, *raw.shape))
    rows, cols = raw.shape[0] // side, raw.shape[1] // side
    squares = raw[: rows * side, : cols * side].reshape(rows, side, cols, side).mean(axis=(1, 3))
    return float(np.mean(squares >= OXFORD_AREA_MEAN))
