"""The default splash in one pass over the photo, in place, touching each pixel only as much as it needs.

Most of a photo is surely background or surely subject: its alpha is 0 or 1 whatever its colour, which the edge
stage's coefficients (a few per working-copy pixel) say before the full-size photo is read. Those pixels just
turn grey or stay as they are; only the band between (a few percent of a pet photo) gets its alpha, its colour
decontamination (with ``edges="matte"``) and its blend computed. No full-size alpha, F, B or second picture is
ever made: on a 12 MP photo this is 20 ms where computing every pixel took 100 ms (fast edges) or 230 ms
(matte edges with decontamination).

Pixels are RGB (not BGR) uint8 ``HxWx3``; grey is Rec.601 luma (OpenCV's ``RGB2GRAY``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from colorsplash.runtime.edges.alpha import AlphaPlan
from colorsplash.runtime.edges.foreground import WORK_SIDE as COLOUR_SIDE
from colorsplash.runtime.edges.foreground import smooth_colours, subject_colour
from colorsplash.runtime.edges.upsampling import (
    Saturation,
    apply_coefficients,
    matte_bounds,
    resize_rgb_rows,
    resize_rows,
    rgba,
    run_alpha,
)
from colorsplash.runtime.edges.working import downscale, work_size
from colorsplash.runtime.effects import blend, grey_in_place, grey_keeping_luma
from colorsplash.runtime.options import SplashOptions

# Rows per strip: fewer leave less of each strip in the band but cost more Python between the calls; the matte
# band's temporaries (12 floats a pixel) fall out of the cache sooner (12 MP: 64 rows 90 ms, 128 rows 180 ms).
_STRIP_ROWS = {"fast": 128, "matte": 48}


def fusable(plan: AlphaPlan, options: SplashOptions, rgb: np.ndarray) -> bool:
    """Whether :func:`grey_splash_in_place` gives the general path's result (to a level or two): a subject was
    found, edges are refined, the effect is plain ``grey``, no option reshapes the alpha (threshold, hard, keep,
    point, feather, invert), the pixels may be written, and the photo is larger than the working copy (at the
    working copy's own size every pixel's alpha is one multiply-add: the plain path is cheaper there, 1.3 against
    2.1 ms on a 500x375 photo)."""
    refined = plan.a is not None if plan.matte is None else plan.matte_coeffs is not None
    return (
        not plan.empty
        and refined
        and plan.b is not None
        and plan.b.shape[:2] != rgb.shape[:2]
        and plan.keep is None
        and str(options.effect) == "grey"
        and options.threshold in (None, 0.5)
        and not options.hard
        and options.feather <= 0
        and not options.invert
        and rgb.flags.writeable
        and rgb.flags.c_contiguous
    )


def _fast_band(plan: AlphaPlan, full_hw: tuple[int, int]) -> Callable[[np.ndarray, slice, slice], np.ndarray]:
    """The fast edge stage's band: alpha ``clip(a * luma + b, 0, 1)``, then the plain grey blend."""
    a_low, b_low = plan.a, plan.b
    assert a_low is not None and b_low is not None

    def band(part: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        grey = cv2.cvtColor(part, cv2.COLOR_RGB2GRAY)
        alpha = resize_rows(a_low, full_hw, rows, cols)
        alpha *= grey
        alpha += resize_rows(b_low, full_hw, rows, cols)
        np.clip(alpha, 0.0, 1.0, out=alpha)
        return blend(part, cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), alpha)

    return band


def _matte_band(
    rgb: np.ndarray, plan: AlphaPlan, full_hw: tuple[int, int]
) -> Callable[[np.ndarray, slice, slice], np.ndarray]:
    """The matte stage's band: alpha from the RGB coefficients, F by blur fusion's last step (see
    :mod:`colorsplash.runtime.edges.foreground`), then the photo's grey plus alpha times F's colour
    (:func:`colorsplash.runtime.effects.grey_keeping_luma`). The smooth F and B come
    from the photo reduced as the general path reduces it, with the alpha its coefficients give there (taken from
    the matte's own small copy instead, F differed from the general path's by up to 28 levels in the band). The
    plan's working copy is that reduction when it has its size (a 12 MP photo: 500x375, its JPEG decoded at 1/8
    scale, within a level or two of the area average): reducing the full photo again cost 7 ms."""
    coeffs = plan.matte_coeffs
    assert coeffs is not None
    reduced = plan.working
    if reduced is None or reduced.shape[:2] != work_size(*full_hw, COLOUR_SIDE):
        reduced = downscale(rgb, COLOUR_SIDE)
    alpha_reduced = apply_coefficients(reduced, coeffs)
    smooth_f, smooth_b = (rgba(c) for c in smooth_colours(reduced, alpha_reduced))

    def band(part: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        alpha = run_alpha(part, coeffs, full_hw, rows, cols)
        f_s, b_s = resize_rgb_rows(smooth_f, full_hw, rows, cols), resize_rgb_rows(smooth_b, full_hw, rows, cols)
        return grey_keeping_luma(part, subject_colour(part, alpha, f_s, b_s), alpha)

    return band


class GreySplash:
    """The grey splash of ``rgb`` (RGB uint8 ``HxWx3``, overwritten) from a refining :class:`AlphaPlan` (fast or
    matte edges; with matte edges colour-decontaminated), one band of rows per call, in row strips:
    surely-background runs turn grey, surely-subject runs stay, the band between is computed (see the module
    docstring). Same result as ``finish_alpha`` then ``composite(..., "grey")`` up to rounding. Only when
    :func:`fusable`."""

    def __init__(self, rgb: np.ndarray, plan: AlphaPlan) -> None:
        h, w = rgb.shape[:2]
        if plan.matte is None:
            assert plan.a is not None and plan.b is not None
            span = plan.a * np.float32(255)  # a is scaled for the uint8 luma
            lowest, highest = plan.b + np.minimum(span, 0), plan.b + np.maximum(span, 0)
            self._band = _fast_band(plan, (h, w))
            self._rows = _STRIP_ROWS["fast"]
        else:
            assert plan.matte_coeffs is not None
            lowest, highest = matte_bounds(plan.matte_coeffs)
            self._band = _matte_band(rgb, plan, (h, w))
            self._rows = _STRIP_ROWS["matte"]
        self._rgb = rgb
        self._saturation = Saturation.of(lowest, highest, (h, w))

    def __call__(self, rows: slice) -> None:
        """Splash rows ``rows`` (a ``slice`` with a start and a stop) in place."""
        # One strip after another, each OpenCV call spreading over the cores itself: strips in a thread pool
        # measured slower (the Python between the calls holds the GIL), and batches finish photos in parallel.
        for y0 in range(rows.start, rows.stop, self._rows):
            y1 = min(rows.stop, y0 + self._rows)
            for x0, x1, kind in self._saturation.runs(y0, y1):
                part = self._rgb[y0:y1, x0:x1]
                if kind == 0:
                    grey_in_place(part)
                elif kind == 2:
                    part[...] = self._band(part, slice(y0, y1), slice(x0, x1))


def grey_splash_in_place(rgb: np.ndarray, plan: AlphaPlan) -> None:
    """:class:`GreySplash` of the whole of ``rgb`` (RGB uint8 ``HxWx3``, overwritten). Only when :func:`fusable`."""
    GreySplash(rgb, plan)(slice(0, rgb.shape[0]))
