"""The edge stage alone (``colorsplash.matte``): a true alpha matte of a photo from a rough guide.

The photo is RGB (not BGR) uint8 ``HxWx3``; the guide is a probability or a trimap (see :func:`matte`). The solve
is the closed-form matte of :mod:`colorsplash.runtime.edges.matting`, on a reduced copy for large photos, brought to
full size by guided upsampling.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from colorsplash.runtime.edges.matting import (
    MatteSettings,
    guided_upsample,
    matte_from_probability,
    shrink_trimap,
    solve_trimap,
)
from colorsplash.runtime.edges.working import downscale

# How far a non-square probability guide's width/height may stray from the photo's (relative), besides rounding:
# a transposed guide (3:2 for 2:3) or one made for another photo is refused instead of stretched.
ASPECT_TOLERANCE = 0.1


def _check_guide(guide: object, hw: tuple[int, int]) -> np.ndarray:
    """``guide`` as given when it is a valid trimap or probability for a photo of ``hw``; else ValueError."""
    if not isinstance(guide, np.ndarray):
        raise TypeError(f"guide must be a 2-D NumPy array (HxW), got {type(guide).__name__}")
    if guide.ndim != 2:
        raise ValueError(f"guide must be a 2-D NumPy array (HxW), got shape {guide.shape}")
    if guide.size == 0:
        raise ValueError(f"the guide is empty (shape {guide.shape}); pass the photo's probability or trimap")
    if guide.dtype == np.uint8:
        if guide.shape != hw:
            raise ValueError(
                f"a uint8 guide is a trimap and must have the photo's size {hw}, got {guide.shape}; "
                "pass a float32 probability in [0, 1] to have it stretched over the photo"
            )
        return guide
    if not np.issubdtype(guide.dtype, np.floating):
        raise ValueError(f"guide must be float32 probability in [0, 1] or a uint8 trimap, got dtype {guide.dtype}")
    if not np.isfinite(guide).all():
        raise ValueError("a float guide is a probability in [0, 1] and must not hold NaN or infinity")
    low, high = float(guide.min()), float(guide.max())
    if low < 0.0 or high > 1.0:  # in full: 3 digits showed 1.0000001 as "got 0..1"
        raise ValueError(
            f"a float guide is a probability and must lie in [0, 1], got {low}..{high}; if that is rounding, "
            "pass np.clip(guide, 0, 1)"
        )
    if not _aspect_fits(guide.shape, hw):
        raise ValueError(
            f"the guide's shape {guide.shape} does not have the photo's aspect ratio {hw} (height, width), nor is "
            "it square like the model's own output; is it transposed, or made for another photo? Pass a "
            "probability of the photo's shape (e.g. predict_alpha's) or the model's square probability"
        )
    return guide.astype(np.float32, copy=False)


def _aspect_fits(guide_hw: tuple[int, ...], photo_hw: tuple[int, int]) -> bool:
    """Whether a probability of ``guide_hw`` can be stretched over a photo of ``photo_hw``: it is square (a model's
    output: the model sees every photo stretched to a square), or its aspect ratio is the photo's within
    :data:`ASPECT_TOLERANCE`, after a pixel of rounding on each side (a side of 1 may stand for any less: a 1x500
    photo's 1x32 reduction fits)."""
    gh, gw = guide_hw
    h, w = photo_hw
    if gh == gw:
        return True
    widest = (gw + 1) / (gh - 1) if gh > 1 else math.inf
    narrowest = (gw - 1) / (gh + 1)
    return narrowest / (1 + ASPECT_TOLERANCE) <= w / h <= widest * (1 + ASPECT_TOLERANCE)


def matte(image: np.ndarray, guide: np.ndarray, settings: MatteSettings | None = None) -> np.ndarray:
    """The edge stage alone: a true alpha matte of ``image`` from a rough guide.

    Args:
        image: the photo, RGB uint8 ``HxWx3``.
        guide: either a subject probability, float32 ``hxw`` in [0, 1] of any size with the photo's aspect ratio
            (within 10 %), or square like the model's own output (the model sees the photo stretched to a square),
            stretched over the photo (unknown band: 1.5 of its pixels each side of its 0.5 contour, plus where it
            is unsure); or a trimap, uint8 ``HxW`` at the photo's size: 0 background, 255 subject, anything else
            (128) unknown.
        settings: solver tuning; photos over ``settings.work_side`` px are solved on a reduced copy and the
            matte brought to full size by guided upsampling.

    Returns:
        float32 ``HxW`` alpha in [0, 1] (exactly 0 / 1 on a trimap's known pixels).

    Raises:
        TypeError: the image or the guide is not a NumPy array (a path, a Pillow image).
        ValueError: the image is not RGB uint8 ``HxWx3`` or is empty, or the guide is empty or none of the above
            (e.g. a transposed probability: its aspect ratio differs from the photo's).
    """
    settings = settings or MatteSettings()
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"image must be an RGB uint8 HxWx3 NumPy array, got {type(image).__name__}; for a file or a Pillow "
            "image pass np.asarray(Image.open(path).convert('RGB'))"
        )
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"image must be an RGB uint8 HxWx3 array, got {getattr(image, 'dtype', type(image))} "
            f"{getattr(image, 'shape', '')}"
        )
    h, w = image.shape[:2]
    if h == 0 or w == 0:  # OpenCV's resize failed with its own assertion text
        raise ValueError(f"the image array is empty (shape {image.shape}); nothing to matte")
    guide = _check_guide(guide, (h, w))
    small = downscale(image, settings.work_side)
    hs, ws = small.shape[:2]
    if guide.dtype == np.uint8:
        trimap = guide if (hs, ws) == (h, w) else shrink_trimap(guide, (ws, hs))
        alpha_small = solve_trimap(small, trimap, None, settings)
    else:
        prob = cv2.resize(guide, (ws, hs), interpolation=cv2.INTER_LINEAR)
        alpha_small = matte_from_probability(small, prob, max(guide.shape), settings)
    alpha = guided_upsample(image, small, alpha_small) if (hs, ws) != (h, w) else alpha_small
    np.clip(alpha, 0.0, 1.0, out=alpha)
    if guide.dtype == np.uint8:
        alpha[guide == 0], alpha[guide == 255] = 0.0, 1.0
    return alpha
