"""The fast edge stage's arithmetic (``edges="fast"``): window means, local colour estimates that move the model's
uncertain band onto the photo's colour edge, and a guided filter's linear coefficients (He & Sun 2015) brought
to full size.

Pure NumPy/OpenCV functions, no policy: :mod:`colorsplash.runtime.edges.alpha` decides when they run and on which copy.
Images are RGB (not BGR) uint8 ``HxWx3``; probabilities, alphas and coefficients float32 ``HxW`` (alphas and
probabilities in [0, 1]).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from colorsplash.runtime.edges.working import RefineSettings, work_size


def box_mean(x: np.ndarray, r: int, depth: int = -1) -> np.ndarray:
    """Mean over a ``(2r+1)^2`` window, reflected at the borders; ``depth`` the output's OpenCV depth (-1: x's)."""
    if x.dtype == np.float32 and depth in (-1, cv2.CV_32F):
        # OpenCV's separable filter with a flat kernel: the same means (to 1e-7) 25-35 % faster than boxFilter
        # on float32 (375x500, r=4: 0.20 against 0.26 ms); boxFilter stays faster from uint8.
        k = _flat_kernel(r)
        return cv2.sepFilter2D(x, cv2.CV_32F, k, k, borderType=cv2.BORDER_REFLECT)
    return cv2.boxFilter(x, depth, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


@functools.lru_cache(maxsize=16)
def _flat_kernel(r: int) -> np.ndarray:
    kernel = np.full(2 * r + 1, 1 / (2 * r + 1), np.float32)
    kernel.flags.writeable = False
    return kernel


def colour_alpha(small: np.ndarray, prob: np.ndarray, r: int, sigma: float) -> np.ndarray:
    """Move the uncertain band of ``prob`` onto the photo's colour edge (float32 ``hxw`` in [0, 1]).

    For each pixel, the mean colours F and B of confident subject (p > 0.9) and background (p < 0.1) pixels
    in its window give a local estimate ``(I - B).(F - B) / |F - B|^2``; it replaces the probability inside the
    uncertain band, in proportion to how distinct F and B are (alike colours say nothing).
    """
    fg, bg = (prob > 0.9).astype(np.uint8), (prob < 0.1).astype(np.uint8)
    share_f, share_b = box_mean(fg, r, cv2.CV_32F), box_mean(bg, r, cv2.CV_32F)
    # Only where a window holds both sides can the estimate move the probability (trust is exactly 0 elsewhere):
    # the colour work runs on that region's bounding box and a margin of r, whose box means are the whole
    # copy's (same numbers to 1.2e-7; the colour target 3.1 -> 2.3 ms median on 20 Oxford photos at 512 px).
    both = (share_f > 0) & (share_b > 0)
    rows, cols = np.flatnonzero(both.any(axis=1)), np.flatnonzero(both.any(axis=0))
    out = prob.astype(np.float32, copy=True)
    if rows.size == 0:
        return out
    h, w = prob.shape
    window = (
        slice(max(0, int(rows[0]) - r), min(h, int(rows[-1]) + 1 + r)),
        slice(max(0, int(cols[0]) - r), min(w, int(cols[-1]) + 1 + r)),
    )
    out[window] = _colour_estimate(
        small[window], prob[window], (fg[window], bg[window]), (share_f[window], share_b[window]), r, sigma
    )
    return out


def _colour_estimate(
    small: np.ndarray,
    prob: np.ndarray,
    sides: tuple[np.ndarray, np.ndarray],
    shares: tuple[np.ndarray, np.ndarray],
    r: int,
    sigma: float,
) -> np.ndarray:
    """:func:`colour_alpha`'s blend on a window: ``sides`` the uint8 0/1 sure-subject and sure-background masks,
    ``shares`` their window means over the whole copy (float32)."""
    (fg, bg), (share_f, share_b) = sides, shares
    # Window means of each side's colours, in [0, 1]: box sums of the masked uint8 channel over the side's share.
    # One colour plane at a time (single-channel OpenCV ops, no shares merged to three channels): the same
    # numbers, a few percent faster than on the interleaved HxWx3 photo (2.64 against 2.74 ms at 384x384).
    inv = np.float32(1 / 255)
    scale_f, scale_b = inv / np.maximum(share_f, 1e-6), inv / np.maximum(share_b, 1e-6)
    dd = np.zeros(prob.shape, np.float32)  # |F - B|^2
    num = np.zeros(prob.shape, np.float32)  # (I - B).(F - B)
    for plane in cv2.split(small):
        d = box_mean(cv2.bitwise_and(plane, plane, mask=fg), r, cv2.CV_32F)
        d *= scale_f
        mean_b = box_mean(cv2.bitwise_and(plane, plane, mask=bg), r, cv2.CV_32F)
        mean_b *= scale_b
        d -= mean_b
        offset = plane.astype(np.float32)
        offset *= inv
        offset -= mean_b
        offset *= d
        num += offset
        d *= d
        dd += d
    local = np.clip(num / np.maximum(dd, 1e-6), 0, 1)
    # Trust: distinct colours, and both sides present in the window (at least 2% of it each).
    trust = dd / (dd + np.float32(sigma * sigma))
    trust *= np.minimum(share_f * 50, 1)
    trust *= np.minimum(share_b * 50, 1)
    band = np.clip(2.0 * (1.0 - np.abs(2.0 * prob - 1.0)), 0.0, 1.0)
    # prob + band * trust * (local - prob), in place
    local -= prob
    local *= band
    local *= trust
    local += prob
    return local.astype(np.float32, copy=False)


def colour_target(small: np.ndarray, prob: np.ndarray, p_small: np.ndarray, settings: RefineSettings) -> np.ndarray:
    """:func:`colour_alpha` on a copy of ``colour_scale`` times the model's size (as good as finer copies in
    our measurements, and several times cheaper), upsampled to the working size. ``prob`` is the model's own
    ``SxS`` probability, ``p_small`` the same brought to the working copy ``small``'s size."""
    hs, ws = p_small.shape
    model_side = max(prob.shape)
    hc, wc = work_size(hs, ws, round(settings.colour_scale * model_side))
    if (hc, wc) == (hs, ws):
        return colour_alpha(
            small, p_small, max(1, round(settings.colour_radius * ws / model_side)), settings.colour_sigma
        )
    # Under a halving, bilinear reaches every source pixel and costs a sixth of OpenCV's fractional area resize
    # (500x375 -> 384x288: 0.18 against 1.1 ms) for the same edges (bench/work_side.py: SAD 6.96 against 6.97).
    shrink = cv2.INTER_LINEAR if 2 * wc > ws else cv2.INTER_AREA
    c_small = cv2.resize(small, (wc, hc), interpolation=shrink)
    # From the model's own map, not from p_small: one area resize instead of an upsampling undone again (a
    # 500x375 photo: 0.21 against 0.56 ms; edges as good, see docs/benchmarks.md).
    c_prob = cv2.resize(prob, (wc, hc), interpolation=cv2.INTER_AREA)
    radius = max(1, round(settings.colour_radius * max(hc, wc) / model_side))
    target = colour_alpha(c_small, c_prob, radius, settings.colour_sigma)
    return cv2.resize(target, (ws, hs), interpolation=cv2.INTER_LINEAR)


def guided_coefficients(guide: np.ndarray, prob: np.ndarray, r: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed guided-filter coefficients (a, b) so that ``alpha ~ a * guide + b`` (all float32 ``hxw``)."""
    mean_i, mean_p = box_mean(guide, r), box_mean(prob, r)
    cov_ip = box_mean(guide * prob, r) - mean_i * mean_p
    var_i = box_mean(guide * guide, r) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box_mean(a, r), box_mean(b, r)


def refine_full(guide: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``upsample(a) * guide + upsample(b)`` at full resolution (float32 ``HxW``, computed in place); ``guide`` is
    the uint8 luma and ``a`` already scaled by 1/255."""
    h, w = guide.shape[:2]
    if a.shape[:2] == (h, w):
        return a * guide + b
    alpha: np.ndarray = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
    alpha *= guide
    alpha += cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    return alpha
