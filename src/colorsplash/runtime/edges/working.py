"""The working copy: the reduced photo the model's input is made from and the edge stages work on.

Images are RGB (not BGR) uint8 ``HxWx3`` (any dtype and channel count for :func:`shrink`). One owner decides the
copy's size (:meth:`RefineSettings.working_hw`) for every path: a single photo, the batch, video frames and the
overlapped JPEG decode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from colorsplash.runtime.edges.matting import MatteSettings


@dataclass(frozen=True)
class RefineSettings:
    """Tuning of the edge refinement; radii are in pixels of the model's input, scaled to the working copy.

    Measured on Oxford pets and feral cats with the ground truth degraded to a misplaced low-resolution mask,
    this refinement misclassifies 18-27% fewer pixels near edges than plain bilinear upsampling.

    Attributes:
        work_side: long side in pixels of the reduced copy where the model's input is made and the refinement's
            coefficients are computed (longer for wide photos, see :meth:`side_for`). 512 keeps the model's 384 px
            input from upsampling on 4:3 photos; on the
            alphamatting photos (``bench/work_side.py``) the fast stage's edge error is as low as at 1024 (SAD 6.98
            against 7.19), the matte stage's 2.5 % higher (4.43 against 4.32), for a 12 MP reduced decode at 1/8
            scale and coefficients on a quarter of the pixels.
        colour_scale: the colour estimates run on a copy this many times the model's input size (never larger than
            the working copy). 1 (384 px for the bundled model) scores as 2 did on the alphamatting photos
            (``bench/work_side.py``: SAD 6.96 against 6.98, band misclassified 4.73 against 4.65 %) and costs half.
        colour_radius: window of the local subject/background colour estimates.
        colour_sigma: colour distance (RGB in [0, 1]) below which subject and background count as alike,
            leaving the model's probability as it is.
        radius: guided-filter window radius.
        eps: guided-filter regulariser (guide in [0, 1]); larger follows the guide's edges less.
        sharpen: contrast of the final alpha around 0.5 (1 = as filtered).
        matte: tuning of the ``edges="matte"`` stage (a closed-form matte in the band, on the working copy).
    """

    work_side: int = 512
    colour_scale: float = 1.0
    colour_radius: float = 3.0
    colour_sigma: float = 0.1
    radius: float = 0.5
    eps: float = 1e-3
    sharpen: float = 2.0
    matte: MatteSettings = field(default_factory=MatteSettings)

    def side_for(self, h: int, w: int, model_side: int) -> int:
        """Long side of the working copy of an ``h x w`` photo for a model with ``model_side`` px input:
        ``work_side``, or more for wide photos, so that the copy's short side still reaches the model's input
        (a 1280x720 video frame: 683 px, not 512, else the model would see its rows stretched), at most twice
        ``work_side``."""
        short, long = min(h, w), max(h, w)
        need = round(model_side * long / max(short, 1))
        return min(max(self.work_side, need), 2 * self.work_side)

    def working_hw(self, h: int, w: int, model_side: int) -> tuple[int, int]:
        """(height, width) of the working copy of an ``h x w`` photo (:func:`work_size` with :meth:`side_for`'s
        long side); a whole-divisor size may leave the short side at 95 % of the model's input (a 12 MP photo:
        500x375, its JPEG decoded at 1/8 scale), not less."""
        return work_size(h, w, self.side_for(h, w, model_side), int(0.95 * model_side))

    def working_copy(self, image: np.ndarray, model_side: int) -> np.ndarray:
        """``image`` (RGB uint8 ``HxWx3``) reduced to :meth:`working_hw` (itself when already that small)."""
        return reduced_to(image, self.working_hw(image.shape[0], image.shape[1], model_side))


def work_size(h: int, w: int, side: int, min_short: int = 0) -> tuple[int, int]:
    """(height, width) of the reduced working copy: long side at most ``side`` (a little less, down to 70 % of
    it and a short side of at least ``min_short``, when a whole divisor of both sides gives that: OpenCV's area
    resize and a JPEG's DCT-scaled decode are cheaper at whole factors), never below 1 pixel."""
    if max(h, w) <= side:
        return h, w
    first = math.ceil(max(h, w) / side)
    for factor in range(first, first + 4):
        if max(h, w) < 0.7 * side * factor or min(h, w) < min_short * factor:
            break  # a whole divisor this far down would cost the copy its detail (1000 px -> 200, not 400)
        if h % factor == 0 and w % factor == 0:
            return h // factor, w // factor
    scale = side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def downscale(image: np.ndarray, side: int) -> np.ndarray:
    """The working copy of ``image`` (any dtype, ``HxW`` or ``HxWxC``, e.g. RGB uint8 ``HxWx3``) with long side
    ``side`` at most, same dtype and channels (area interpolation, no aliasing); ``image`` itself when already
    small."""
    return reduced_to(image, work_size(image.shape[0], image.shape[1], side))


def reduced_to(image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """``image`` (any dtype, ``HxW`` or ``HxWxC``) itself when it is ``hw`` = (height, width) already, else
    :func:`shrink` of it to ``hw`` (same dtype and channels)."""
    return image if hw == image.shape[:2] else shrink(image, hw)


def shrink(image: np.ndarray, hw: tuple[int, int], extent: tuple[float, float] | None = None) -> np.ndarray:
    """``image`` (any dtype OpenCV resamples, ``HxW`` or ``HxWxC``) area-averaged down to ``hw`` = (height, width),
    no larger, each output pixel where its part of the picture lies (the copy lines up with the photo).

    At a fractional scale of 2x or more, the whole factor ``k`` below it runs as OpenCV's exact ``k x k`` average
    (its fast path, on the image cut to a multiple of ``k``), then bilinear the rest of the way (less than 1.5x,
    where bilinear hardly aliases), stretched over the whole picture as it was before the cut (the under ``k``
    pixels cut at the bottom and right are stood in for by the last ones kept; stretching the cut image instead put
    a subject near the right edge up to ``k - 1`` photo pixels left of where it is): 1 MP to 512 px in 1.1 instead
    of 3.7 ms. Against the one-step area resize: 0.6 levels apart on average on a photo, more only at hard edges.

    ``extent``: (height, width) of the picture in ``image``'s pixels from its top left, when less than all of it:
    a JPEG decoded at a DCT scale holds the encoder's padding in its last row and column (1601 px at 1/8: 200.125
    of 201); default the whole image.
    """
    h, w = image.shape[:2]
    eh, ew = extent or (h, w)
    hs, ws = hw
    k = max(1, min(int(eh // hs), int(ew // ws)))
    if (eh, ew) == (h, w) and (k < 2 or (h == hs * k and w == ws * k)):
        return cv2.resize(image, (ws, hs), interpolation=cv2.INTER_AREA)
    part = image
    if k > 1:
        hk, wk = h // k, w // k
        part = cv2.resize(image[: hk * k, : wk * k], (wk, hk), interpolation=cv2.INTER_AREA)
    return _stretch(part, hw, (eh / k, ew / k))


def _stretch(image: np.ndarray, hw: tuple[int, int], extent: tuple[float, float]) -> np.ndarray:
    """Bilinear resize of the top-left ``extent`` (height, width; fractional, up to a pixel past ``image``'s last
    row and column, which stand in for what lies there) of ``image`` to ``hw`` (height, width)."""
    hs, ws = hw
    sy, sx = extent[0] / hs, extent[1] / ws
    to_source = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])  # output pixel centre -> image
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(image, to_source, (ws, hs), flags=flags, borderMode=cv2.BORDER_REPLICATE)
