"""Colour decontamination: the subject's own colour F and the background's colour B at partly transparent pixels.

An edge pixel shows ``I = a F + (1 - a) B``. Blending the observed ``I`` keeps a share of the background's colour
on the subject's side (a red rim along a cheek on a red blanket); a splash should show
``a F + (1 - a) effect(B)`` instead. F and B are estimated by blur fusion (Forte & Pitie 2021, "Approximate fast
foreground colour estimation"): alpha-weighted blurs give smooth local F and B, then each pixel's residual
``I - a F - (1 - a) B`` is shared between them. Two passes (a wide blur, then a narrow one) run on a reduced copy
of about 512 px (the blurs are smooth anyway); only the last per-pixel step runs at full resolution, and only on
the rows and columns that hold partly transparent pixels.

Images are RGB (not BGR) uint8 ``HxWx3``; alphas float32 ``HxW`` in [0, 1], 1 = subject.
"""

from __future__ import annotations

import cv2
import numpy as np

from colorsplash.runtime.edges.strips import in_row_strips
from colorsplash.runtime.edges.upsampling import resize_rgb_rows, rgba
from colorsplash.runtime.edges.working import downscale

WORK_SIDE = 512  # long side of the copy the smooth estimates are made on
WIDE, NARROW = 0.11, 0.0075  # blur radii of the two passes, as a share of the long side (90 and 6 px at 800 px)
_SUM = np.ones((1, 3), np.float32)  # cv2.transform: the sum of the three channels
_APART = 10.0  # RGB distance (levels) of subject and background colours from which overshoot is cut in full
_EDGE = 1.0 / 512  # alphas within this of 0 or 1 count as opaque / transparent: F = B = I there


def _fusion(
    image: np.ndarray, fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """One blur-fusion pass (float32 ``hxwx3`` in [0, 255]): smooth F and B from ``fg``/``bg`` weighted by alpha,
    then the residual shared out. Returns (F, smooth B)."""
    size = (2 * radius + 1, 2 * radius + 1)
    # OpenCV's arithmetic on alpha merged to three channels: NumPy's broadcasting of alpha[..., None] runs an
    # inner loop of 3 and took twice as long (6.6 against 3.4 ms a pass at 500x375; same numbers to 3e-5).
    a3 = cv2.merge([alpha] * 3)
    blur_a = cv2.blur(alpha, size)
    inv_f = cv2.merge([1.0 / (blur_a + np.float32(1e-5))] * 3)
    inv_b = cv2.merge([1.0 / (np.float32(1.0 + 1e-5) - blur_a)] * 3)
    smooth_f = cv2.multiply(cv2.blur(cv2.multiply(fg, a3), size), inv_f)
    smooth_b = cv2.multiply(cv2.blur(cv2.multiply(bg, 1.0 - a3), size), inv_b)
    # f = smooth_f + a (I - a smooth_f - (1 - a) smooth_b) = smooth_f + a (I - smooth_b - a (smooth_f - smooth_b))
    residual = cv2.subtract(cv2.subtract(image, smooth_b), cv2.multiply(a3, cv2.subtract(smooth_f, smooth_b)))
    f = cv2.add(smooth_f, cv2.multiply(a3, residual))
    return np.clip(f, 0.0, 255.0, out=f), smooth_b


def smooth_colours(image: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The smooth F and B estimates (float32 ``hxwx3`` in [0, 255]) on a copy of at most ``WORK_SIDE`` px."""
    reduced = downscale(image, WORK_SIDE)  # sizes with a whole divisor when near: area resize ~3x faster
    small = reduced.astype(np.float32)
    a = alpha if reduced is image else cv2.resize(alpha, reduced.shape[1::-1], interpolation=cv2.INTER_AREA)
    long_side = max(reduced.shape[:2])
    f, b = _fusion(small, small, small, a, max(1, round(WIDE * long_side)))
    return _fusion(small, f, b, a, max(1, round(NARROW * long_side)))[0], b


def _segments(partial: np.ndarray, gap: int = 32) -> list[tuple[int, int]]:
    """Column ranges [x0, x1) covering the True entries of ``partial``, merged across gaps under ``gap``."""
    cols = np.flatnonzero(partial)
    if cols.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(cols) > gap)
    starts = np.concatenate([cols[:1], cols[breaks + 1]])
    ends = np.concatenate([cols[breaks], cols[-1:]]) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def share_residual(
    pixels: np.ndarray, alpha: np.ndarray, smooth_f: np.ndarray, smooth_b: np.ndarray, background: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Blur fusion's last step: F and B (RGB uint8 ``hxwx3``, rounded and saturated) of ``pixels`` (RGB uint8
    ``hxwx3``) with alpha float32 ``hxw`` in [0, 1], from the smooth estimates (float32 ``hxwx3`` in [0, 255]);
    B ``None`` without ``background``.

    residual = I - a F - (1 - a) B = I - B - a (F - B); F += a * residual; B += (1 - a) * residual.

    F never moves past the smooth subject colour away from the smooth background colour (see
    :func:`_residual_and_share`): where alpha is underestimated the residual would take out more background than the
    pixel holds (grey fur before red wood turned lavender).
    """
    residual, share = _residual_and_share(pixels, alpha, smooth_f, smooth_b)
    fg = cv2.add(smooth_f, share, dtype=cv2.CV_8U)
    bg = cv2.add(smooth_b, cv2.subtract(residual, share), dtype=cv2.CV_8U) if background else None
    return fg, bg


def subject_colour(pixels: np.ndarray, alpha: np.ndarray, smooth_f: np.ndarray, smooth_b: np.ndarray) -> np.ndarray:
    """:func:`share_residual`'s F alone, float32 ``hxwx3`` in [0, 255] (not rounded: the grey splash adds its
    colour to the photo's brightness, :func:`colorsplash.runtime.effects.grey_keeping_luma`)."""
    colour = cv2.add(smooth_f, _residual_and_share(pixels, alpha, smooth_f, smooth_b)[1])
    return np.clip(colour, 0.0, 255.0, out=colour)  # as the rounded F of the general path is saturated


def _residual_and_share(
    pixels: np.ndarray, alpha: np.ndarray, smooth_f: np.ndarray, smooth_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Blur fusion's residual and F's share of it (float32 ``hxwx3``), the share cut where it would carry F past
    the subject's own colour (see the module docstring and :func:`share_residual`).

    Along ``d = smooth_b - smooth_f`` F's position is raised to at least ``min(0, (I - smooth_f) . d)``: removing
    background colour stops at the subject's colour, while a pixel whose own colour lies beyond it (texture, an
    alpha near 1) keeps it. With ``r . d`` one dot product: ``share . d = a (r . d)`` and ``(I - smooth_f) . d =
    r . d + (1 - a) |d|^2``.
    """
    a3 = cv2.merge([np.ascontiguousarray(alpha)] * 3)
    # OpenCV's per-channel arithmetic: ~3x faster than NumPy's broadcasting with its temporaries here.
    toward = cv2.subtract(smooth_b, smooth_f)
    residual = cv2.subtract(cv2.subtract(pixels, smooth_b, dtype=cv2.CV_32F), cv2.multiply(a3, -toward))
    share = cv2.multiply(a3, residual)
    square = cv2.transform(cv2.multiply(toward, toward), _SUM)
    along = cv2.transform(cv2.multiply(residual, toward), _SUM)
    floor = np.minimum(along + (1.0 - alpha) * square, 0.0)
    # Divided by |d|^2 + APART^2, not |d|^2: faded in as the two colours part (in full past ~10 levels apart);
    # where they nearly agree the direction is noise and a level's change in either swung the projection.
    raise_by = np.maximum(floor - alpha * along, 0.0) / (square + np.float32(_APART**2))
    return residual, cv2.add(share, cv2.multiply(toward, cv2.merge([raise_by] * 3)))


def _strip_colours(
    image: np.ndarray,
    alpha: np.ndarray,
    smooth: tuple[np.ndarray, np.ndarray],
    rows: slice,
    out: tuple[np.ndarray, np.ndarray | None],
) -> None:
    """F (and B, unless ``out[1]`` is None) of one strip of rows: the photo where alpha is 0 or 1, blur fusion's
    last step elsewhere."""
    fg, bg = out
    fg[rows] = image[rows]
    if bg is not None:
        bg[rows] = image[rows]
    a = alpha[rows]
    partial = np.asarray(((a > _EDGE) & (a < 1.0 - _EDGE)).any(axis=0))
    for x0, x1 in _segments(partial):
        cols = slice(x0, x1)
        f_s, b_s = (resize_rgb_rows(s, alpha.shape, rows, cols) for s in smooth)
        fg[rows, cols], b = share_residual(image[rows, cols], a[:, cols], f_s, b_s, background=bg is not None)
        if bg is not None:
            bg[rows, cols] = b


def estimate_colours(
    image: np.ndarray, alpha: np.ndarray, background: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Subject colour F and background colour B of every pixel (both RGB uint8 ``HxWx3``; B ``None`` without
    ``background``: the grey splash reads F alone, and B costs 3 bytes a pixel).

    Where alpha is 0 or 1 both equal the photo (the other one is never seen); in between they come from blur
    fusion. Pass them to :func:`colorsplash.runtime.effects.apply_effect`.
    """
    h, w = alpha.shape
    if image.shape[:2] != (h, w):
        raise ValueError(f"alpha {alpha.shape} does not match the image {image.shape[:2]}")
    out = (np.empty_like(image), np.empty_like(image) if background else None)
    smooth_f, smooth_b = smooth_colours(image, alpha)
    smooth = (rgba(smooth_f), rgba(smooth_b))  # as RGBA: see resize_rgb_rows
    in_row_strips(
        (h, w), lambda rows: _strip_colours(image, alpha, smooth, rows, out), parallel_pixels=0, name="colours"
    )
    return out
